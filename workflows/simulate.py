"""Rule simulation: replay a tenant's recorded events through draft rule sets, with no
side effects, and report what would have fired and what it would have changed."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from engine.errors import ValidationFailed
from engine.systables import loom_table
from workflows.plugin import ruleset_problems
from workflows.rules import InMemoryCorrelationStore, RulesEngine, RulesetInvalid, parse_window
from workflows.runtime import entity_field_types, rule_event


def _draft_rulesets(draft) -> list:
    if isinstance(draft, dict) and isinstance(draft.get("rulesets"), list):
        return draft["rulesets"]
    if isinstance(draft, list):
        return draft
    raise ValidationFailed('the draft must be {"rulesets": [...]} or a list of rule sets')


def simulate(session, draft, since: str = "30d", limit: int = 100_000) -> dict:
    rulesets = _draft_rulesets(draft)
    package = session.metadata().package
    fields = entity_field_types(package)
    actions = session.actions()
    problems = []
    for index, ruleset in enumerate(rulesets):  # what applying them would check
        problems += ruleset_problems(package, actions, ruleset, f"/rulesets/{index}", fields)
    if problems:
        raise ValidationFailed(f"the draft has {len(problems)} problem(s)", details=problems,
                               code="invalid_rules")
    try:
        window = parse_window(since)
    except ValueError as exc:
        raise ValidationFailed(str(exc), details=[{"field": "since", "message": str(exc)}]) from None
    engine = RulesEngine(InMemoryCorrelationStore())
    slug = session.tenant.slug
    try:
        engine.publish(slug, 1, rulesets, fields)
    except RulesetInvalid as exc:
        raise ValidationFailed("the draft rule sets do not compile", details=exc.problems) from None
    events = _events(session, datetime.now(timezone.utc) - window, limit)
    fired, per_rule = [], {}
    for row in events:
        event = rule_event(slug, row, session.metadata())
        for firing in engine.evaluate(event):
            name = f"{firing.ruleset}.{firing.rule}"
            per_rule[name] = per_rule.get(name, 0) + 1
            fired.append({"event_id": row["id"], "event": event["event"], "entity": event["entity"],
                          "record_id": event["record_id"], "rule": name, "kind": firing.kind,
                          "would": [_would(a, event["record"]) for a in firing.actions]
                          or [{"action": "refuse", "message": firing.message}]})  # a validation rule
    return {"events": len(events), "since": since, "firings": len(fired), "per_rule": per_rule,
            "items": fired}


def _events(session, since, limit) -> list[dict]:
    table = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.connect() as conn:
        rows = conn.execute(select(table).where(table.c.at >= since).order_by(table.c.id).limit(limit)).mappings()
        return [dict(r) for r in rows]


def _would(action, record) -> dict:
    params = action.get("params") or {}
    if action.get("action") == "set_field" and "field" in params:
        return {"action": "set_field", "field": params["field"], "from": record.get(params["field"]),
                "to": params.get("value")}
    return {"action": action.get("action"), "params": params}
