"""In-app notifications: a per-user inbox in the tenant's `loom_notifications` table.

Every query is scoped by user id, so a user can neither read nor mark another user's
notifications; foreign ids are simply not matched. An optional effect key makes creation
idempotent (a retried job creates nothing twice), recorded in `loom_effects` in the same
transaction as the notification."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import effects
from engine.systables import loom_table
from engine.timefmt import iso_utc

MAX_TITLE = 300
MAX_LIMIT = 200
MAX_IDS = 1000


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create(storage, user_id: int, title: str, body: str, entity=None, record_id=None,
           effect_key: str | None = None) -> int | None:
    """The new notification's id; None when `effect_key` shows it was created before."""
    title = " ".join(str(title).split()) or "(no subject)"
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE - 1] + "…"
    table = loom_table(storage.schema, "loom_notifications")
    try:
        with storage.begin() as conn:
            if effect_key:
                if effects.done(conn, storage.schema, effect_key):
                    return None
                effects.record(conn, storage.schema, effect_key)
            return conn.execute(table.insert().returning(table.c.id).values(
                at=_now(), user_id=int(user_id), title=title, body=str(body), entity=entity,
                record_id=record_id, read_at=None)).scalar_one()
    except IntegrityError:
        if effect_key:  # a concurrent run recorded the same effect first
            return None
        raise


def list_for(storage, user_id: int, unread_only: bool = False, limit: int = 50) -> list[dict]:
    """The user's notifications, newest first."""
    table = loom_table(storage.schema, "loom_notifications")
    limit = max(1, min(int(limit), MAX_LIMIT))
    stmt = select(table).where(table.c.user_id == int(user_id))
    if unread_only:
        stmt = stmt.where(table.c.read_at.is_(None))
    with storage.connect() as conn:
        rows = conn.execute(stmt.order_by(table.c.id.desc()).limit(limit)).mappings().all()
    return [_item(row) for row in rows]


def mark_read(storage, user_id: int, ids) -> int:
    """How many of the user's unread notifications among `ids` are now read."""
    wanted = sorted({int(i) for i in ids})[:MAX_IDS]
    if not wanted:
        return 0
    table = loom_table(storage.schema, "loom_notifications")
    with storage.begin() as conn:
        result = conn.execute(table.update()
                              .where(table.c.user_id == int(user_id), table.c.id.in_(wanted),
                                     table.c.read_at.is_(None))
                              .values(read_at=_now()))
    return result.rowcount


def unread_count(storage, user_id: int) -> int:
    table = loom_table(storage.schema, "loom_notifications")
    stmt = select(func.count()).select_from(table).where(
        table.c.user_id == int(user_id), table.c.read_at.is_(None))
    with storage.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _item(row) -> dict:
    return {"id": row["id"], "at": iso_utc(row["at"]), "title": row["title"], "body": row["body"],
            "entity": row["entity"], "record_id": row["record_id"],
            "read": row["read_at"] is not None, "read_at": iso_utc(row["read_at"])}
