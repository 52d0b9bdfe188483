"""`transition`: `{"name": "start", "comment": "…"}` takes a workflow transition on the
triggering record through `session.transitions` (so guards, required fields and the
transition log apply as for a person). A retried job whose transition already happened
(its effect key is recorded) is skipped rather than refused."""
from __future__ import annotations

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec
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
    rid = record_id(context, NAME)
    with engine_errors(NAME):
        return context.session.transitions.take(context.entity, rid, params["name"], comment=params.get("comment"),
                                                effect_key=context.effect_key or None)


PARAMS = (ActionParam("name", "text", required=True), ActionParam("comment", "text"))

SPEC = ActionSpec(run=run, check=check, description="Take a workflow transition on the record.", params=PARAMS)
