"""Workflow transitions: the only way a record's state field changes.

A transition is checked in this order, and refused with the reason: it exists (404), it
leaves the record's current state (409), the caller's role may take it (403), a comment
is given where required (400), its guard holds and its required fields are filled (409),
and, if it needs approvals, the caller holds the approving role (403) and has not approved
it yet (409). `checks` gives every verdict at once (a trial shows them all); the list of
transitions states the same refusals, from the same functions.
Then approvals, if the transition needs them (202 until enough people signed off), and
the write: state, transition log, approvals consumed and SLA timers, in one transaction.
The transition's actions run after commit through the job queue."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from engine.errors import Conflict, Forbidden, LoomError, NotFound, ValidationFailed
from engine.problem_codes import problem, refusal
from engine.records.inputs import expected_version_of, stale_version
from engine.systables import loom_table
from engine.timefmt import iso_utc
from metadata.conditions import evaluate_condition, explain_condition, is_empty
from workflows import sla
from workflows.approvals import approve, approval_statuses, status_of, withdraw
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
    return actor is None or any(transition.allows_role(role) for role in actor.all_roles)


def _blockers(transition, record, entity, shown: dict) -> list:
    """Why the guard or required fields stop the transition now (empty: nothing does): a
    `required_for_step` problem per empty field, a `guard_failed` one per decisive leaf.
    The guard judges `record` (the values); what it found is said as `shown` has it (the
    record as the caller may read it: masked, or left out where their roles hide it)."""
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
                            f"{' where it must not be' if leaf['passed'] else ''}"
                            + (f" (it is {shown[leaf['field']]!r})" if leaf["field"] in shown else ""),
                            op=leaf["op"], value=leaf.get("value"), passed=leaf["passed"],
                            **({"actual": shown[leaf["field"]]} if leaf["field"] in shown else {}))
                    for leaf in decisive]
    return details


def _refusal(session, transition, blockers, approval_status):
    """Why the caller cannot take `transition` now, as the error `perform` answers (after
    the role and comment checks), or None. `approval_status`: `approvals.status_of` when
    the transition needs approvals."""
    return _blocked(transition, blockers) or _approver_refusal(session, transition, approval_status)


def _blocked(transition, blockers):
    if blockers:
        return Conflict(f"{transition.name!r} is not possible now", details=blockers, code="transition_blocked")
    return None


def _approver_refusal(session, transition, approval_status):
    """The caller may not give the approval the transition needs (None: it may, or none is needed)."""
    approval, actor = transition.approval, session.actor
    if approval is None or actor is None:
        return None
    if not actor.holds(approval.role):
        return refusal(Forbidden, "approver_role",
                        f"{transition.name!r} needs approval by the role {approval.role} "
                        f"({approval_status['approvals']} of {approval_status['needed']} given); as "
                        f"{actor.role} you cannot give it: ask a user with the role {approval.role}",
                        transition=transition.name, role=approval.role, given=approval_status["approvals"],
                        needed=approval_status["needed"], your_role=actor.role)
    if approval_status["approved_by_you"]:
        more = approval_status["needed"] - approval_status["approvals"]
        return refusal(Conflict, "already_approved",
                        f"you already approved {transition.name!r} for this record; it needs {more} more",
                        transition=transition.name)
    return None


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
    statuses = approval_statuses(session, entity_name, records, workflow)
    out = {}
    for record in records:
        state = record[workflow.field]
        items = []
        for transition in workflow.transitions_from(state):
            if not _role_ok(session.actor, transition):
                continue
            blockers = _blockers(transition, record, entity, session.records.answer(entity, record))
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
                item["approval"] = {**status, "you_may_approve": session.actor.holds(transition.approval.role)
                                    and not status["approved_by_you"]}
            items.append(item)
        out[record["id"]] = {"state": state, "workflow": workflow.name, "items": items}
    return out


@dataclass(frozen=True)
class Check:
    """One check made before a transition is taken: `state` (it leaves the record's state),
    `role` (the caller's role may take it), `comment` (given where required, storable),
    `fields` (its required fields are filled and its guard holds) or `approval` (the
    caller may give the approval it needs); `refusal` is the error `perform` answers when
    it is the first check to fail (None: it passed)."""

    name: str
    refusal: LoomError | None = None

    @property
    def passed(self) -> bool:
        return self.refusal is None


def transition_of(session, entity_name, name):
    """(the entity, its workflow, the transition `name`): NotFound (`unknown_transition`)
    when the workflow has no such transition."""
    entity, workflow = _workflow(session, entity_name)
    transition = workflow.transition(name) if isinstance(name, str) else None
    if transition is None:
        raise NotFound(f"workflow {workflow.name} has no transition {name!r}", code="unknown_transition")
    return entity, workflow, transition


def checks(session, entity, workflow, transition, record, comment=None) -> list[Check]:
    """Every check of taking `transition` on `record` (as the caller reads it) now, in the
    order `perform` makes them; `perform` answers the first refusal."""
    state = record[workflow.field]
    status = status_of(session, entity.name, record, transition, state)
    return [Check("state", _state_refusal(workflow, transition, state)),
            Check("role", _role_refusal(session.actor, transition)),
            Check("comment", _comment_refusal(transition, comment)),
            Check("fields", _blocked(transition, _blockers(transition, record, entity,
                                                           session.records.answer(entity, record)))),
            Check("approval", _approver_refusal(session, transition, status))]


def approval_status(session, entity_name, record, transition) -> dict | None:
    """The approvals given so far for taking `transition` on `record` from its state, and
    how many it needs (None when it needs none, or nobody acts)."""
    state = record[_workflow(session, entity_name)[1].field]
    return status_of(session, entity_name, record, transition, state)


def _state_refusal(workflow, transition, state):
    if transition.leaves(state):
        return None
    possible = ", ".join(t.name for t in workflow.transitions_from(state)) or "none"
    return refusal(Conflict, "illegal_transition",
                    f"{transition.name!r} cannot be taken from state {state!r}; from {state!r}: {possible}",
                    transition=transition.name, state=state)


def _role_refusal(actor, transition):
    if _role_ok(actor, transition):
        return None
    return refusal(Forbidden, "role_not_allowed",
                    f"{transition.name!r} is for the roles {', '.join(transition.roles)}; you are {actor.role}",
                    transition=transition.name, roles=list(transition.roles), role=actor.role)


def perform(session, entity_name, record_id, name, comment=None, expected_version=None,
            effect_key=None, values=None) -> tuple[int, dict]:
    """Take transition `name`; returns (HTTP status, body): 200 done, 202 awaiting approvals.
    `values` fills fields the step needs (as an update's body): the step is checked on the
    record with them, and they are written with the step, in its transaction, or not at all."""
    record = session.records.get_clear(entity_name, record_id)  # guards judge the values, not their masks
    if values:
        record = session.records.filled(entity_name, record, values)
    entity, workflow, transition = transition_of(session, entity_name, name)
    state = record[workflow.field]
    for check in checks(session, entity, workflow, transition, record, comment):
        if check.refusal is not None:
            raise check.refusal
    comment = _stored_comment(comment)
    approval = None
    if transition.approval and session.actor is not None:
        if values:  # an approval is of the record as it is: nothing would write the values
            raise refusal(ValidationFailed, "values_with_approval",
                           f"{name!r} needs approvals: save the fields first, then approve", transition=name)
        _check_version(entity_name, record, expected_version)  # a stale approval counts for nothing
        approval, pending = approve(session, entity_name, record, workflow.field, transition, state, comment)
        if pending is not None:
            return 202, pending
    try:
        record = _write(session, entity_name, record, workflow, transition, state, comment,
                        expected_version, effect_key, values)
    except Exception:
        if approval is not None:  # refused after all: the last approval was not given either
            withdraw(session, approval)
        raise
    return 200, {"status": "done", "record": record}


def _check_version(entity_name, record, expected_version) -> None:
    expected = expected_version_of(None, expected_version)
    if expected is not None and expected != record["version"]:
        raise stale_version(entity_name, record["id"], record["version"], expected)


def _comment_refusal(transition, comment):
    """Why `comment` cannot go with `transition` (None: it can)."""
    if comment is not None and not isinstance(comment, str):
        return ValidationFailed("comment must be text", details=[problem("comment", "not_text", "must be text")])
    comment = _stored_comment(comment)
    if transition.comment == "required" and comment is None:
        return ValidationFailed(f"{transition.name!r} needs a comment", details=[
            problem("comment", "comment_required", "is required", transition=transition.name)])
    if comment and len(comment) > MAX_COMMENT:
        return ValidationFailed("the comment is too long", details=[
            problem("comment", "comment_too_long", f"at most {MAX_COMMENT} characters", max=MAX_COMMENT)])
    if comment and (UNSTORABLE.search(comment) or _invalid_unicode(comment)):
        return ValidationFailed("the comment holds characters that cannot be stored", details=[
            problem("comment", "unstorable_text", "control characters or invalid Unicode")])
    return None


def _stored_comment(comment):
    """The comment as stored: stripped, None when empty (checked by `_comment_refusal`)."""
    return (comment or "").strip() or None


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
            raise refusal(Conflict, "state_changed", f"{entity_name} {record['id']} moved to "
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


def history(session, entity_name, record_id) -> list[dict]:
    """Every transition the record took, oldest first."""
    session.records.get(entity_name, record_id)
    log = loom_table(session.storage.schema, "loom_transitions")
    with session.storage.connect() as conn:
        rows = conn.execute(select(log).where(log.c.entity == entity_name, log.c.record_id == int(record_id))
                            .order_by(log.c.id)).mappings().all()
    return [{"at": iso_utc(r["at"]), "transition": r["transition"], "from": r["from_state"],
             "to": r["to_state"], "actor_id": r["actor_id"], "comment": r["comment"]} for r in rows]
