"""Brand-new storage brought to head in one step, from the SQL the revisions send.

Alembic brings Loom's tables to head one revision at a time, compiling every operation
in Python (every revision of the tenant tree: ~120 statements, most of the time
`loom tenant create` takes). An EMPTY storage always receives the same statements, so
they are recorded once per backend — by running the revisions for real on an empty
storage and keeping every statement that writes — into `<tree>/head.<dialect>.json`
beside the revisions, with the digest of the revision files they came from. A new
tenant's storage gets them replayed in its creation transaction (on PostgreSQL the
schema name put in), the `loom_alembic_version` row included: the same tables, indexes,
constraints and rows as Alembic makes (tests/tenants/test_recorded_head.py compares them).

Never hand-written: `scripts/record-migrations` (`tenants.migrations.recording`)
records them again. A recording whose digest is not that of the revision files now is never
used (Alembic runs), and the test fails until it is recorded again. Storage that holds
any table (a tenant at an older revision) always runs Alembic.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import text

from tenants import migrations

SCHEMA = "<schema>"  # stands for the PostgreSQL schema in a recording (not valid SQL by itself)
DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Recording:
    tree: str
    dialect: str
    digest: str             # of the revision files (and env.py) the statements came from
    statements: tuple       # SQL text, SCHEMA standing for the schema

    def to_json(self) -> str:
        return json.dumps({"tree": self.tree, "dialect": self.dialect, "digest": self.digest,
                           "statements": list(self.statements)}, indent=1, ensure_ascii=False) + "\n"


def path(tree: str, dialect: str) -> Path:
    return migrations.HERE / tree / f"head.{dialect}.json"


def digest(tree: str) -> str:
    """What the recording depends on: every revision file of `tree` and its env.py."""
    return _digest(migrations.stamp(tree))


@lru_cache(maxsize=8)
def _digest(stamped: tuple) -> str:
    h = hashlib.sha256()
    for file in migrations.files(stamped[0]):
        h.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=None)
def _read(file: Path, mtime_ns: int) -> Recording | None:
    try:
        found = json.loads(file.read_text(encoding="utf-8"))
        return Recording(found["tree"], found["dialect"], found["digest"], tuple(found["statements"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load(tree: str, dialect: str) -> Recording | None:
    """The recording of `tree` on `dialect`, or None when there is none or it is stale."""
    file = path(tree, dialect)
    try:
        mtime = file.stat().st_mtime_ns
    except OSError:
        return None
    recording = _read(file, mtime)
    if recording is None or (recording.tree, recording.dialect) != (tree, dialect) \
            or recording.digest != digest(tree):
        return None
    return recording


def empty(connection, schema: str | None) -> bool:
    """True when the storage holds no table, index or sequence at all. On PostgreSQL: no
    object of the schema's (each is recorded in `pg_depend` as depending on its schema;
    asked through that catalog's index, so a `pg_class` bloated by tables made and dropped
    does not slow the check)."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(text(
            "SELECT 1 FROM pg_catalog.pg_depend WHERE refclassid = 'pg_catalog.pg_namespace'::regclass "
            "AND refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = :s) LIMIT 1"), {"s": schema})
    else:
        found = connection.execute(text("SELECT 1 FROM sqlite_master LIMIT 1"))
    return found.first() is None


def replay(connection, recording: Recording, schema: str | None) -> None:
    """Send the recorded statements through the connection's own DBAPI cursor, inside its
    transaction; on PostgreSQL all of them as one message."""
    if schema is not None:
        quoted = connection.dialect.identifier_preparer.quote_schema(schema)
        statements = [s.replace(SCHEMA, quoted) for s in recording.statements]
    else:
        statements = list(recording.statements)
    cursor = connection.connection.driver_connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            cursor.execute(";\n".join(statements))
        else:
            for statement in statements:
                cursor.execute(statement)
    finally:
        cursor.close()


def create(connection, tree: str, schema: str | None) -> bool:
    """Bring a new storage to head: the recording replayed when the storage is empty and
    the recording current, else Alembic. True when the recording was replayed."""
    recording = load(tree, connection.dialect.name)
    if recording is None or not empty(connection, schema):
        migrations.upgrade(connection, tree, schema)
        return False
    replay(connection, recording, schema)
    return True
