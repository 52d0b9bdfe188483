"""A draft rule tried without side effects: "test on a record" (the rules engine's
explain of the draft rule on one of a real record's recorded events — fired or not, and
each condition with the record's value) and "replay history" (`loom rules simulate` of the
draft rule over the tenant's events of the last N days). Both run the draft rule alone in
an engine of their own; nothing is written."""
from __future__ import annotations

import copy

from sqlalchemy import func, select

from admin_ui.designer.action_forms import field_types_of
from admin_ui.designer.edits import dicts
from admin_ui.designer.edits_rules import rule_index, ruleset_of
from engine.errors import ValidationFailed
from engine.systables import loom_table
from workflows.rules import InMemoryCorrelationStore, RulesEngine, RulesetInvalid
from workflows.runtime import rule_event
from workflows.simulate import simulate

EVENTS_SHOWN = 10
RECENT_RECORDS = 30
MAX_DAYS = 366


class NotTestable(ValidationFailed):
    """The draft rule cannot be run yet: its problems say why."""

    code = "rule_not_testable"


def alone(document: dict, ruleset_name: str, rule_name: str) -> dict:
    """The rule set holding only this rule, as the draft has it."""
    ruleset = ruleset_of(document, ruleset_name)
    rule = ruleset["rules"][rule_index(ruleset, rule_name)]
    return {**copy.deepcopy(ruleset), "rules": [copy.deepcopy(rule)]}


def _field_types(session, document) -> dict:
    """{entity: {field: base type}} of the draft document (read, not compiled again: the
    draft was checked when it was saved)."""
    return {e.get("name"): field_types_of(e, session.extra_types) for e in dicts(document, "entities")}


def _engine(session, document, ruleset: dict) -> RulesEngine:
    engine = RulesEngine(InMemoryCorrelationStore())
    try:
        engine.publish(session.tenant.slug, 1, [ruleset], _field_types(session, document))
    except RulesetInvalid as exc:
        raise NotTestable("the draft rule does not compile yet", details=exc.problems) from None
    return engine


def recent_records(session, entity: str) -> list[int]:
    """The ids of the entity's records with the latest recorded events, newest first."""
    outbox = loom_table(session.storage.schema, "loom_outbox")
    latest = func.max(outbox.c.id)
    with session.storage.connect() as conn:
        rows = conn.execute(select(outbox.c.record_id).where(outbox.c.entity == entity)
                            .group_by(outbox.c.record_id).order_by(latest.desc()).limit(RECENT_RECORDS)).all()
    return [row.record_id for row in rows]


def record_events(session, entity: str, record_id: int) -> list[dict]:
    """The record's latest recorded events (the one shape), newest first."""
    outbox = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.entity == entity, outbox.c.record_id == record_id)
                            .order_by(outbox.c.id.desc()).limit(EVENTS_SHOWN)).mappings().all()
    return [rule_event(session.tenant.slug, dict(row), session.metadata()) for row in rows]


def try_on_record(session, document: dict, ruleset_name: str, rule_name: str, events: list[dict],
                   event_id: int | None) -> dict:
    """The explain of the draft rule for the chosen event (the latest when None) of a
    record: `fired`, `reasons` (each condition with the record's value), what matched."""
    ruleset = alone(document, ruleset_name, rule_name)
    engine = _engine(session, document, ruleset)
    chosen = next((e for e in events if e["id"] == event_id), events[0])
    return {"event": chosen, **engine.explain(chosen, ruleset_name, rule_name)}


def replay(session, document: dict, ruleset_name: str, rule_name: str, days: int) -> dict:
    """`loom rules simulate` of the draft rule alone over the last `days` days: the events
    read, and each firing with the record and the actions it would have run."""
    ruleset = alone(document, ruleset_name, rule_name)
    _engine(session, document, ruleset)  # the draft's own field types decide whether it compiles
    return simulate(session, {"rulesets": [ruleset]}, since=f"{days}d")
