"""The record of applied metadata versions (`loom_metadata_versions`)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from engine.records.pinning import exclude_writers, exclusion_sql
from engine.systables import loom_table


def versions_table(schema):
    return loom_table(schema, "loom_metadata_versions")


def current_version(conn, schema) -> int:
    table = versions_table(schema)
    return conn.execute(select(func.coalesce(func.max(table.c.version), 0))).scalar_one()


def load_version(conn, schema, version: int):
    table = versions_table(schema)
    return conn.execute(select(table).where(table.c.version == version)).mappings().first()


def history(conn, schema) -> list[dict]:
    table = versions_table(schema)
    rows = conn.execute(select(table).order_by(table.c.version)).mappings().all()
    return [dict(r) for r in rows]


def record_version(conn, schema, version, document, changes, archives, action, actor, layers=None):
    conn.execute(versions_table(schema).insert().values(
        version=version, applied_at=datetime.now(timezone.utc), applied_by=actor,
        action=action[:20], document=document, changes=changes, archives=archives, layers=layers,
    ))


def lock_history(conn, schema) -> None:
    """Migrations of one tenant take turns: the next one waits, then diffs against the
    version the previous one recorded; and record writes in flight finish first, while
    new ones wait for the new version. (SQLite: the write transaction already does this.)
    On PostgreSQL the writers' lock, then the history's, sent as one message."""
    if conn.dialect.name != "postgresql":
        exclude_writers(conn, schema)
        return
    table = versions_table(schema)
    conn.exec_driver_sql(f'{exclusion_sql(schema)}; '
                         f'LOCK TABLE "{table.schema}"."{table.name}" IN SHARE ROW EXCLUSIVE MODE')
