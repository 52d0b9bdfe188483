"""SLA timers of workflow states ("first response within 4 business hours").

Entering a state with an `sla` starts a `running` timer in `loom_sla_timers`, in the
transaction that writes the state. Leaving the state stops it: `met` when left by the
deadline, `late` when left after it but before a sweep saw it. The minute tick sweeps:
every running timer past its deadline becomes `breached`, and its state's `escalate`
actions are handed to the caller, once per timer. The status change is the guard: only
rows that one sweep's UPDATE moved from running to breached are escalated, so sweeping
twice, or from two workers at once, escalates each timer exactly once.

Escalations are handed over after the breach is committed. An `escalate` that raises is
logged and its timer set running again at the end of the sweep, so the next sweep tries
again (the caller's effect keys `sla:<timer id>:<i>` keep done actions from repeating); a
crash between the commit and `escalate` loses those escalations (the timers stay
`breached`).
"""
from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select

from engine.systables import loom_table

log = logging.getLogger("loom.sla")

RUNNING, MET, LATE, BREACHED = "running", "met", "late", "breached"
BATCH = 2000


def _table(schema):
    return loom_table(schema, "loom_sla_timers")


def _utc(moment: datetime) -> datetime:
    """Aware UTC: what the columns are compared in (SQLite keeps naive UTC text)."""
    if moment.tzinfo is None:
        raise ValueError("SLA timers need aware datetimes")
    return moment.astimezone(timezone.utc)


