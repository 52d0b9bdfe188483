"""`create_record`: `{"entity": name, "values": {...}}` creates a record of any entity.

Each value may be `{"$record": "field"}` (including `"id"`, to link the new record to
the triggering one) or `{"$now": true}`."""
from __future__ import annotations

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec
from workflows.actions.common import (
    NAME as NAME_RE, base_type, engine_errors, name_problem, params_problems, resolve, value_problem,
)

NAME = "create_record"
MAX_VALUES = 200


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, ("entity",), ("values",))
    problems += name_problem(NAME, "entity", params.get("entity", "entity"))
    values = params.get("values", {})
    if not isinstance(values, dict) or len(values) > MAX_VALUES:
        problems.append(f"{NAME}: values must be an object of at most {MAX_VALUES} field values")
        return problems
    for key, value in values.items():
        if not isinstance(key, str) or not NAME_RE.fullmatch(key):
            problems.append(f"{NAME}: values: {str(key)[:40]!r} is not a field name")
        else:
            problems += value_problem(NAME, f"values.{key}", value)
    return problems


def resolve_values(action: str, metadata, entity_name: str, values: dict, record: dict) -> dict:
    """The values with their expressions worked out against the triggering record
    (`metadata`: what has `entity(name)`, a plugin session's metadata or a package)."""
    entity = metadata.entity(entity_name)
    if entity is None:
        raise ActionFailed(f"{action}: there is no entity {entity_name!r}")
    out = {}
    for key, value in values.items():
        field = entity.field(key)
        try:
            out[key] = resolve(value, record, base_type(field) if field else None)
        except ActionFailed as exc:
            raise ActionFailed(f"{action}: values.{key}: {exc}") from None
    return out


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, entity_name = context.session, params["entity"]
    values = resolve_values(NAME, session.metadata, entity_name, params.get("values", {}), context.record or {})
    with engine_errors(NAME):
        created = session.records.create(entity_name, values, effect_key=context.effect_key or None)
    if created is None:
        return {"entity": entity_name, "created": False, "skipped": "already done for this event"}
    return {"entity": entity_name, "created": True, "id": created["id"]}


PARAMS = (ActionParam("entity", "entity", required=True), ActionParam("values", "pairs"))

SPEC = ActionSpec(run=run, check=check, description="Create a record, linked to or copied from the triggering one.",
                  params=PARAMS)
