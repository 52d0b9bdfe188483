"""Install-level settings, read once from the environment."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where Loom keeps its data. SQLite files under `data_dir` unless `database_url` is set."""

    data_dir: Path = Path("./loom-data")
    database_url: str | None = None
    sqlite_synchronous: str = "NORMAL"
    schema_prefix: str = ""
    redis_url: str | None = None
    extra: dict = field(default_factory=dict)  # every LOOM_* variable, for the layers above

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("LOOM_DATA_DIR") or "./loom-data"),
            database_url=env.get("LOOM_DATABASE_URL") or None,
            sqlite_synchronous=(env.get("LOOM_SQLITE_SYNCHRONOUS") or "NORMAL").upper(),
            schema_prefix=env.get("LOOM_SCHEMA_PREFIX") or "",
            redis_url=env.get("LOOM_REDIS_URL") or None,
            extra={k: v for k, v in env.items() if k.startswith("LOOM_")},
        )

    def __post_init__(self):
        if self.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("LOOM_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        if self.schema_prefix and not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", self.schema_prefix):
            raise ValueError("LOOM_SCHEMA_PREFIX must be up to 16 lowercase letters, digits or _")

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url else "sqlite"
