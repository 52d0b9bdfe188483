"""A rule listing several events fires exactly as one rule per event would, under its
one name: same firings, same order, same explanations (workflows.rules.events)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.rules import RulesEngine, check_ruleset
from workflows.rules.events import RECORD_EVENTS, expanded_rules

SHORT = {"record.created": "c", "record.updated": "u", "record.transitioned": "t"}
STATES = ["new", "open", "won"]


@st.composite
def rules(draw):
    events = draw(st.lists(st.sampled_from(RECORD_EVENTS), min_size=1, max_size=3, unique=True))
    when = {"event": events if len(events) > 1 or draw(st.booleans()) else events[0]}
    if "record.updated" in events and draw(st.booleans()):
        when["changed"] = draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2, unique=True))
    if "record.transitioned" in events and draw(st.booleans()):
        when["to"] = draw(st.sampled_from(STATES))
    if draw(st.booleans()):
        when["condition"] = {"field": "n", "op": draw(st.sampled_from(["gt", "lte"])), "value": draw(st.integers(0, 3))}
    return {"when": when}


def ruleset_of(drawn: list) -> dict:
    return {"name": "rs", "kind": "automation", "entity": "contact",
            "rules": [{"name": f"r{i}", **rule, "actions": [{"action": "notify", "params": {"i": i}}]}
                      for i, rule in enumerate(drawn)]}


def one_rule_per_event(doc: dict) -> dict:
    """The same rule set written the old way: one rule per event, r0_c, r0_u, ..."""
    by_index = [(rule, e) for e, rs in expanded_rules(doc).items() for rule in rs for _ in [e]]
    by_index.sort(key=lambda pair: (int(pair[0]["name"][1:]), RECORD_EVENTS.index(pair[1])))
    return {**doc, "rules": [{**rule, "name": f"{rule['name']}_{SHORT[e]}"} for rule, e in by_index]}


ENGINES = {"multi": RulesEngine(), "single": RulesEngine(), "version": 0}


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(rules(), min_size=1, max_size=6),
       st.lists(st.tuples(st.sampled_from(RECORD_EVENTS), st.integers(0, 4),
                          st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
                          st.sampled_from(STATES)), min_size=1, max_size=6))
def test_a_multi_event_rule_fires_as_one_rule_per_event_would(drawn, events):
    doc = ruleset_of(drawn)
    assert check_ruleset(doc, {"n": "integer", "a": "string", "b": "string"}) == []
    ENGINES["version"] += 1
    ENGINES["multi"].publish("t", ENGINES["version"], [doc])
    ENGINES["single"].publish("t", ENGINES["version"], [one_rule_per_event(doc)])
    for n, (kind, value, changed, to) in enumerate(events):
        ev = {"id": n, "event": kind, "tenant": "t", "entity": "contact", "record_id": 1,
              "record": {"n": value}, "changed": changed, "from": "new", "to": to}
        multi = [(f.rule, f.actions) for f in ENGINES["multi"].evaluate(ev)]
        single = [(f.rule.rsplit("_", 1)[0], f.actions) for f in ENGINES["single"].evaluate(ev)]
        assert multi == single
        for i in range(len(drawn)):
            explained = ENGINES["multi"].explain(ev, "rs", f"r{i}")
            assert explained["fired"] == any(name == f"r{i}" for name, _ in multi)


def test_changed_applies_to_the_update_part_only_and_explain_reads_the_events_own_part():
    engine = RulesEngine()
    engine.publish("t", 1, [ruleset_of([{"when": {"event": ["record.created", "record.updated"],
                                                  "changed": ["a"]}}])])
    ev = lambda kind, changed: {"id": 1, "event": kind, "tenant": "t", "entity": "contact",  # noqa: E731
                                "record_id": 1, "record": {}, "changed": changed}
    assert [f.rule for f in engine.evaluate(ev("record.created", []))] == ["r0"]
    assert [f.rule for f in engine.evaluate(ev("record.updated", ["b"]))] == []
    assert [f.rule for f in engine.evaluate(ev("record.updated", ["a"]))] == ["r0"]
    assert engine.explain(ev("record.created", []), "rs", "r0")["changed_matched"] is True
    assert engine.explain(ev("record.updated", ["b"]), "rs", "r0")["changed_matched"] is False
    assert engine.explain(ev("record.transitioned", []), "rs", "r0")["event_type_matched"] is False


@pytest.mark.parametrize("when, code, where", [
    ({"event": ["record.created", "timer"]}, "unknown_event", "/rules/0/when/event/1"),
    ({"event": ["record.created"], "changed": ["a"]}, "changed_not_allowed", "/rules/0/when/changed"),
    ({"event": ["record.created", "record.updated"], "to": "won"}, "transition_not_allowed", "/rules/0/when/to"),
    ({"event": []}, "invalid_value", "/rules/0/when/event"),
    ({"event": ["record.updated", "record.updated"]}, "invalid_value", "/rules/0/when/event"),
])
def test_a_malformed_list_of_events_is_refused_at_its_spot(when, code, where):
    problems = check_ruleset(ruleset_of([{"when": when}]))
    assert [(p["field"], p["code"]) for p in problems] == [(where, code)]


def test_a_validation_rule_may_list_record_events_but_not_timer():
    doc = {"name": "v", "kind": "validation", "entity": "contact",
           "rules": [{"name": "r", "when": {"event": ["record.created", "record.updated"]}, "message": "no"}]}
    assert check_ruleset(doc) == []
    doc["rules"][0]["when"] = {"event": "timer", "schedule": {"every": "day"}}
    assert [p["code"] for p in check_ruleset(doc)] == ["unknown_event"]
