"""The access log: who read, searched, exported or unmasked which records holding personal
data, and who signed in — appended, never changed (the chain in `engine.records.chain`
shows a change), read by admins filtered by user, record and time.

A read of a page of records is one row per record, written in one statement (one
transaction beside the read); an export is one row with its filter and count."""
from __future__ import annotations

from sqlalchemy import select

from engine.records.audit_log import AuditQuery
from engine.records.bulk_rows import Rows, insert_all
from engine.records.writes import utcnow
from engine.systables import loom_table
from engine.timefmt import iso_utc

ACTIONS = ("read", "list", "search", "export", "unmask", "sign_in")
COLUMNS = ("at", "actor_id", "action", "entity", "record_id", "detail")


def access_rows(schema, actor_id, action, entity, record_ids, detail=None) -> Rows:
    """One row per record of `record_ids` (or one row without a record when it is empty)."""
    at = utcnow()
    detail = detail or {}
    ids = list(record_ids) or [None]
    return Rows(loom_table(schema, "loom_access_log"), COLUMNS,
                [(at, actor_id, action, entity, record_id, detail) for record_id in ids])


def log_access(storage, actor_id, action, entity=None, record_ids=(), detail=None) -> None:
    """Append the rows of one access, in a transaction of their own."""
    with storage.begin() as conn:
        insert_all(conn, [access_rows(storage.schema, actor_id, action, entity, record_ids, detail)])


def access_page(storage, query: AuditQuery) -> dict:
    """`{"items": [...], "next": cursor or None}`: one page of the access log, newest first
    (filters as for the audit log: user, entity, record, since, until, before, limit)."""
    log = loom_table(storage.schema, "loom_access_log")
    stmt = select(log).order_by(log.c.id.desc()).limit(query.limit + 1)
    for column, value in ((log.c.actor_id, query.user_id), (log.c.entity, query.entity),
                          (log.c.record_id, query.record_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.since is not None:
        stmt = stmt.where(log.c.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(log.c.at <= query.until)
    if query.before is not None:
        stmt = stmt.where(log.c.id < query.before)
    with storage.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    items = [entry_json(r) for r in rows[:query.limit]]
    return {"items": items, "next": items[-1]["id"] if len(rows) > query.limit else None}


def entry_json(row) -> dict:
    return {"id": row["id"], "at": iso_utc(row["at"]), "actor_id": row["actor_id"], "action": row["action"],
            "entity": row["entity"], "record_id": row["record_id"], "detail": row["detail"] or {}}
