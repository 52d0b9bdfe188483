"""Workflows and rules as Loom's core plugin (entry-point group `loom.core`): active for
every tenant, reaching the engine only through its hooks."""
from __future__ import annotations

from engine.errors import ValidationFailed
from engine.hookspecs import hookimpl
from metadata.fieldtypes import value_problem
from workflows.runtime import entity_field_types, runtime_of

LOOM_PLUGIN_NAME = "workflows"


def _text(message, locale) -> str:
    if isinstance(message, str):
        return message
    message = message or {}
    return (message.get(locale) or message.get(locale.split("-")[0]) or message.get("en")
            or next(iter(message.values()), "refused by a validation rule"))


@hookimpl
def loom_record_before_write(event, session):
    """Validation rules run inside the write and refuse it with their message."""
    loom_records_before_write([event], session)


@hookimpl
def loom_records_before_write(events, session):
    """The same for every record of a batch, the rule sets looked up once (and an event
    no validation rule listens to not evaluated at all). Whether a route is listened to
    is asked once per batch: the batch is written against one metadata version, so the
    rule sets published with it are the ones that judge all of it."""
    rules = runtime_of(session.install).published_rules(session)
    heard: dict = {}
    for event in events:
        route = (event.tenant, event.entity, event.name)
        listened = heard.get(route)
        if listened is None:
            listened = heard[route] = rules.listens(*route, kind="validation")
        if not listened:
            continue
        firings = rules.evaluate(event.as_dict(), kind="validation")
        if firings:
            locale = session.actor.locale if session.actor else "en"
            raise ValidationFailed(
                _text(firings[0].message, locale),
                details=[{"field": f"{f.ruleset}.{f.rule}", "message": _text(f.message, locale)} for f in firings],
                code="rule_refused")


@hookimpl
def loom_record_after_commit(event, session):
    """Automation runs after commit, through the job queue, from the outbox."""
    runtime_of(session.install).jobs.enqueue_drain(event.tenant)


@hookimpl
def loom_records_after_commit(events, session):
    """One drain asked for a batch's events (each tenant's outbox drains them all)."""
    jobs = runtime_of(session.install).jobs
    for tenant in dict.fromkeys(event.tenant for event in events):
        jobs.enqueue_drain(tenant)


@hookimpl
def loom_actions():
    from workflows.actions import builtin_actions

    return builtin_actions()


@hookimpl
def loom_session_services():
    from workflows.session_services import services

    return services()


@hookimpl
def loom_check_metadata(package, document, session):
    from workflows.notify.templates import check_template

    actions = session.actions()
    fields = entity_field_types(package)
    problems = []
    for index, ruleset in enumerate(document.get("rulesets") or []):
        problems += ruleset_problems(package, actions, ruleset, f"/rulesets/{index}", fields)
    for index, template in enumerate(document.get("templates") or []):
        problems += check_template(template, f"/templates/{index}")
    for index, workflow in enumerate(document.get("workflows") or []):
        problems += _workflow_params(actions, workflow, f"/workflows/{index}")
    return problems


def ruleset_problems(package, actions, ruleset, path, fields=None) -> list:
    """One rule set checked against a package: its shape and conditions, its entity, and
    each action's params (with the fields they name)."""
    from workflows.rules import check_ruleset

    fields = entity_field_types(package) if fields is None else fields
    entity = ruleset.get("entity") if isinstance(ruleset, dict) else None
    # The entity itself, so conditions compare choice fields with their options as guards do.
    problems = check_ruleset(ruleset, package.entity(entity) if isinstance(entity, str) else None, set(actions), path)
    if isinstance(entity, str) and entity not in fields and not any(
            p["field"] == f"{path}/entity" for p in problems):
        problems.append({"field": f"{path}/entity", "code": "unknown_entity",
                         "message": f"{entity!r} is not an entity; entities: {', '.join(fields) or 'none'}"})
    for rule_index, rule in enumerate(ruleset.get("rules") or [] if isinstance(ruleset, dict) else []):
        if isinstance(rule, dict):
            problems += _param_problems(actions, rule.get("actions"), f"{path}/rules/{rule_index}/actions",
                                        package, entity)
    return problems


def _workflow_params(actions, workflow, path) -> list:
    """Each action's own parameter checks, at the path of its params."""
    problems = []
    for s, state in enumerate(workflow.get("states") or []):
        for key in ("on_enter", "on_leave"):
            problems += _param_problems(actions, state.get(key), f"{path}/states/{s}/{key}")
        problems += _param_problems(actions, (state.get("sla") or {}).get("escalate"),
                                    f"{path}/states/{s}/sla/escalate")
    for t, transition in enumerate(workflow.get("transitions") or []):
        problems += _param_problems(actions, transition.get("actions"), f"{path}/transitions/{t}/actions")
    return problems


def _param_problems(actions, listed, path, package=None, entity=None) -> list:
    problems = []
    for index, action in enumerate(listed if isinstance(listed, list) else []):
        spec = actions.get(action.get("action")) if isinstance(action, dict) else None
        if spec is not None:
            found = [{"field": f"{path}/{index}/params", "code": "invalid_params", "message": message}
                     for message in spec.check(action.get("params") or {})]
            if not found and package is not None:
                found = _target_problems(package, entity, action, f"{path}/{index}/params")
            problems += found
    return problems


def _target_problems(package, entity_name, action, path) -> list:
    """The fields a rule's set_field (on the rule set's entity) or create_record names
    exist and take the values given. (Workflows' set_field: see metadata's checks.)"""
    params = action.get("params") or {}
    if action["action"] == "set_field":
        values = {params["field"]: (f"{path}/field", f"{path}/value", params["value"])}
    elif action["action"] == "create_record":
        entity_name = params["entity"]
        if package.entity(entity_name) is None:
            return [{"field": f"{path}/entity", "code": "unknown_entity",
                     "message": f"create_record: {entity_name!r} is not an entity"}]
        values = {k: (f"{path}/values/{k}",) * 2 + (v,) for k, v in (params.get("values") or {}).items()}
    else:
        return []
    entity = package.entity(entity_name) if isinstance(entity_name, str) else None
    if entity is None:
        return []  # the rule set's unknown entity is reported on its own
    workflow = package.workflow_for(entity.name)
    problems = []
    for name, (field_path, value_path, value) in values.items():
        field = entity.field(name)
        if field is None:
            problems.append({"field": field_path, "code": "unknown_field",
                             "message": f"{action['action']}: {name!r} is not a field of {entity.name}"})
        elif action["action"] == "set_field" and workflow is not None and workflow.field == name:
            problems.append({"field": field_path, "code": "state_field_not_settable",
                             "message": f"set_field cannot change the state field {name!r}; "
                                        "the state changes only through transitions"})
        elif not (isinstance(value, dict) and any(str(k).startswith("$") for k in value)):
            message = value_problem(field, value)
            if message:
                problems.append({"field": value_path, "code": "invalid_value",
                                 "message": f"{action['action']}: the value does not fit {entity.name}.{name}: "
                                            f"{message}"})
    return problems


@hookimpl
def loom_blueprints():
    from workflows.api import workflow_api
    from workflows.imports_api import imports_api
    from workflows.notify.api import notifications

    return [workflow_api, notifications, imports_api]


@hookimpl
def loom_openapi_paths(package):
    from workflows.imports_openapi import import_paths
    from workflows.openapi import openapi_paths

    return {**openapi_paths(package), **import_paths(package)}


@hookimpl
def loom_cli_commands():
    from workflows.cli import jobs, rules, worker

    return [worker, jobs, rules]
