"""`assign`: choose an active user and put their id in an integer field of the record.

`{"field": "assignee_id", "strategy": "round_robin" | "least_loaded" | "territory" |
"segment", "role": "member", "users": [emails], "territory_field": "city",
"segment_field": "tier", "reassign": false}`. A record whose field already holds a
value is skipped unless `reassign` is true."""
from __future__ import annotations

from engine.plugin_api import ROLES, ActionFailed, ActionParam, ActionSpec
from workflows.actions import people
from workflows.actions.common import (
    engine_errors, field_of, name_problem, params_problems, record_id,
)

NAME = "assign"
OPTIONAL = ("role", "users", "territory_field", "segment_field", "reassign")


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, ("field", "strategy"), OPTIONAL)
    if not params:
        return problems
    problems += name_problem(NAME, "field", params.get("field", "field"))
    if "strategy" in params:
        problems += people.strategy_problems(NAME, params, params["strategy"])
    problems += people.role_problems(NAME, params)
    if not isinstance(params.get("reassign", False), bool):
        problems.append(f"{NAME}: reassign must be true or false")
    return problems


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, entity_name, field_name = context.session, context.entity, params["field"]
    strategy, key = params["strategy"], context.effect_key or None
    field_of(session.metadata, NAME, entity_name, field_name, ("integer",))
    rid = record_id(context, NAME)
    if key and session.effects.done(key):
        return {"skipped": "already done for this event"}
    with engine_errors(NAME):
        current = session.records.get(entity_name, rid)
    if current.get(field_name) is not None and not params.get("reassign", False):
        return {"skipped": f"{field_name} is already assigned (user {current[field_name]})"}
    record = {**(context.record or {}), **current}
    person, detail = people.choose(session, NAME, strategy, entity=entity_name, field=field_name,
                                   record=record, params=params, holder=key)
    with engine_errors(NAME):
        written = session.records.update(entity_name, rid, {field_name: person.id}, effect_key=key)
    if strategy == "round_robin":
        session.counters.turns(people.turns_name(entity_name, field_name)).release(key)
    return {"strategy": strategy, "field": field_name, "user_id": person.id, "email": person.email,
            "updated": written is not None, **detail}


PARAMS = (ActionParam("field", "field", required=True),
          ActionParam("strategy", "choice", ("round_robin", "least_loaded", "territory", "segment"), True),
          ActionParam("role", "choice", ("",) + tuple(ROLES)), ActionParam("users", "lines"),
          ActionParam("territory_field", "field"), ActionParam("segment_field", "field"),
          ActionParam("reassign", "bool"))

SPEC = ActionSpec(run=run, check=check,
                  description="Assign the record to a user: round robin, least loaded, by territory or by segment.",
                  params=PARAMS)
