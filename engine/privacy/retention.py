"""Retention: records of an entity with `"privacy": {"retention": {"after_days": N,
"field": F, "action": "erase" | "anonymise"}}` are, N days after their field F (a date
or datetime field, `created_at` or `updated_at`), anonymised (their personal data erased
as for a party's erasure, the record kept) or erased (anonymised, then deleted with its
referrers' on_delete rules). `plan` is the dry-run report; `run` does it, one record at a
time, each logged in `loom_dsr_log` as a `retention` entry; a record whose delete is
refused (a `restrict` reference) is reported and left anonymised, and its delete is
offered again on every later run (`retried`) until it goes through; a record a run
anonymised is not anonymised again. The daily job `loom.retention` runs it for every
active tenant."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, select

from engine.errors import LoomError
from engine.privacy.erasure import erase
from engine.systables import loom_table

MAX_LISTED = 50
BATCH = 500


def _due(metadata, entity, now):
    rule = entity.privacy["retention"]
    table = metadata.tables[entity.name]
    column = table.c[rule["field"]]
    cutoff = now - timedelta(days=int(rule["after_days"]))
    field = entity.field(rule["field"])
    if field is not None and (field.base_type or field.type) == "date":
        cutoff = cutoff.date()
    done = loom_table(metadata_schema(table), "loom_dsr_log")
    earlier = select(done.c.record_id).where(done.c.entity == entity.name, done.c.kind == "retention",
                                            done.c.record_id.isnot(None))
    # a record anonymised by an earlier run is not anonymised again
    return table, and_(column.isnot(None), column < cutoff, table.c.id.not_in(earlier)), rule


def _undeleted(metadata, entity):
    """The records an earlier run anonymised whose delete was refused (still there)."""
    table = metadata.tables[entity.name]
    done = loom_table(table.schema, "loom_dsr_log")
    earlier = select(done.c.record_id).where(done.c.entity == entity.name, done.c.kind == "retention",
                                            done.c.record_id.isnot(None))
    return table.c.id.in_(earlier)


def metadata_schema(table):
    return table.schema


def plan(session, now: datetime | None = None) -> list[dict]:
    """What a run would do now: per entity with a retention rule, the rule, how many
    records are due and the first ids."""
    session.require_admin(to="run retention")
    metadata, now = session.metadata(), now or datetime.now(timezone.utc)
    report = []
    with session.storage.connect() as conn:
        for entity in metadata.package.entities:
            if not (entity.privacy or {}).get("retention"):
                continue
            table, due, rule = _due(metadata, entity, now)
            count = conn.execute(select(func.count()).select_from(table).where(due)).scalar_one()
            ids = conn.execute(select(table.c.id).where(due).order_by(table.c.id).limit(MAX_LISTED)).scalars().all()
            item = {"entity": entity.name, "action": rule["action"], "field": rule["field"],
                    "after_days": rule["after_days"], "due": count, "ids": list(ids)}
            if rule["action"] == "erase":  # deletes refused before, offered again
                item["retry"] = conn.execute(select(func.count()).select_from(table)
                                             .where(_undeleted(metadata, entity))).scalar_one()
            report.append(item)
    return report


def run(session, dry_run: bool = False, now: datetime | None = None) -> dict:
    """Apply the retention rules (or only report them, `dry_run`)."""
    report = plan(session, now)
    if dry_run:
        return {"dry_run": True, "entities": report}
    metadata, now = session.metadata(), now or datetime.now(timezone.utc)
    done = []
    for item in report:
        entity = metadata.entity(item["entity"])
        table, due, rule = _due(metadata, entity, now)
        with session.storage.connect() as conn:
            ids = conn.execute(select(table.c.id).where(due).order_by(table.c.id)).scalars().all()
            again = conn.execute(select(table.c.id).where(_undeleted(metadata, entity)).order_by(table.c.id)
                                 ).scalars().all() if rule["action"] == "erase" else []
        outcome = {"entity": entity.name, "action": rule["action"], "anonymised": 0, "deleted": 0, "refused": []}
        if rule["action"] == "erase":
            outcome["retried"] = len(again)
            for record_id in again:
                _delete(session, entity, record_id, outcome)
        reason = f"retention: {rule['action']} {rule['after_days']} days after {rule['field']}"
        for record_id in ids:
            erase(session, record_id, reason, entity_name=entity.name, kind="retention")
            outcome["anonymised"] += 1
            if rule["action"] == "erase":
                _delete(session, entity, record_id, outcome)
        done.append(outcome)
    return {"dry_run": False, "entities": done}


def _delete(session, entity, record_id, outcome) -> None:
    try:
        session.records.delete(entity.name, record_id)
        outcome["deleted"] += 1
    except LoomError as exc:
        outcome["refused"].append({"id": record_id, "reason": str(exc)})
