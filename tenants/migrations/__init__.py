"""Alembic revisions for Loom's own tables: `system/` for the registry database,
`tenant/` for the tables inside every tenant's storage."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent
VERSION_TABLE = "loom_alembic_version"


def upgrade(connection, tree: str, schema: str | None) -> None:
    """Bring `tree` ('system' or 'tenant') to head on `connection`, inside its transaction."""
    config = Config()
    config.set_main_option("script_location", str(HERE / tree))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def files(tree: str) -> list[Path]:
    """What the revisions of `tree` are made of: its revision files and its env.py."""
    return sorted((HERE / tree / "versions").glob("*.py")) + [HERE / tree / "env.py"]


def stamp(tree: str) -> tuple:
    """Changes whenever a file of `tree` does (name, size or time): what caches key on."""
    return (tree, str(HERE)) + tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files(tree))


def heads(tree: str) -> str:
    """The head revision of `tree` (reading the revisions takes ~25 ms: once per process
    while no revision file changes)."""
    return _head(stamp(tree))


@lru_cache(maxsize=8)
def _head(stamped: tuple) -> str:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(stamped[1]) / stamped[0]))
    return ScriptDirectory.from_config(config).get_current_head()


def known(tree: str) -> set[str]:
    """Every revision of `tree` this Loom has."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(HERE / tree))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def current(engine, schema: str | None) -> str | None:
    """The revision a tenant's (or the system's) Loom tables are at, None when unknown."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE, schema=schema):
            return None
        name = f'"{schema}".{VERSION_TABLE}' if schema else VERSION_TABLE
        return conn.execute(text(f"SELECT version_num FROM {name}")).scalar()
