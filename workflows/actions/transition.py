"""`transition`: `{"name": "start", "comment": "…"}` takes a workflow transition on the
triggering record, through `workflows.transitions.perform` (so guards, required fields
and the transition log apply as for a person). A retried job whose transition already
happened (its effect key is recorded) is skipped rather than refused."""
from __future__ import annotations

from engine import effects
from engine.actions import ActionFailed, ActionSpec
from workflows.actions.common import engine_errors, name_problem, params_problems, record_id

NAME = "transition"
MAX_COMMENT = 4000


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, ("name",), ("comment",))
    problems += name_problem(NAME, "name", params.get("name", "name"))
    comment = params.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        problems.append(f"{NAME}: comment must be text of at most {MAX_COMMENT} characters")
    return problems


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    from workflows.transitions import perform

    session, key, name = context.session, context.effect_key or None, params["name"]
    rid = record_id(context, NAME)
    if key and effects.already(session.storage, key):
        return {"transition": name, "performed": False, "skipped": "already done for this event"}
    with engine_errors(NAME):
        status, body = perform(session, context.entity, rid, name, comment=params.get("comment"),
                               effect_key=key)
    if status == 202:
        return {"transition": name, "performed": False, "awaiting_approval": True}
    record = body.get("record") if isinstance(body, dict) else None
    if record is None:
        return {"transition": name, "performed": False, "skipped": "already done for this event"}
    workflow = session.metadata().package.workflow_for(context.entity)
    return {"transition": name, "performed": True,
            "state": record.get(workflow.field) if workflow else None}


SPEC = ActionSpec(run=run, check=check, description="Take a workflow transition on the record.")
