"""The log of data-subject requests (`loom_dsr_log`): who asked for what about which
record, when, why, and — for an erasure — which fields of which records were erased and
the legal basis of what was kept. It names fields, never their values."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from engine.systables import loom_table
from engine.timefmt import iso_utc

KINDS = ("export", "erase", "retention")


def write(conn, schema, kind: str, entity: str, record_id, actor: str | None, reason: str | None,
          detail: dict) -> int:
    table = loom_table(schema, "loom_dsr_log")
    return conn.execute(table.insert().returning(table.c.id).values(
        at=datetime.now(timezone.utc), actor=actor, kind=kind, entity=entity, record_id=record_id,
        reason=reason, detail=detail)).scalar_one()


def entries(storage, entity=None, record_id=None, limit: int = 100) -> list[dict]:
    table = loom_table(storage.schema, "loom_dsr_log")
    stmt = select(table)
    if entity is not None:
        stmt = stmt.where(table.c.entity == entity)
    if record_id is not None:
        stmt = stmt.where(table.c.record_id == record_id)
    with storage.connect() as conn:
        rows = conn.execute(stmt.order_by(table.c.id.desc()).limit(limit)).mappings().all()
    return [{**dict(row), "at": iso_utc(row["at"])} for row in rows]


def refusals(storage, party_id=None, purpose=None, limit: int = 100) -> list[dict]:
    """Messages refused for want of consent, one row per recipient, newest first (of one
    party, for one purpose, when given); written by the notifier
    (`workflows.notify.consent`)."""
    table = loom_table(storage.schema, "loom_consent_refusals")
    stmt = select(table)
    if party_id is not None:
        stmt = stmt.where(table.c.party_id == party_id)
    if purpose is not None:
        stmt = stmt.where(table.c.purpose == purpose)
    with storage.connect() as conn:
        rows = conn.execute(stmt.order_by(table.c.id.desc()).limit(limit)).mappings().all()
    return [{**dict(row), "at": iso_utc(row["at"])} for row in rows]
