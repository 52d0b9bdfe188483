"""`create_plan`: the service process — build a service plan (tasks, people, timing)
from the request type and the available people.

    {"entity": "service_task", "link_field": "request", "type_field": "request_type",
     "plans": {"complaint": [{"title": "Call the customer back", "due_in": "4h",
                              "role": "member"}, ...],
               "*": [...the default plan...]},
     "assign": "least_loaded", "assignee_field": "assignee_id", "due_field": "due_at",
     "title_field": "title"}

One task per step of the plan for the request's type (else "*"), linked to the request,
assigned by the strategy among the users of the step's role (least loaded counts open
tasks), due `due_in` from now in the tenant's business hours (`session.calendar`).
Each step writes with
its own effect key (`<key>/<step>`), so a retried job creates only the missing tasks."""
from __future__ import annotations

from datetime import datetime, timezone

from engine.plugin_api import ActionFailed, ActionSpec
from metadata.workflow import duration_minutes
from workflows.actions import people
from workflows.actions.common import (
    base_type, duration_problem, engine_errors, field_of, name_problem,
    params_problems, record_id, sub_key, value_problem,
)
from workflows.actions.create_record import resolve_values

NAME = "create_plan"
REQUIRED = ("entity", "link_field", "type_field", "plans")
OPTIONAL = ("assign", "assignee_field", "due_field", "title_field", "territory_field", "segment_field")
DEFAULTS = {"assign": "least_loaded", "assignee_field": "assignee_id", "due_field": "due_at",
            "title_field": "title"}
STEP_KEYS = {"title", "due_in", "role", "users", "values"}
MAX_STEPS = 50
MAX_TITLE = 200


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, REQUIRED, OPTIONAL)
    if not params:
        return problems
    for key in ("entity", "link_field", "type_field"):
        problems += name_problem(NAME, key, params.get(key, key))
    for key in ("assignee_field", "due_field", "title_field"):
        problems += name_problem(NAME, key, params.get(key, DEFAULTS[key]))
    problems += people.strategy_problems(NAME, params, params.get("assign", DEFAULTS["assign"]),
                                         "assign strategy")
    plans = params.get("plans")
    if not isinstance(plans, dict) or not plans:
        return problems + [f"{NAME}: plans must be an object of request type -> list of steps"]
    for type_value, steps in plans.items():
        if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
            problems.append(f"{NAME}: plans.{type_value} must be a list of 1 to {MAX_STEPS} steps")
            continue
        for index, step in enumerate(steps):
            problems += _step_problems(f"plans.{type_value}[{index}]", step)
    return problems


def _step_problems(where: str, step) -> list[str]:
    if not isinstance(step, dict):
        return [f"{NAME}: {where} must be an object like {{\"title\": ..., \"due_in\": \"4h\"}}"]
    problems = [f"{NAME}: {where}: unknown key {k!r}" for k in sorted(set(step) - STEP_KEYS, key=str)]
    title = step.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        problems.append(f"{NAME}: {where}.title must be text of 1 to {MAX_TITLE} characters")
    if "due_in" in step:
        problems += duration_problem(NAME, f"{where}.due_in", step["due_in"])
    problems += people.role_problems(NAME, step, f"{where}.")
    values = step.get("values", {})
    if not isinstance(values, dict):
        problems.append(f"{NAME}: {where}.values must be an object of field values")
    else:
        for key, value in values.items():
            problems += name_problem(NAME, f"{where}.values key", key)
            problems += value_problem(NAME, f"{where}.values.{key}", value)
    return problems


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    p = {**DEFAULTS, **params}
    session, task_entity = context.session, p["entity"]
    record = context.record or {}
    rid = record_id(context, NAME)
    metadata = session.metadata
    field_of(metadata, NAME, task_entity, p["link_field"])
    field_of(metadata, NAME, task_entity, p["assignee_field"], ("integer",))
    due_field = field_of(metadata, NAME, task_entity, p["due_field"], ("datetime", "date"))
    field_of(metadata, NAME, task_entity, p["title_field"])
    request_type = record.get(p["type_field"])
    plan_name = request_type if isinstance(request_type, str) and request_type in p["plans"] else "*"
    steps = p["plans"].get(plan_name)
    if steps is None:
        raise ActionFailed(f"{NAME}: no plan for {p['type_field']} {request_type!r} and no default '*' plan")
    start = datetime.now(timezone.utc)
    tasks = []
    for index, step in enumerate(steps):
        tasks.append(_step(context, p, rid, index, step, start, base_type(due_field)))
    return {"plan": plan_name, "entity": task_entity, "clock": "business hours", "tasks": tasks,
            "created": sum(1 for t in tasks if t.get("created"))}


def _step(context, p, rid, index, step, start, due_type) -> dict:
    session, key = context.session, sub_key(context.effect_key, index)
    if key and session.effects.done(key):
        return {"step": index, "title": step["title"], "created": False, "skipped": "already created"}
    record = context.record or {}
    strategy = p["assign"]
    pool = {"role": step.get("role"), "users": step.get("users"),
            "territory_field": p.get("territory_field"), "segment_field": p.get("segment_field")}
    person, _ = people.choose(session, f"{NAME} step {index}", strategy, entity=p["entity"],
                              field=p["assignee_field"], record=record, params=pool, holder=key)
    values = resolve_values(NAME, session.metadata, p["entity"], step.get("values", {}), record)
    values.update({p["title_field"]: step["title"], p["link_field"]: rid, p["assignee_field"]: person.id})
    due = None
    if "due_in" in step:
        moment = session.calendar.add(start, duration_minutes(step["due_in"]))
        due = moment.date().isoformat() if due_type == "date" else moment.isoformat()
        values[p["due_field"]] = due
    with engine_errors(NAME):
        created = session.records.create(p["entity"], values, effect_key=key)
    if strategy == "round_robin":
        session.counters.turns(people.turns_name(p["entity"], p["assignee_field"])).release(key)
    if created is None:
        return {"step": index, "title": step["title"], "created": False, "skipped": "already created"}
    return {"step": index, "title": step["title"], "created": True, "id": created["id"],
            "assignee": person.id, "email": person.email, "due": due}


SPEC = ActionSpec(run=run, check=check,
                  description="Build a service plan: one assigned, timed task per step for the request's type.")
