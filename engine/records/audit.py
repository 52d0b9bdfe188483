"""Reading a record's audit trail."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import select

from engine.systables import loom_table


def record_history(storage, entity: str, record_id: int) -> list[dict]:
    audit = loom_table(storage.schema, "loom_audit")
    stmt = (select(audit).where(audit.c.entity == entity, audit.c.record_id == record_id)
            .order_by(audit.c.id))
    with storage.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [{"at": _utc(r["at"]), "actor_id": r["actor_id"], "action": r["action"],
             "version": r["record_version"], "changes": r["changes"]} for r in rows]


def _utc(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
