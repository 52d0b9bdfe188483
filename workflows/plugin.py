"""Workflows and rules as Loom's core plugin (entry-point group `loom.core`): active for
every tenant, reaching the engine only through its hooks."""
from __future__ import annotations

from engine.errors import ValidationFailed
from engine.hookspecs import hookimpl
from workflows.runtime import entity_field_types, runtime_of

LOOM_PLUGIN_NAME = "workflows"


def _event_for_rules(event) -> dict:
    return {"id": None, "event": event.name, "tenant": event.tenant, "entity": event.entity,
            "record_id": event.record_id, "record": event.record, "changes": event.changes,
            **({"transition": {"from": event.extra.get("from"), "to": event.extra.get("to")}}
               if event.extra else {})}


def _text(message, locale) -> str:
    if isinstance(message, str):
        return message
    message = message or {}
    return (message.get(locale) or message.get(locale.split("-")[0]) or message.get("en")
            or next(iter(message.values()), "refused by a validation rule"))


@hookimpl
def loom_record_before_write(event, session):
    """Validation rules run inside the write and refuse it with their message."""
    rules = runtime_of(session.install).published_rules(session)
    firings = rules.evaluate(_event_for_rules(event), kind="validation")
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
def loom_actions():
    from workflows.actions import builtin_actions

    return builtin_actions()


@hookimpl
def loom_check_metadata(package, document, session):
    from workflows.notify.templates import check_template
    from workflows.rules import check_ruleset

    actions = session.actions()
    fields = entity_field_types(package)
    problems = []
    for index, ruleset in enumerate(document.get("rulesets") or []):
        entity = ruleset.get("entity") if isinstance(ruleset, dict) else None
        problems += check_ruleset(ruleset, fields.get(entity) if isinstance(entity, str) else None,
                                  set(actions), f"/rulesets/{index}")
        for rule_index, rule in enumerate(ruleset.get("rules") or [] if isinstance(ruleset, dict) else []):
            if isinstance(rule, dict):
                problems += _param_problems(actions, rule.get("actions"),
                                            f"/rulesets/{index}/rules/{rule_index}/actions")
    for index, template in enumerate(document.get("templates") or []):
        problems += check_template(template, f"/templates/{index}")
    for index, workflow in enumerate(document.get("workflows") or []):
        problems += _workflow_params(actions, workflow, f"/workflows/{index}")
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


def _param_problems(actions, listed, path) -> list:
    problems = []
    for index, action in enumerate(listed if isinstance(listed, list) else []):
        spec = actions.get(action.get("action")) if isinstance(action, dict) else None
        if spec is not None:
            problems += [{"field": f"{path}/{index}/params", "code": "invalid_params", "message": message}
                         for message in spec.check(action.get("params") or {})]
    return problems


@hookimpl
def loom_blueprints():
    from workflows.api import workflow_api
    from workflows.notify.api import notifications

    return [workflow_api, notifications]


@hookimpl
def loom_cli_commands():
    from workflows.cli import jobs, rules, worker

    return [worker, jobs, rules]
