"""Install-level settings, read once from the environment."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


MAX_CHECKPOINT_PAGES = 1_000_000  # ~4 GB of write-ahead log between checkpoints
CHECKPOINT_PAGES = f"a number of pages from 1 to {MAX_CHECKPOINT_PAGES:,} (of 4,096 bytes each: not bytes)"


@dataclass(frozen=True)
class Settings:
    """Where Loom keeps its data. SQLite files under `data_dir` unless `database_url` is set."""

    data_dir: Path = Path("./loom-data")
    database_url: str | None = None
    sqlite_synchronous: str = "NORMAL"
    sqlite_checkpoint_pages: int = 4000  # WAL pages written before a commit copies them back (SQLite's 1000)
    schema_prefix: str = ""
    redis_url: str | None = None
    max_open_tenants: int = 128  # SQLite tenants kept open at once (the least recently used close)
    max_upload_mb: int = 64  # the one upload limit: an API request body, a file `loom import` reads
    extra: dict = field(default_factory=dict)  # every LOOM_* variable, for the layers above

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("LOOM_DATA_DIR") or "./loom-data"),
            database_url=env.get("LOOM_DATABASE_URL") or None,
            sqlite_synchronous=(env.get("LOOM_SQLITE_SYNCHRONOUS") or "NORMAL").upper(),
            sqlite_checkpoint_pages=_positive(env, "LOOM_SQLITE_CHECKPOINT_PAGES", 4000, CHECKPOINT_PAGES),
            schema_prefix=env.get("LOOM_SCHEMA_PREFIX") or "",
            redis_url=env.get("LOOM_REDIS_URL") or None,
            max_open_tenants=_positive(env, "LOOM_MAX_OPEN_TENANTS", 128),
            max_upload_mb=_positive(env, "LOOM_MAX_UPLOAD_MB", 64),
            extra={k: v for k, v in env.items() if k.startswith("LOOM_")},
        )

    def __post_init__(self):
        if self.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("LOOM_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        if self.schema_prefix and not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", self.schema_prefix):
            raise ValueError("LOOM_SCHEMA_PREFIX must be up to 16 lowercase letters, digits or _")

        pages = self.sqlite_checkpoint_pages
        if type(pages) is not int or not 1 <= pages <= MAX_CHECKPOINT_PAGES:  # SQLite reads a larger one as 0: never
            raise ValueError(f"LOOM_SQLITE_CHECKPOINT_PAGES must be {CHECKPOINT_PAGES}, not {pages!r}")
        if not isinstance(self.max_open_tenants, int) or self.max_open_tenants < 1:
            raise ValueError("LOOM_MAX_OPEN_TENANTS must be a whole number of at least 1")
        if not isinstance(self.max_upload_mb, int) or self.max_upload_mb < 1:
            raise ValueError("LOOM_MAX_UPLOAD_MB must be a whole number of at least 1")
        if self.database_url is not None:
            _check_database_url(self.database_url)
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"LOOM_REDIS_URL must be a redis://, rediss:// or unix:// URL, not {self.redis_url[:60]!r}")
        for name in ("LOOM_RETRY_BASE_SECONDS", "LOOM_OUTBOX_LEASE_SECONDS"):
            _seconds(self.extra, name)
        zone = self.extra.get("LOOM_TIMEZONE")
        if zone and not _known_zone(zone):
            raise ValueError(f"LOOM_TIMEZONE must be a time zone such as Asia/Shanghai or UTC, not {zone[:60]!r}")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url else "sqlite"


def _positive(env, name: str, default: int, what: str = "a whole number of at least 1") -> int:
    raw = env.get(name) or ""
    if not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be {what}, not {raw!r}") from None


def _check_database_url(url: str) -> None:
    """A PostgreSQL URL that SQLAlchemy can read (SQLite needs none: it is the default)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is no number fails here
    except (ArgumentError, ValueError):
        raise ValueError("LOOM_DATABASE_URL must be a PostgreSQL URL such as "
                         "postgresql+psycopg://user@127.0.0.1:5432/loom") from None
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"LOOM_DATABASE_URL must be a PostgreSQL URL, not {parsed.get_backend_name()!r} "
                         "(leave it unset for SQLite files under LOOM_DATA_DIR)")


def _seconds(extra: dict, name: str) -> None:
    raw = (extra.get(name) or "").strip()
    if not raw:
        return
    try:
        seconds = float(raw)
    except ValueError:
        seconds = None
    if seconds is None or not 0 < seconds < 10**7:
        raise ValueError(f"{name} must be a number of seconds above 0, not {raw[:40]!r}")


def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
