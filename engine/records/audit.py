"""Reading a record's audit trail."""
from __future__ import annotations

from sqlalchemy import select

from engine.systables import loom_table
from engine.timefmt import iso_utc


def record_history(storage, entity: str, record_id: int) -> list[dict]:
    audit = loom_table(storage.schema, "loom_audit")
    stmt = (select(audit).where(audit.c.entity == entity, audit.c.record_id == record_id)
            .order_by(audit.c.id))
    with storage.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [{"at": iso_utc(r["at"]), "actor_id": r["actor_id"], "action": r["action"],
             "version": r["record_version"], "changes": r["changes"]} for r in rows]
