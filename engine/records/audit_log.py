"""Reading the tenant's audit log across records: filtered by user, entity, record and a
time range, newest first, a page at a time by keyset (the last row's id is the cursor, so
a page costs the same however deep it is and rows written meanwhile do not shift it)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from engine.errors import ValidationFailed
from engine.systables import loom_table
from engine.timefmt import iso_utc

ENTITY_NAME = re.compile(r"[a-z][a-z0-9_]*")
PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True)
class AuditQuery:
    """What to read: every part optional; `before` is the cursor (the last id seen)."""

    user_id: int | None = None
    entity: str | None = None
    record_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = PAGE

    @classmethod
    def parse(cls, args, log: str = "audit log") -> "AuditQuery":
        """From text parameters (`user`, `entity`, `record`, `since`, `until`, `before`,
        `limit`), every bad one reported at once."""
        details, values = [], {}
        for key, name in (("user", "user_id"), ("record", "record_id"), ("before", "before"), ("limit", "limit")):
            raw = (args.get(key) or "").strip()
            if not raw:
                continue
            whole = raw.isascii() and raw.isdigit() and len(raw) <= 18
            if not whole:
                details.append({"field": key, "code": "not_integer",
                                "message": f"a whole number from 1 to {MAX_PAGE}" if key == "limit" else
                                "a whole number"})
            elif key == "limit" and not 1 <= int(raw) <= MAX_PAGE:
                details.append({"field": key, "code": "not_in_range", "message": f"a whole number from 1 to {MAX_PAGE}",
                                "min": 1, "max": MAX_PAGE})
            else:
                values[name] = int(raw)
        entity = (args.get("entity") or "").strip()
        if entity:
            if len(entity) > 48 or not ENTITY_NAME.fullmatch(entity):
                details.append({"field": "entity", "code": "not_entity_name",
                                "message": "an entity name (lowercase letters, digits, _)"})
            values["entity"] = entity[:48]
        for key in ("since", "until"):
            raw = (args.get(key) or "").strip()
            if raw:
                moment = _moment(raw, end_of_day=key == "until")
                if moment is None:
                    details.append({"field": key, "code": "not_date",
                                    "message": "a date (2026-01-31) or a time (2026-01-31T09:30)"})
                values[key] = moment
        if values.get("since") and values.get("until") and values["since"] > values["until"]:
            details.append({"field": "until", "code": "until_before_since", "message": "before since"})
        if details:
            raise ValidationFailed(f"invalid {log} filter: " + "; ".join(
                f"{d['field']}: {d['message']}" for d in details), details=details, code="bad_filter")
        return cls(**values)


def _moment(text: str, end_of_day: bool) -> datetime | None:
    """An ISO date or time (UTC unless it says otherwise); a bare date `until` means the
    whole of that day."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if end_of_day and len(text) == 10:
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    try:
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except OverflowError:  # out of range once in UTC (the year 1 or 9999 with an offset)
        return None


def audit_page(storage, query: AuditQuery) -> dict:
    """`{"items": [...], "next": cursor or None}`: one page of audit rows, newest first."""
    return log_page(storage, loom_table(storage.schema, "loom_audit"), query, _audit_entry)


def _audit_entry(r) -> dict:
    return {"id": r["id"], "at": iso_utc(r["at"]), "actor_id": r["actor_id"], "action": r["action"],
            "entity": r["entity"], "record_id": r["record_id"], "version": r["record_version"],
            "changes": r["changes"]}


def log_page(storage, table, query: AuditQuery, entry) -> dict:
    """One page of a log table (the audit or the access log: `id`, `at`, `actor_id`,
    `entity`, `record_id`), newest first, filtered by `query`; each row as `entry(row)`."""
    stmt = select(table).order_by(table.c.id.desc()).limit(query.limit + 1)
    for column, value in ((table.c.actor_id, query.user_id), (table.c.entity, query.entity),
                          (table.c.record_id, query.record_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.since is not None:
        stmt = stmt.where(table.c.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(table.c.at <= query.until)
    if query.before is not None:
        stmt = stmt.where(table.c.id < query.before)
    with storage.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    items = [entry(r) for r in rows[:query.limit]]
    return {"items": items, "next": items[-1]["id"] if len(rows) > query.limit else None}
