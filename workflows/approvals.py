"""Approvals of workflow transitions: who signed off a step from a record's state, how
many it needs (`count` holders of the role, or every active holder), and giving one —
serialised by the record's row lock, counted only for the state the record is still in,
once per person. A transition's approvals are consumed when it is taken (`transitions`)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, func, select

from engine.auth import holding
from engine.errors import Conflict
from engine.problem_codes import refusal
from engine.systables import loom_table


def status_of(session, entity_name, record, transition, state):
    """The approvals given so far for taking `transition` from `state` (None when it
    needs none, or nobody acts)."""
    if transition.approval is None or session.actor is None:
        return None
    return _approval_status(session, entity_name, record, transition, state)


def _approval_rows(approvals, entity_name, record_id, transition_name, state):
    return and_(approvals.c.entity == entity_name, approvals.c.record_id == record_id,
                approvals.c.transition == transition_name, approvals.c.from_state == state,
                approvals.c.consumed.is_(False))


def _needed(session, approval) -> int:
    if approval.mode == "any":
        return approval.count
    users = loom_table(session.storage.schema, "loom_users")
    with session.storage.connect() as conn:
        holders = conn.execute(select(func.count()).where(holding(users, approval.role), users.c.active)).scalar_one()
    return max(holders, 1)


def _approval_status(session, entity_name, record, transition, state) -> dict:
    """The approvals given so far for taking `transition` from `state` on `record`."""
    return _statuses(session, entity_name, {(record["id"], transition.name): (state, transition)})[
        (record["id"], transition.name)]


def approval_statuses(session, entity_name, records, workflow) -> dict:
    """`_approval_status` of every transition needing approvals that leaves each record's
    state, by (record id, transition name)."""
    if session.actor is None:
        return {}
    return _statuses(session, entity_name, {(r["id"], t.name): (r[workflow.field], t) for r in records
                                            for t in workflow.transitions_from(r[workflow.field])
                                            if t.approval is not None})


def _statuses(session, entity_name, wanted: dict) -> dict:
    """The approval status of each `{(record id, transition name): (state, transition)}`:
    one query for the approvals given on all the records."""
    if not wanted:
        return {}
    approvals = loom_table(session.storage.schema, "loom_approvals")
    given: dict = {}
    with session.storage.connect() as conn:
        rows = conn.execute(select(approvals.c.record_id, approvals.c.transition, approvals.c.from_state,
                                   approvals.c.actor_id).distinct().where(
            approvals.c.entity == entity_name, approvals.c.consumed.is_(False),
            approvals.c.record_id.in_(sorted({key[0] for key in wanted}))))
        for record_id, name, state, actor_id in rows:
            if wanted.get((record_id, name), (None,))[0] == state:
                given.setdefault((record_id, name), set()).add(actor_id)
    needed = {name: _needed(session, t.approval) for name, t in {t.name: t for _s, t in wanted.values()}.items()}
    return {key: _status(session, t, given.get(key, set()), needed[t.name]) for key, (_s, t) in wanted.items()}


def _status(session, transition, given: set, needed: int) -> dict:
    return {"role": transition.approval.role, "mode": transition.approval.mode, "approvals": len(given),
            "needed": needed, "approved_by_you": session.actor is not None and session.actor.id in given}


def approve(session, entity_name, record, field, transition, state, comment) -> tuple[int, dict | None]:
    """Record the caller's approval: (its id, the 202 body, or None when enough
    approvals are in to proceed)."""
    actor = session.actor  # holds the approving role: `_refusal` checked it
    approvals = loom_table(session.storage.schema, "loom_approvals")
    table = session.metadata().tables[entity_name]
    with session.storage.begin() as conn:
        # The record's row lock serialises approvals and transitions of the record, so an
        # approval counts only for the state the record is still in, and only once.
        now_in = select(table.c[field]).where(table.c.id == record["id"])
        if conn.dialect.name == "postgresql":
            now_in = now_in.with_for_update()
        now = conn.execute(now_in).scalar()
        if now != state:
            raise refusal(Conflict, "state_changed", f"{entity_name} {record['id']} left state {state!r} "
                           f"meanwhile; reload it and try again", state=now)
        mine = _approval_rows(approvals, entity_name, record["id"], transition.name, state)
        if conn.execute(select(approvals.c.id).where(mine, approvals.c.actor_id == actor.id)).first():
            raise refusal(Conflict, "already_approved", f"you already approved {transition.name!r} for this record",
                           transition=transition.name)
        approval_id = conn.execute(approvals.insert().returning(approvals.c.id).values(
            at=datetime.now(timezone.utc), entity=entity_name, record_id=record["id"], transition=transition.name,
            from_state=state, actor_id=actor.id, comment=comment, consumed=False)).scalar_one()
    status = _approval_status(session, entity_name, record, transition, state)
    if status["approvals"] >= status["needed"]:
        return approval_id, None
    return approval_id, {"status": "pending_approval", "approvals": status["approvals"],
                         "needed": status["needed"],
                         "record": session.records.answer(session.metadata().entity(entity_name), record)}


def withdraw(session, approval_id) -> None:
    approvals = loom_table(session.storage.schema, "loom_approvals")
    with session.storage.begin() as conn:
        conn.execute(approvals.delete().where(approvals.c.id == approval_id, approvals.c.consumed.is_(False)))
