"""Install-level settings, read once from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where Loom keeps its data. SQLite files under `data_dir` unless `database_url` is set."""

    data_dir: Path = Path("./loom-data")
    database_url: str | None = None
    sqlite_synchronous: str = "NORMAL"
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("LOOM_DATA_DIR") or "./loom-data"),
            database_url=env.get("LOOM_DATABASE_URL") or None,
            sqlite_synchronous=(env.get("LOOM_SQLITE_SYNCHRONOUS") or "NORMAL").upper(),
        )

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url else "sqlite"
