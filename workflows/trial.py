"""A transition of a workflow that is not published yet (a designer's draft), tried on a
real record without taking it: each check the engine makes when the step is taken
(leaves the record's state, the role may take it, a comment where required, the
required fields filled, the guard holds — every leaf of it with what the record holds —
and the approvals it needs), the actions that would run (on leaving, of the
transition, on entering) and the values the record would then hold. Nothing is written:
the record, its history, the transition log and the queue stay as they are."""
from __future__ import annotations

from engine.errors import NotFound
from engine.roster import People
from metadata.conditions import evaluate_condition, explain_condition, is_empty

SET_FIELD = "set_field"  # the built-in action whose effect on the record is known before it runs


def try_transition(session, entity, workflow, record_id, name: str, role: str, comment: str | None = None) -> dict:
    """What taking transition `name` of `workflow` (a Workflow over `entity`, an Entity
    model — a draft's, not necessarily published) on the record would do, for a user of
    `role` giving `comment`: `checks` (each with `passed`), `guard` (its leaves explained),
    `approval`, `actions`, `values` (field: [now, then]) and `outcome` (`done`,
    `pending_approval` or `refused`)."""
    transition = workflow.transition(name)
    if transition is None:
        raise NotFound(f"workflow {workflow.name} has no transition {name!r}", code="unknown_transition")
    record = session.records.get(workflow.entity, record_id)
    state = record.get(workflow.field)
    comment = (comment or "").strip()
    checks = [{"check": "state", "passed": transition.leaves(state), "state": state},
              {"check": "role", "passed": transition.allows_role(role), "role": role, "roles": list(transition.roles)},
              {"check": "comment", "passed": transition.comment != "required" or bool(comment),
               "mode": transition.comment}]
    checks += [{"check": "required", "passed": not is_empty(record.get(f)), "field": f, "value": record.get(f)}
               for f in transition.requires]
    guard = None
    if transition.guard:
        guard = {"condition": transition.guard, "passed": evaluate_condition(transition.guard, record, entity),
                 "leaves": explain_condition(transition.guard, record, entity)}
        checks.append({"check": "guard", "passed": guard["passed"]})
    approval = _approval(session, transition.approval)
    if approval is not None:  # as `perform`: only a holder of the approving role may take it
        checks.append({"check": "approver", "passed": role == approval["role"], "role": role,
                       "roles": [approval["role"]]})
    leaving, entering = workflow.state(state), workflow.state(transition.to)
    actions = ([{**a, "when": "leave"} for a in (leaving.on_leave if leaving else ())]
               + [{**a, "when": "transition"} for a in transition.actions]
               + [{**a, "when": "enter"} for a in (entering.on_enter if entering else ())])
    values = {workflow.field: [state, transition.to]}
    for action in actions:
        params = action.get("params") or {}
        if action["action"] == SET_FIELD and isinstance(params.get("field"), str):
            values[params["field"]] = [record.get(params["field"]), params.get("value")]
    passed = all(c["passed"] for c in checks)
    outcome = "refused" if not passed else ("pending_approval" if approval and approval["needed"] > 1 else "done")
    return {"record": record, "workflow": workflow.name, "transition": transition.name, "from": state,
            "to": transition.to, "checks": checks, "guard": guard, "approval": approval, "actions": actions,
            "values": values, "outcome": outcome}


def _approval(session, approval) -> dict | None:
    """The sign-offs the transition needs: `count` holders of the role, or every active
    holder (`all`) — how many that is now."""
    if approval is None:
        return None
    holders = len(People(session.storage).active(approval.role))
    needed = approval.count if approval.mode == "any" else max(holders, 1)
    return {"role": approval.role, "mode": approval.mode, "count": approval.count, "needed": needed,
            "holders": holders}
