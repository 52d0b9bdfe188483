"""Fresh storage brought to head by replaying recorded SQL instead of running Alembic.

Nearly every test makes an install and a tenant, and each runs Loom's revisions (the
system tree's 3, the tenant tree's 14): hundreds of DDL statements, each compiled by
Alembic in Python and sent one at a time. The first time a worker brings an EMPTY
system or tenant storage to head on a backend, the revisions run for real (Alembic)
and the SQL they send is recorded; every later empty storage of that tree and backend
gets the same statements replayed in the same transaction, the PostgreSQL schema
name swapped for its own. The result is the same tables, indexes, constraints and
`loom_alembic_version` row (tests/tenants/test_migration_replay.py compares them).

Only storage without a single table is replayed: a storage at an older revision (the
tests of old tenants, `downgrade` then reopen) always runs Alembic. Set
LOOM_TEST_REAL_MIGRATIONS=1 to run Alembic every time. Loaded by tests/conftest.py; the
production code is unchanged (this wraps `tenants.migrations.upgrade` in the test
process only; CLI subprocesses run the real revisions).

A new tenant's storage is brought to head by Loom itself from its committed recording
(tenants/migrations/recorded.py, tests/tenants/test_recorded_head.py), so what is
replayed here is the system tree and tenant trees whose recording a test made stale;
LOOM_TEST_REAL_MIGRATIONS=1 turns that production replay off too."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event

from tenants import migrations
from tenants.migrations import recorded

REAL = os.environ.get("LOOM_TEST_REAL_MIGRATIONS") == "1"


@dataclass
class Recording:
    schema: str | None  # the schema the statements were recorded in (None on SQLite)
    statements: list = field(default_factory=list)  # (statement, parameters, executemany)


_recordings: dict[tuple, Recording] = {}
_real_upgrade = migrations.upgrade
stats = {"real": 0, "replayed": 0}


def _key(connection, tree: str) -> tuple:
    """Recordings are per backend and per set of revision files (a test never adds one,
    but if it did the recording would not be reused)."""
    versions = sorted(p.name for p in (Path(migrations.HERE) / tree / "versions").glob("*.py"))
    return connection.dialect.name, tree, tuple(versions)


def _record(connection, tree: str, schema: str | None) -> Recording:
    recording = Recording(schema)

    def seen(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip()[:6].upper() == "SELECT":  # reads (reflection) change nothing
            recording.statements.append((statement, parameters, executemany))

    event.listen(connection, "before_cursor_execute", seen)
    try:
        _real_upgrade(connection, tree, schema)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    return recording


def _swap(value, old: str | None, new: str | None):
    if old is None or old == new:
        return value
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_swap(v, old, new) for v in value)
    return value


def _replay(connection, recording: Recording, schema: str | None) -> None:
    """Send the recorded statements through the connection's own DBAPI cursor, inside
    its transaction. On PostgreSQL runs of parameterless statements go as one message."""
    cursor = connection.connection.driver_connection.cursor()
    batch: list[str] = []
    postgres = connection.dialect.name == "postgresql"

    def flush():
        if batch:
            cursor.execute(";\n".join(batch))
            batch.clear()

    try:
        for statement, parameters, executemany in recording.statements:
            statement = _swap(statement, recording.schema, schema)
            parameters = _swap(parameters, recording.schema, schema)
            if postgres and not parameters and not executemany and "%" not in statement:
                batch.append(statement)
                continue
            flush()
            if executemany:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
        flush()
    finally:
        cursor.close()


def upgrade(connection, tree: str, schema: str | None) -> None:
    """`tenants.migrations.upgrade`, replaying a recording on empty storage."""
    if REAL or not recorded.empty(connection, schema):
        stats["real"] += 1
        return _real_upgrade(connection, tree, schema)
    key = _key(connection, tree)
    recording = _recordings.get(key)
    if recording is None:
        stats["real"] += 1
        _recordings[key] = _record(connection, tree, schema)
        return
    stats["replayed"] += 1
    _replay(connection, recording, schema)


_real_create = recorded.create


def create(connection, tree: str, schema: str | None) -> bool:
    """`tenants.migrations.recorded.create`, Alembic (through `upgrade`) when REAL."""
    if REAL:
        migrations.upgrade(connection, tree, schema)
        return False
    return _real_create(connection, tree, schema)


def install() -> None:
    migrations.upgrade = upgrade
    recorded.create = create
