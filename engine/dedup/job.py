"""The background job kind `dedup_scan`: an entity's duplicate report (`engine.dedup.scan`)
as a job with progress; its result is the report. Admins only: the report names records
whatever their sharing. A resumed scan starts again (it writes nothing but its result)."""
from __future__ import annotations

from sqlalchemy import select

from engine.dedup.rules import rules_of
from engine.dedup.scan import scan
from engine.errors import NotFound, ValidationFailed
from engine.systables import loom_table
from engine.timefmt import iso_utc


def check(session, params) -> dict:
    session.require_admin("scan an entity for duplicates")
    unknown = sorted(set(params) - {"entity"})
    if unknown:
        raise ValidationFailed(f"a duplicate scan takes no params.{unknown[0][:60]}",
                               details=[{"field": f"params.{name[:60]}", "message": "not a parameter of this job"}
                                        for name in unknown])
    entity = params.get("entity")
    if not isinstance(entity, str) or not entity:
        raise ValidationFailed("params.entity must name an entity",
                               details=[{"field": "params.entity", "message": "an entity name"}])
    metadata = session.metadata()
    if metadata.entity(entity) is None:
        raise NotFound(f"no entity {entity[:60]!r}", code="entity_not_found")
    if not rules_of(metadata, entity):
        raise ValidationFailed(f"entity {entity!r} has no duplicate rules",
                               details=[{"field": "params.entity", "message": "no duplicate_rules to scan by"}])
    return {"entity": entity}


def run(session, params, progress) -> dict:
    if progress.resumed:
        progress.done = 0
    return scan(session.storage, session.metadata(), params["entity"], progress)


def latest_report(session, entity: str, offset: int = 0, limit: int = 100) -> dict:
    """The newest finished `dedup_scan` report of `entity` (admins), its clusters from
    `offset`, at most `limit`; NotFound when none was made."""
    session.require_admin("read duplicate reports")
    if session.metadata().entity(entity) is None:
        raise NotFound(f"no entity {entity[:60]!r}", code="entity_not_found")
    table = loom_table(session.storage.schema, "loom_jobs")
    stmt = (select(table.c.id, table.c.params, table.c.result, table.c.finished_at)
            .where(table.c.kind == "dedup_scan", table.c.status == "done").order_by(table.c.id.desc()))
    with session.storage.connect() as conn:
        for row in conn.execute(stmt):
            if (row.params or {}).get("entity") == entity and row.result:
                report = dict(row.result)
                clusters = report.pop("clusters")
                return {**report, "job_id": row.id, "finished_at": iso_utc(row.finished_at),
                        "offset": offset, "clusters": clusters[offset:offset + limit]}
    raise NotFound(f"no finished duplicate scan of {entity!r}: start one with POST /jobs "
                   f"{{\"kind\": \"dedup_scan\", \"params\": {{\"entity\": \"{entity}\"}}}}", code="no_scan")
