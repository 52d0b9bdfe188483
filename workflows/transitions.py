"""Workflow transitions: the only way a record's state field changes.

A transition is checked in this order, and refused with the reason: it exists (404), it
leaves the record's current state (409), the caller's role may take it (403), a comment
is given where required (400), its guard holds and its required fields are filled (409),
and, if it needs approvals, the caller holds the approving role (403) and has not approved
it yet (409). The list of transitions states the same refusals, from the same function.
Then approvals, if the transition needs them (202 until enough people signed off), and
the write: state, transition log, approvals consumed and SLA timers, in one transaction.
The transition's actions run after commit through the job queue."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import and_, func, select

from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.problem_codes import problem
from engine.records.inputs import expected_version_of, stale_version
from engine.systables import loom_table
from engine.timefmt import iso_utc
from metadata.conditions import evaluate_condition, explain_condition, is_empty
from workflows import sla
from workflows.calendar import load_calendar

MAX_COMMENT = 4000
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters (tab, newlines are fine)


def _workflow(session, entity_name):
    compiled = session.metadata()
    entity = compiled.entity(entity_name)
    if entity is None:
        raise NotFound(f"no entity {entity_name!r}", code="entity_not_found")
    workflow = compiled.package.workflow_for(entity_name)
    if workflow is None:
        raise NotFound(f"{entity_name} has no workflow", code="no_workflow")
    return entity, workflow


def _role_ok(actor, transition) -> bool:
    return actor is None or transition.allows_role(actor.role)


def _blockers(transition, record, entity) -> list:
    """Why the guard or required fields stop the transition now (empty: nothing does): a
    `required_for_step` problem per empty field, a `guard_failed` one per decisive leaf."""
    details = [problem(name, "required_for_step", f"must be filled before {transition.name}",
                       transition=transition.name)
               for name in transition.requires if is_empty(record.get(name))]
    if transition.guard and not evaluate_condition(transition.guard, record, entity):
        leaves = explain_condition(transition.guard, record, entity)
        # The false leaves say why; a guard false under "not" has only true ones: name those.
        decisive = [leaf for leaf in leaves if not leaf["passed"]] or leaves
        details += [problem(leaf["field"], "guard_failed",
                            f"guard: {leaf['field']} {leaf['op']} {leaf.get('value', '')!r} "
                            f"is {'true' if leaf['passed'] else 'false'}"
                            f"{' where it must not be' if leaf['passed'] else ''} (it is {leaf['actual']!r})",
                            op=leaf["op"], value=leaf.get("value"), actual=leaf["actual"],
                            passed=leaf["passed"])
                    for leaf in decisive]
    return details


def _refusal(session, transition, blockers, approval_status):
    """Why the caller cannot take `transition` now, as the error `perform` answers (after
    the role and comment checks), or None. `approval_status`: `_approval_status` when
    the transition needs approvals."""
    if blockers:
        return Conflict(f"{transition.name!r} is not possible now", details=blockers, code="transition_blocked")
    approval, actor = transition.approval, session.actor
    if approval is None or actor is None:
        return None
    if actor.role != approval.role:
        return _refused(Forbidden, "approver_role",
                        f"{transition.name!r} needs approval by the role {approval.role} "
                        f"({approval_status['approvals']} of {approval_status['needed']} given); as "
                        f"{actor.role} you cannot give it: ask a user with the role {approval.role}",
                        transition=transition.name, role=approval.role, given=approval_status["approvals"],
                        needed=approval_status["needed"], your_role=actor.role)
    if approval_status["approved_by_you"]:
        more = approval_status["needed"] - approval_status["approvals"]
        return _refused(Conflict, "already_approved",
                        f"you already approved {transition.name!r} for this record; it needs {more} more",
                        transition=transition.name)
    return None


def _refused(error, code, message, **details):
    """A refusal of the step as an error whose one problem carries its code and details."""
    return error(message, code=code, details=[problem("", code, message, **details)])


def _approval_status_of(session, entity_name, record, transition, state):
    if transition.approval is None or session.actor is None:
        return None
    return _approval_status(session, entity_name, record, transition, state)


def available(session, entity_name, record_id) -> dict:
    """The transitions of the caller's role that leave the record's state: `allowed` with
    the `outcome` of taking it (`done`, or `pending_approval` when the caller's approval
    is recorded and more are needed), or `refused` with the status, code and message
    that taking it answers now."""
    record = session.records.get_clear(entity_name, record_id)  # guards judge the values, not their masks
    return available_for(session, entity_name, [record])[record["id"]]


def available_for(session, entity_name, records) -> dict:
    """`available` of each of `records` (as the record service read them for the caller),
    by id: the approvals given on all of them are read in one query, not one per record."""
    entity, workflow = _workflow(session, entity_name)
    statuses = _approval_statuses(session, entity_name, records, workflow)
    out = {}
    for record in records:
        state = record[workflow.field]
        items = []
        for transition in workflow.transitions_from(state):
            if not _role_ok(session.actor, transition):
                continue
            blockers = _blockers(transition, record, entity)
            status = statuses.get((record["id"], transition.name))
            refusal = _refusal(session, transition, blockers, status)
            item = {"name": transition.name, "label": transition.label, "to": transition.to,
                    "allowed": refusal is None, "blocked_by": [b.to_dict() for b in blockers],
                    "comment": transition.comment}
            if refusal is None:
                pending = status is not None and status["approvals"] + 1 < status["needed"]
                item["outcome"] = "pending_approval" if pending else "done"
            else:
                item["refused"] = {"status": refusal.status, "code": refusal.code, "message": refusal.message,
                                   "details": refusal.details}
            if status is not None:
                item["approval"] = {**status, "you_may_approve": session.actor.role == transition.approval.role
                                    and not status["approved_by_you"]}
            items.append(item)
        out[record["id"]] = {"state": state, "workflow": workflow.name, "items": items}
    return out


def perform(session, entity_name, record_id, name, comment=None, expected_version=None,
            effect_key=None, values=None) -> tuple[int, dict]:
    """Take transition `name`; returns (HTTP status, body): 200 done, 202 awaiting approvals.
    `values` fills fields the step needs (as an update's body): the step is checked on the
    record with them, and they are written with the step, in its transaction, or not at all."""
    record = session.records.get_clear(entity_name, record_id)  # guards judge the values, not their masks
    if values:
        record = session.records.filled(entity_name, record, values)
    entity, workflow = _workflow(session, entity_name)
    transition = workflow.transition(name) if isinstance(name, str) else None
    if transition is None:
        raise NotFound(f"workflow {workflow.name} has no transition {name!r}", code="unknown_transition")
    state = record[workflow.field]
    if not transition.leaves(state):
        possible = ", ".join(t.name for t in workflow.transitions_from(state)) or "none"
        raise _refused(Conflict, "illegal_transition",
                       f"{name!r} cannot be taken from state {state!r}; from {state!r}: {possible}",
                       transition=name, state=state)
    if not _role_ok(session.actor, transition):
        raise _refused(Forbidden, "role_not_allowed",
                       f"{name!r} is for the roles {', '.join(transition.roles)}; you are {session.actor.role}",
                       transition=name, roles=list(transition.roles), role=session.actor.role)
    comment = _comment(transition, comment)
    refusal = _refusal(session, transition, _blockers(transition, record, entity),
                       _approval_status_of(session, entity_name, record, transition, state))
    if refusal is not None:
        raise refusal
    approval = None
    if transition.approval and session.actor is not None:
        if values:  # an approval is of the record as it is: nothing would write the values
            raise _refused(ValidationFailed, "values_with_approval",
                           f"{name!r} needs approvals: save the fields first, then approve", transition=name)
        _check_version(entity_name, record, expected_version)  # a stale approval counts for nothing
        approval, pending = _approve(session, entity_name, record, workflow.field, transition, state, comment)
        if pending is not None:
            return 202, pending
    try:
        record = _write(session, entity_name, record, workflow, transition, state, comment,
                        expected_version, effect_key, values)
    except Exception:
        if approval is not None:  # refused after all: the last approval was not given either
            _withdraw(session, approval)
        raise
    return 200, {"status": "done", "record": record}


def _check_version(entity_name, record, expected_version) -> None:
    expected = expected_version_of(None, expected_version)
    if expected is not None and expected != record["version"]:
        raise stale_version(entity_name, record["id"], record["version"], expected)


def _comment(transition, comment):
    if comment is not None and not isinstance(comment, str):
        raise ValidationFailed("comment must be text", details=[problem("comment", "not_text", "must be text")])
    comment = (comment or "").strip() or None
    if transition.comment == "required" and comment is None:
        raise ValidationFailed(f"{transition.name!r} needs a comment", details=[
            problem("comment", "comment_required", "is required", transition=transition.name)])
    if comment and len(comment) > MAX_COMMENT:
        raise ValidationFailed("the comment is too long", details=[
            problem("comment", "comment_too_long", f"at most {MAX_COMMENT} characters", max=MAX_COMMENT)])
    if comment and (UNSTORABLE.search(comment) or _invalid_unicode(comment)):
        raise ValidationFailed("the comment holds characters that cannot be stored", details=[
            problem("comment", "unstorable_text", "control characters or invalid Unicode")])
    return comment


def _invalid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def _write(session, entity_name, record, workflow, transition, state, comment, expected_version, effect_key,
           values=None):
    leaving, entering = workflow.state(state), workflow.state(transition.to)
    actions = list((leaving.on_leave if leaving else ())) + list(transition.actions) + list(entering.on_enter)
    extra = {"workflow": workflow.name, "transition": transition.name, "from": state,
             "to": transition.to, "comment": comment, "actions": actions}
    schema = session.storage.schema
    calendar = load_calendar(session)
    actor_id = session.actor.id if session.actor else None

    def on_write(conn, before, after, at):
        if before[workflow.field] != state:  # another transition got there first
            raise _refused(Conflict, "state_changed", f"{entity_name} {record['id']} moved to "
                           f"{before[workflow.field]!r} meanwhile; reload it and try again",
                           state=before[workflow.field])
        conn.execute(loom_table(schema, "loom_transitions").insert().values(
            at=at, entity=entity_name, record_id=record["id"], workflow=workflow.name,
            transition=transition.name, from_state=state, to_state=transition.to,
            actor_id=actor_id, comment=comment))
        approvals = loom_table(schema, "loom_approvals")
        conn.execute(approvals.update().where(  # every approval given in the state it leaves
            approvals.c.entity == entity_name, approvals.c.record_id == record["id"],
            approvals.c.consumed.is_(False)).values(consumed=True))
        sla.stop_timers(conn, schema, entity_name, record["id"], state, at)
        sla.start_timers(conn, schema, workflow, entity_name, record["id"], transition.to, at, calendar)

    return session.records.write_state(entity_name, record["id"], transition.to, expected_version,
                                       extra, on_write, effect_key, values)


# -- approvals ---------------------------------------------------------------------------

def _approval_rows(approvals, entity_name, record_id, transition_name, state):
    return and_(approvals.c.entity == entity_name, approvals.c.record_id == record_id,
                approvals.c.transition == transition_name, approvals.c.from_state == state,
                approvals.c.consumed.is_(False))


def _needed(session, approval) -> int:
    if approval.mode == "any":
        return approval.count
    users = loom_table(session.storage.schema, "loom_users")
    with session.storage.connect() as conn:
        holders = conn.execute(select(func.count()).where(users.c.role == approval.role, users.c.active)).scalar_one()
    return max(holders, 1)


def _approval_status(session, entity_name, record, transition, state) -> dict:
    """The approvals given so far for taking `transition` from `state` on `record`."""
    return _statuses(session, entity_name, {(record["id"], transition.name): (state, transition)})[
        (record["id"], transition.name)]


def _approval_statuses(session, entity_name, records, workflow) -> dict:
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


def _approve(session, entity_name, record, field, transition, state, comment) -> tuple[int, dict | None]:
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
            raise _refused(Conflict, "state_changed", f"{entity_name} {record['id']} left state {state!r} "
                           f"meanwhile; reload it and try again", state=now)
        mine = _approval_rows(approvals, entity_name, record["id"], transition.name, state)
        if conn.execute(select(approvals.c.id).where(mine, approvals.c.actor_id == actor.id)).first():
            raise _refused(Conflict, "already_approved", f"you already approved {transition.name!r} for this record",
                           transition=transition.name)
        approval_id = conn.execute(approvals.insert().returning(approvals.c.id).values(
            at=datetime.now(timezone.utc), entity=entity_name, record_id=record["id"], transition=transition.name,
            from_state=state, actor_id=actor.id, comment=comment, consumed=False)).scalar_one()
    status = _approval_status(session, entity_name, record, transition, state)
    if status["approvals"] >= status["needed"]:
        return approval_id, None
    return approval_id, {"status": "pending_approval", "approvals": status["approvals"],
                         "needed": status["needed"], "record": record}


def _withdraw(session, approval_id) -> None:
    approvals = loom_table(session.storage.schema, "loom_approvals")
    with session.storage.begin() as conn:
        conn.execute(approvals.delete().where(approvals.c.id == approval_id, approvals.c.consumed.is_(False)))


def history(session, entity_name, record_id) -> list[dict]:
    """Every transition the record took, oldest first."""
    session.records.get(entity_name, record_id)
    log = loom_table(session.storage.schema, "loom_transitions")
    with session.storage.connect() as conn:
        rows = conn.execute(select(log).where(log.c.entity == entity_name, log.c.record_id == int(record_id))
                            .order_by(log.c.id)).mappings().all()
    return [{"at": iso_utc(r["at"]), "transition": r["transition"], "from": r["from_state"],
             "to": r["to_state"], "actor_id": r["actor_id"], "comment": r["comment"]} for r in rows]
