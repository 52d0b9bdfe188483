"""`set_field`: `{"field": name, "value": v}` sets a field of the triggering record.

`value` may be `{"$record": "other_field"}` (copy a field of the record as the event
saw it) or `{"$now": true}` (the current UTC date/time; today for a date field)."""
from __future__ import annotations

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec, masked_value
from workflows.actions.common import (
    base_type, copies_record, engine_errors, field_of, name_problem, params_problems, record_id, resolve,
    value_problem,
)

NAME = "set_field"


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, ("field", "value"))
    problems += name_problem(NAME, "field", params.get("field", "field"))
    problems += value_problem(NAME, "value", params.get("value"))
    return problems


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, entity_name, field_name = context.session, context.entity, params["field"]
    field = field_of(session.metadata, NAME, entity_name, field_name)
    rid = record_id(context, NAME)
    record = (context.record or {}) if copies_record(params["value"]) else {}  # no read for a constant
    try:
        value = resolve(params["value"], record, base_type(field))
    except ActionFailed as exc:
        raise ActionFailed(f"{NAME}: {exc}") from None
    with engine_errors(NAME):
        written = session.records.update(entity_name, rid, {field_name: value},
                                         effect_key=context.effect_key or None)
    if written is None:
        return {"field": field_name, "updated": False, "skipped": "already done for this event"}
    value = written.get(field_name)
    if field.encrypted:  # the outcome is kept on the rule trace: an encrypted value stays out of it
        value = masked_value(field, value)
    return {"field": field_name, "value": value, "updated": True}


PARAMS = (ActionParam("field", "field", required=True), ActionParam("value", "value", required=True))

SPEC = ActionSpec(run=run, check=check, description="Set a field of the record.", params=PARAMS)
