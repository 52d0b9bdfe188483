"""Taking events from a tenant's outbox, at least once, with retries and a dead-letter list.

The record service writes an outbox row in the same transaction as every change, so an
event that exists is an event that happened. A worker *claims* a batch by pushing its
`next_attempt_at` forward by a lease; if the worker dies, the lease runs out and another
worker takes the rows again. Handlers are idempotent (record writes carry an effect key),
so handling an event twice changes nothing the second time: exactly once in effect.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select

from engine.privacy.error_text import describe
from engine.systables import loom_table

log = logging.getLogger("loom.outbox")
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 6
DONE_BATCH = 50


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour (base 30 s)."""
    return timedelta(seconds=min(base_seconds * 2 ** (attempts - 1), 3600))


def claim(storage, limit: int, lease: timedelta = LEASE) -> list[dict]:
    """Due pending rows, leased to this worker; the lease ends on done, failure or death
    (then, once `lease` has run out, another worker takes them)."""
    outbox = loom_table(storage.schema, "loom_outbox")
    now = utcnow()
    due = and_(outbox.c.status == "pending",
               or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
    with storage.begin() as conn:
        pick = select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = conn.execute(pick).scalars().all()
        if not ids:
            return []
        conn.execute(outbox.update().where(outbox.c.id.in_(ids)).values(next_attempt_at=now + lease))
        rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).mappings().all()
    return [dict(r) for r in rows]


def mark_done(storage, event_ids, along=None) -> None:
    """Mark handled events done, several in one transaction (a crash before this only
    means they are handled again, which their idempotent effects make harmless).
    `along(conn)` writes, in the same transaction, what their handling left to write
    (the rule trace of their firings)."""
    if not event_ids and along is None:
        return
    outbox = loom_table(storage.schema, "loom_outbox")
    with storage.begin() as conn:
        if along is not None:
            along(conn)
        if not event_ids:
            return
        conn.execute(outbox.update().where(outbox.c.id.in_(list(event_ids))).values(
            status="done", processed_at=utcnow(), next_attempt_at=None, last_error=None))


def mark_failed(storage, row: dict, error: str, base_seconds: float, along=None) -> str:
    """Count a failed attempt: retry later with backoff, or give up into the dead-letter
    list; `along(conn)` as for `mark_done`."""
    outbox = loom_table(storage.schema, "loom_outbox")
    attempts = (row.get("attempts") or 0) + 1
    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    values = {"attempts": attempts, "last_error": error[-4000:], "status": status,
              "next_attempt_at": None if status == "failed" else utcnow() + backoff(attempts, base_seconds)}
    if status == "failed":
        values["processed_at"] = utcnow()
    with storage.begin() as conn:
        if along is not None:
            along(conn)
        conn.execute(outbox.update().where(outbox.c.id == row["id"]).values(**values))
    return status


def process(storage, handle, limit: int = 200, base_seconds: float = 30.0, lease: timedelta = LEASE,
            along=None) -> dict:
    """Claim and handle one batch; returns counts. `handle(row)` raises to fail a row.
    `along(conn)` writes what the handling left to write (the rule traces of the events
    handled so far) in each transaction that marks events done or failed."""
    counts = {"done": 0, "retry": 0, "failed": 0}
    handled, rows = [], claim(storage, limit, lease)
    if not rows:
        return counts
    for row in rows:
        try:
            handle(row)
        except Exception as exc:  # any handler failure is retried, never lost
            text = getattr(exc, "safe_text", None) or describe(exc)  # no personal value (error_text)
            log.warning("event %s failed: %s", row["id"], text)
            status = mark_failed(storage, row, text, base_seconds, along)
            counts["failed" if status == "failed" else "retry"] += 1
            continue
        handled.append(row["id"])
        counts["done"] += 1
        if len(handled) >= DONE_BATCH:
            mark_done(storage, handled, along)
            handled = []
    mark_done(storage, handled, along)
    return counts


def failed(storage, limit: int = 100) -> list[dict]:
    """The dead-letter list: events that exhausted their attempts."""
    outbox = loom_table(storage.schema, "loom_outbox")
    with storage.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.status == "failed")
                            .order_by(outbox.c.id).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def retry(storage, ids=None) -> int:
    """Put dead-lettered events (all, or these ids) back in the queue with fresh attempts."""
    outbox = loom_table(storage.schema, "loom_outbox")
    stmt = outbox.update().where(outbox.c.status == "failed")
    if ids is not None:
        stmt = stmt.where(outbox.c.id.in_(list(ids)))
    with storage.begin() as conn:
        return conn.execute(stmt.values(status="pending", attempts=0, next_attempt_at=None,
                                        processed_at=None)).rowcount


def pending_count(storage) -> int:
    from sqlalchemy import func

    outbox = loom_table(storage.schema, "loom_outbox")
    with storage.connect() as conn:
        return conn.execute(select(func.count()).where(outbox.c.status == "pending")).scalar_one()