def _aware(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def deadline(sla, at: datetime, calendar=None) -> datetime:
    """When an `sla` started at `at` is due: business minutes with `business_hours`."""
    if sla.business_hours:
        if calendar is None:
            raise ValueError(f"timer {sla.timer!r} counts business hours: pass the tenant's calendar")
        return calendar.add(at, sla.within_minutes)
    return _utc(at) + timedelta(minutes=sla.within_minutes)


def start_timers(conn, schema, workflow, entity_name, record_id, state_name, at, calendar) -> int | None:
    """Start the SLA timer of `state_name` (if it has one) in the caller's transaction;
    returns the timer's id, or None. Idempotent: a running timer of the same state, or
    one started at the same moment (a re-handled event), is returned instead."""
    state = workflow.state(state_name) if workflow is not None else None
    if state is None or state.sla is None:
        return None
    sla, at, timers = state.sla, _utc(at), _table(schema)
    same = and_(timers.c.entity == entity_name, timers.c.record_id == record_id,
                timers.c.state == state_name, timers.c.timer == sla.timer)
    found = conn.execute(select(timers.c.id).where(
        same, or_(timers.c.status == RUNNING, timers.c.started_at == at)).limit(1)).scalar()
    if found is not None:
        return found
    inserted = conn.execute(timers.insert().values(
        entity=entity_name, record_id=record_id, state=state_name, timer=sla.timer,
        started_at=at, due_at=deadline(sla, at, calendar), status=RUNNING))
    return inserted.inserted_primary_key[0]


def stop_timers(conn, schema, entity_name, record_id, state_name, at) -> dict:
    """The record left `state_name` at `at`: its running timers end `met` or `late`, and
    breached ones get their finishing time. Returns how many of each."""
    at, timers = _utc(at), _table(schema)
    of_state = and_(timers.c.entity == entity_name, timers.c.record_id == record_id,
                    timers.c.state == state_name)
    ends = {
        MET: (and_(of_state, timers.c.status == RUNNING, timers.c.due_at >= at), {"status": MET}),
        LATE: (and_(of_state, timers.c.status == RUNNING, timers.c.due_at < at), {"status": LATE}),
        BREACHED: (and_(of_state, timers.c.status == BREACHED, timers.c.finished_at.is_(None)), {}),
    }
    return {status: conn.execute(timers.update().where(where).values(finished_at=at, **values)).rowcount
            for status, (where, values) in ends.items()}


def _breach_batch(conn, timers, now: datetime, limit: int) -> list[dict]:
    """Move up to `limit` due running timers to breached; the rows this UPDATE moved.
    On PostgreSQL the chosen rows are locked, and rows another sweeper locked skipped."""
    due = (select(timers.c.id)
           .where(timers.c.status == RUNNING, timers.c.due_at <= now)
           .order_by(timers.c.due_at).limit(limit)
           .with_for_update(skip_locked=True))
    ids = conn.execute(due).scalars().all()
    if not ids:
        return []
    moved = conn.execute(
        timers.update().where(timers.c.status == RUNNING, timers.c.id.in_(ids))
        .values(status=BREACHED)
        .returning(timers.c.id, timers.c.entity, timers.c.record_id, timers.c.state, timers.c.timer,
                   timers.c.started_at, timers.c.due_at))
    rows = [{**{k: _aware(v) for k, v in row.items()}, "status": BREACHED, "finished_at": None}
            for row in moved.mappings()]
    return sorted(rows, key=lambda r: (r["due_at"], r["id"]))


def escalation_actions(package, entity_name: str, state_name: str, timer: str) -> list[dict]:
    """The `escalate` actions of a timer in the current metadata ([] when the state or
    its timer is gone)."""
    workflow = package.workflow_for(entity_name)
    state = workflow.state(state_name) if workflow is not None else None
    sla = state.sla if state is not None else None
    return copy.deepcopy(list(sla.escalate)) if sla is not None and sla.timer == timer else []


def sweep(session, now: datetime, escalate, batch: int = BATCH) -> dict:
    """Breach every running timer due by `now` and call `escalate(session, timer_row,
    actions)` once for each (timer_row: the timer's columns, datetimes aware UTC;
    actions: shared by the timers of one state, to read, not to change). Timers whose
    `escalate` raised are running again when the sweep ends, for the next sweep.
    Returns {"breached", "escalated", "failed"} (breached = escalated + failed)."""
    now, storage = _utc(now), session.storage
    package = session.metadata().package
    timers = _table(storage.schema)
    counts, actions, failed = {"breached": 0, "escalated": 0, "failed": 0}, {}, []
    while True:
        with storage.begin() as conn:
            rows = _breach_batch(conn, timers, now, batch)
        counts["breached"] += len(rows)
        for row in rows:
            key = (row["entity"], row["state"], row["timer"])
            if key not in actions:
                actions[key] = escalation_actions(package, *key)
            try:
                escalate(session, row, actions[key])
                counts["escalated"] += 1
            except Exception:  # one failing escalation must not stop the others
                log.exception("escalating SLA timer %s of %s %s failed", row["id"], row["entity"], row["record_id"])
                failed.append(row["id"])
        if len(rows) < batch:
            break
    counts["failed"] = _rearm(storage, timers, failed)
    return counts


def _rearm(storage, timers, ids: list) -> int:
    """Put timers whose escalation failed back to running (unless their record left the
    state meanwhile); the caller's effect keys keep the actions that did run from
    running twice."""
    for first in range(0, len(ids), BATCH):
        with storage.begin() as conn:
            conn.execute(timers.update().where(timers.c.id.in_(ids[first:first + BATCH]),
                                               timers.c.status == BREACHED, timers.c.finished_at.is_(None))
                         .values(status=RUNNING))
    return len(ids)


def _iso(value):
    value = _aware(value)
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def timers_for(storage, entity_name: str, record_id: int) -> list[dict]:
    """A record's SLA timers, oldest first, as JSON (times as ISO 8601 UTC)."""
    timers = _table(storage.schema)
    query = (select(timers).where(timers.c.entity == entity_name, timers.c.record_id == record_id)
             .order_by(timers.c.started_at, timers.c.id))
    with storage.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{"id": r["id"], "state": r["state"], "timer": r["timer"], "status": r["status"],
             "started_at": _iso(r["started_at"]), "due_at": _iso(r["due_at"]),
             "finished_at": _iso(r["finished_at"])} for r in rows]


def overdue(storage, now: datetime, limit: int = 200, after: tuple | None = None) -> list[dict]:
    """Timers past their deadline on records still in the timer's state — running past
    due (no sweep has seen them yet) or breached and not finished — most overdue first,
    as JSON like `timers_for` plus `entity` and `record_id`. `after`: the `(due_at, id)`
    of the previous batch's last row (keyset paging, for callers that filter rows out)."""
    now, timers = _utc(now), _table(storage.schema)
    late = or_(and_(timers.c.status == RUNNING, timers.c.due_at < now),
               and_(timers.c.status == BREACHED, timers.c.finished_at.is_(None)))
    query = select(timers).where(late)
    if after is not None:
        due, last = after
        due = _utc(datetime.fromisoformat(due.replace("Z", "+00:00")) if isinstance(due, str) else due)
        query = query.where(or_(timers.c.due_at > due, and_(timers.c.due_at == due, timers.c.id > last)))
    with storage.connect() as conn:
        rows = conn.execute(query.order_by(timers.c.due_at, timers.c.id).limit(max(1, min(int(limit), BATCH))))
        rows = rows.mappings().all()
    return [{"id": r["id"], "entity": r["entity"], "record_id": r["record_id"], "state": r["state"],
             "timer": r["timer"], "status": r["status"], "started_at": _iso(r["started_at"]),
             "due_at": _iso(r["due_at"])} for r in rows]
