"""The rules engine (workflows.rules) as specifications: operators, routing, tenants,
republishing, durable-rules' limits, correlation, validation messages, check_ruleset,
and explain() agreeing with what durable-rules decides."""

import json
import resource
import threading
from datetime import datetime, timedelta, timezone

import durable_rules_engine as dre
import pytest
from durable.engine import MessageNotHandledException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from metadata import load_example
from metadata.conditions import check_condition
from metadata.validation import load_package

from workflows.rules import (
    InMemoryCorrelationStore, RulesEngine, RulesetInvalid, check_ruleset, parse_window, schema,
)

FIELDS = {"tier": "choice", "lifetime_value": "decimal", "notes": "text", "tags": "multi_choice",
          "email": "email", "phone": "string", "signed_on": "date", "seen_at": "datetime", "vip": "boolean",
          "customer": "reference", "kind": "choice", "visits": "integer"}


def ruleset(rules, name="rs", kind="automation", entity="contact"):
    out = {"name": name, "kind": kind, "entity": entity, "rules": []}
    for n, rule in enumerate(rules):
        rule = {"name": f"r{n}", **rule}
        rule.setdefault("when", {"event": "record.updated"})
        if kind == "automation":
            rule.setdefault("actions", [{"action": "notify", "params": {"n": n}}])
        out["rules"].append(rule)
    return out


def rule_on(condition, event="record.updated", **when):
    return {"when": {"event": event, "condition": condition, **when}}


def event(record, kind="record.updated", tenant="acme", entity="contact", event_id=1, **extra):
    return {"id": event_id, "event": kind, "tenant": tenant, "entity": entity,
            "record_id": record.get("id", 1), "record": record, **extra}


def fired(engine, ev, **kw):
    return sorted(f.rule for f in engine.evaluate(ev, **kw))


@pytest.fixture
def engine():
    return RulesEngine()


# --- operators and combinators --------------------------------------------------------

OPERATOR_CASES = [
    ({"field": "lifetime_value", "op": "eq", "value": 10}, [{"lifetime_value": "10.00"}], [{"lifetime_value": "10.5"}, {}]),
    ({"field": "tier", "op": "ne", "value": "gold"}, [{"tier": "silver"}, {}, {"tier": ""}], [{"tier": "gold"}]),
    ({"field": "lifetime_value", "op": "gt", "value": 10000}, [{"lifetime_value": "12000.50"}],
     [{"lifetime_value": "10000"}, {"lifetime_value": None}, {"lifetime_value": "n/a"}]),
    ({"field": "lifetime_value", "op": "gte", "value": 10000}, [{"lifetime_value": "10000.00"}], [{"lifetime_value": "9999.99"}]),
    ({"field": "visits", "op": "lt", "value": 3}, [{"visits": 2}, {"visits": -1}], [{"visits": 3}, {}]),
    ({"field": "visits", "op": "lte", "value": 3}, [{"visits": 3}], [{"visits": 4}]),
    ({"field": "tier", "op": "in", "value": ["gold", "silver"]}, [{"tier": "gold"}], [{"tier": "bronze"}, {}]),
    ({"field": "tier", "op": "not_in", "value": ["gold", "silver"]}, [{"tier": "bronze"}, {}, {"tier": None}, {"tier": ""}],
     [{"tier": "silver"}]),
    ({"field": "notes", "op": "contains", "value": "refund"}, [{"notes": "wants a refund now"}],
     [{"notes": "Refund"}, {"notes": ""}, {}]),
    ({"field": "tags", "op": "contains", "value": "vip"}, [{"tags": ["new", "vip"]}], [{"tags": ["vipx"]}, {"tags": []}]),
    ({"field": "email", "op": "matches", "value": r"@example\.com$"}, [{"email": "ann@example.com"}],
     [{"email": "ann@example.com.evil"}, {"email": "ann@exampleXcom"}, {}]),
    ({"field": "phone", "op": "exists"}, [{"phone": "555"}], [{"phone": ""}, {"phone": None}, {}]),
    ({"field": "phone", "op": "not_exists"}, [{}, {"phone": ""}], [{"phone": "555"}]),
    ({"field": "signed_on", "op": "gt", "value": "2024-01-01"}, [{"signed_on": "2024-02-01"}],
     [{"signed_on": "2024-01-01"}, {"signed_on": "someday"}]),
    ({"field": "seen_at", "op": "lt", "value": "2024-01-01T12:00:00Z"}, [{"seen_at": "2024-01-01T12:30:00+01:00"}],
     [{"seen_at": "2024-01-01T12:00:00"}]),
    ({"field": "vip", "op": "eq", "value": True}, [{"vip": True}], [{"vip": False}, {"vip": 1}, {"vip": "true"}]),
]


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "inferred"])
@pytest.mark.parametrize("condition,hits,misses", OPERATOR_CASES, ids=[c[0]["op"] + ":" + c[0]["field"] for c in OPERATOR_CASES])
def test_every_operator(engine, condition, hits, misses, typed):
    engine.publish("acme", 1, [ruleset([rule_on(condition)])], fields={"contact": FIELDS} if typed else None)
    for record in hits:
        assert fired(engine, event(record)) == ["r0"], record
        assert engine.explain(event(record), "rs", "r0")["fired"] is True
    for record in misses:
        assert fired(engine, event(record)) == [], record
        assert engine.explain(event(record), "rs", "r0")["fired"] is False


def test_all_any_not_including_negated_contains_and_matches(engine):
    rules = [
        rule_on({"all": [{"field": "tier", "op": "eq", "value": "gold"}, {"field": "visits", "op": "gt", "value": 5}]}),
        rule_on({"any": [{"field": "tier", "op": "eq", "value": "gold"}, {"field": "visits", "op": "gt", "value": 5}]}),
        rule_on({"not": {"field": "visits", "op": "gt", "value": 5}}),                 # missing visits: fires
        rule_on({"not": {"field": "notes", "op": "contains", "value": "spam"}}),
        rule_on({"not": {"any": [{"field": "email", "op": "matches", "value": "^admin@"},
                                 {"field": "tier", "op": "in", "value": ["gold", "bronze"]}]}}),
        rule_on({"not": {"all": [{"field": "tier", "op": "eq", "value": "gold"},
                                 {"not": {"field": "visits", "op": "lte", "value": 5}}]}}),
    ]
    engine.publish("acme", 1, [ruleset(rules)])
    assert fired(engine, event({"tier": "gold", "visits": 9, "notes": "spam!"})) == ["r0", "r1"]
    assert fired(engine, event({"tier": "silver", "visits": 9, "email": "admin@x.org"})) == ["r1", "r3", "r5"]
    assert fired(engine, event({"tier": "gold", "visits": 1})) == ["r1", "r2", "r3", "r5"]
    assert fired(engine, event({})) == ["r2", "r3", "r4", "r5"]


def test_changed_fields_filter(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "lifetime_value", "op": "gt", "value": 100},
                                                changed=["lifetime_value", "tier"]),
                                        rule_on({"field": "lifetime_value", "op": "gt", "value": 100})])])
    record = {"lifetime_value": "500"}
    assert fired(engine, event(record, changed=["phone"])) == ["r1"]
    assert fired(engine, event(record, changed=["tier"])) == ["r0", "r1"]
    assert fired(engine, event(record, changes={"lifetime_value": ["1", "500"]})) == ["r0", "r1"]  # engine's form
    explained = engine.explain(event(record, changed=["phone"]), "rs", "r0")
    assert explained["changed_matched"] is False and explained["condition_matched"] is True


def test_transitioned_to_and_from(engine):
    engine.publish("acme", 1, [ruleset([
        {"when": {"event": "record.transitioned", "to": "won"}},
        {"when": {"event": "record.transitioned", "from": ["new", "open"], "to": "lost"}},
        {"when": {"event": "record.transitioned"}},
    ])])
    ev = lambda a, b: event({}, kind="record.transitioned", **{"from": a, "to": b})  # noqa: E731
    assert fired(engine, ev("open", "won")) == ["r0", "r2"]
    assert fired(engine, ev("open", "lost")) == ["r1", "r2"]
    assert fired(engine, ev("won", "lost")) == ["r2"]
    assert fired(engine, event({}, kind="record.transitioned", transition={"from": "new", "to": "lost"})) == ["r1", "r2"]
    assert fired(engine, event({}, kind="record.updated")) == []
    assert engine.explain(ev("won", "lost"), "rs", "r1")["transition_matched"] is False


def test_every_matching_rule_fires_where_post_fires_one(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "visits", "op": "gt", "value": i}) for i in range(20)])])
    assert len(engine.evaluate(event({"visits": 100}))) == 20
    # durable-rules: post hands an event to the first matching rule only; assert_fact to all.
    # (A callback must take exactly one argument: with two, durable-rules treats it as
    # asynchronous, waits for a completion call, and the leased state swallows later firings.)
    calls = []
    host = engine.host
    host.register_rulesets({"probe": {f"p{i}": {"all": [{"m": {"$and": [{"ev": 1}, {"$gt": {"v": i}}]}}],
                                               "run": lambda c: calls.append(c.m.v)} for i in range(20)}})
    host.post("probe", {"id": 1, "sid": "s", "ev": 1, "v": 100})
    assert len(calls) == 1
    calls.clear()
    host.assert_fact("probe", {"id": 2, "sid": "s", "ev": 1, "v": 100})
    assert len(calls) == 20
    with pytest.raises(MessageNotHandledException):
        host.post("probe", {"id": 3, "sid": "s", "ev": 2})


def test_an_event_nobody_matches_returns_nothing(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "tier", "op": "eq", "value": "gold"})])])
    assert engine.evaluate(event({"tier": "silver"})) == []
    assert engine.evaluate(event({"tier": "gold"}, kind="record.created")) == []
    assert engine.evaluate(event({"tier": "gold"}, entity="deal")) == []
    assert engine.evaluate(event({"tier": "gold"}, tenant="nobody")) == []


@pytest.mark.parametrize("tenant", ["acme", "nobody"])
@pytest.mark.parametrize("entity", ["contact", "deal"])
@pytest.mark.parametrize("kind", ["record.updated", "record.created"])
@pytest.mark.parametrize("rule_kind", [None, "validation", "automation"])
def test_listens_says_whether_evaluate_can_fire_anything(engine, tenant, entity, kind, rule_kind):
    """What a batch's validation skips on: no rule set listening means nothing fires."""
    tier_gold = {"field": "tier", "op": "eq", "value": "gold"}
    engine.publish("acme", 1, [ruleset([rule_on(tier_gold)]),
                               ruleset([{"when": {"event": "record.updated", "condition": tier_gold},
                                         "message": {"en": "no"}}], name="v", kind="validation", entity="deal")])
    listens = engine.listens(tenant, entity, kind, kind=rule_kind)
    fires = bool(engine.evaluate(event({"tier": "gold"}, kind=kind, tenant=tenant, entity=entity), kind=rule_kind))
    assert listens == fires == (tenant == "acme" and kind == "record.updated" and (
        (entity == "contact" and rule_kind in (None, "automation")) or
        (entity == "deal" and rule_kind in (None, "validation"))))


def test_tenant_isolation(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "tier", "op": "eq", "value": "gold"})])])
    engine.publish("globex", 1, [ruleset([rule_on({"field": "tier", "op": "eq", "value": "silver"})])])
    acme = engine.evaluate(event({"tier": "gold"}))
    assert [(f.tenant, f.ruleset, f.rule) for f in acme] == [("acme", "rs", "r0")]
    assert engine.evaluate(event({"tier": "silver"})) == []
    assert [f.tenant for f in engine.evaluate(event({"tier": "silver"}, tenant="globex"))] == ["globex"]
    assert engine.evaluate(event({"tier": "gold"}, tenant="globex")) == []
    with pytest.raises(ValueError):
        engine.publish("evil__tenant", 1, [])


def test_republish_without_restart(engine):
    v1 = ruleset([rule_on({"field": "tier", "op": "eq", "value": "gold"})])
    keep = ruleset([rule_on({"field": "visits", "op": "gt", "value": 1})], name="kept")
    engine.publish("acme", 1, [v1, keep])
    engine.publish("globex", 1, [v1])
    old = {n: engine.host.get_ruleset(n)._handle for n in engine.host.names() if n.startswith("acme__rs__v1")}
    assert old and fired(engine, event({"tier": "gold"})) == ["r0"]

    v2 = ruleset([rule_on({"field": "tier", "op": "eq", "value": "platinum"})])
    engine.publish("acme", 2, [v2, keep])
    assert fired(engine, event({"tier": "gold"})) == []
    assert fired(engine, event({"tier": "platinum"})) == ["r0"]
    names = engine.host.names()
    assert not any(n.startswith("acme__rs__v1") for n in names)
    assert any(n.startswith("acme__rs__v2") for n in names)
    assert any(n.startswith("acme__kept__v1") for n in names)       # unchanged: reused, not rebuilt
    for handle in old.values():
        with pytest.raises(dre.error, match="111"):                  # deleted in the C engine too
            dre.assert_fact(handle, json.dumps({"id": 1, "sid": "0", "ev": "u"}))
    assert engine.published("acme") == {"rs": 2, "kept": 2}
    assert fired(engine, event({"tier": "gold"}, tenant="globex")) == ["r0"]   # other tenant untouched

    before = engine.host.names()
    engine.publish("acme", 2, [v1])          # same version again: no-op
    engine.publish("acme", 1, [v1])          # an older version: ignored
    assert engine.host.names() == before and fired(engine, event({"tier": "platinum"})) == ["r0"]
    engine.publish("acme", 3, [])            # empty: the tenant's rules are gone
    assert engine.published("acme") == {} and engine.evaluate(event({"tier": "platinum"})) == []
    assert not any(n.startswith("acme__") for n in engine.host.names())


def test_publish_refuses_invalid_rulesets_with_every_problem(engine):
    bad = ruleset([rule_on({"field": "tier", "op": "like", "value": "x"})], name="Bad")
    with pytest.raises(RulesetInvalid) as info:
        engine.publish("acme", 1, [ruleset([]), bad, bad])
    paths = {(p["field"], p["code"]) for p in info.value.problems}
    assert ("/rulesets/1/name", "unsafe_name") in paths
    assert ("/rulesets/1/rules/0/when/condition/op", "unknown_op") in paths
    assert ("/rulesets/0/rules", "invalid_value") in paths
    assert engine.published("acme") == {}


def test_concurrent_evaluate_while_republishing(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "visits", "op": "gt", "value": 0})])])
    errors, stop = [], threading.Event()

    def worker():
        while not stop.is_set():
            try:
                result = engine.evaluate(event({"visits": 5}))
                assert [f.rule for f in result] in (["r0"], ["r0", "r1"]), result
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for version in range(2, 31):           # the last version (30) has one rule
        rules = [rule_on({"field": "visits", "op": "gt", "value": 0})] * (1 + version % 2)
        engine.publish("acme", version, [ruleset(rules)])
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert fired(engine, event({"visits": 5})) == ["r0"]


# --- durable-rules' limits ------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_sids_stay_bounded_over_20000_records_and_20_rulesets(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "visits", "op": "gt", "value": k}) for k in range(3)],
                                       name=f"rs{i}") for i in range(20)])
    before = _rss_mb()
    count = 0
    for rid in range(20000):
        count += len(engine.evaluate(event({"id": rid, "visits": rid % 5}, event_id=rid)))
    assert count == 20000 // 5 * (1 + 2 + 3 + 3) * 20
    assert _rss_mb() - before < 100
    live = engine._tenants["acme"].lives[0]
    with pytest.raises(dre.error, match="309"):   # no state per record id: one sid per ruleset
        dre.get_state(live.handle, "1234")
    assert engine.release_states(0) == 20
    assert len(engine.evaluate(event({"visits": 4}))) == 60        # states come back on demand


def test_one_event_matching_100_rules_of_one_ruleset(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "visits", "op": "gt", "value": i}) for i in range(100)]
                                      + [rule_on({"any": [{"field": "visits", "op": "gt", "value": i} for i in range(30)]})])])
    assert len(engine.evaluate(event({"visits": 1000}))) == 101
    # durable-rules alone: a fact passing more than 64 branches of one ruleset fails with 303.
    handle = dre.create_ruleset("limit303", json.dumps(
        {f"r{i}": {"all": [{"m": {"$and": [{"ev": 1}, {"$gt": {"v": i}}]}}]} for i in range(100)}))
    with pytest.raises(dre.error, match="303"):
        dre.assert_fact(handle, json.dumps({"id": 1, "sid": "0", "ev": 1, "v": 1000}))


def test_records_with_300_fields_send_only_used_fields(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"field": "f7", "op": "eq", "value": "x"})])])
    record = {f"f{i}": "x" for i in range(300)}
    assert fired(engine, event(record)) == ["r0"]
    handle = dre.create_ruleset("limit302", json.dumps({"r": {"all": [{"m": {"ev": 1}}]}}))
    with pytest.raises(dre.error, match="302"):       # durable-rules refuses > 255 properties
        dre.assert_fact(handle, json.dumps(dict(record, id=1, sid="0", ev=1)))


def test_durable_ruleset_names_register_once(engine):
    engine.host.register_rulesets({"once": {"r": {"all": [{"m": {"ev": 1}}], "run": lambda c: None}}})
    with pytest.raises(Exception, match="already registered"):
        engine.host.register_rulesets({"once": {"r": {"all": [{"m": {"ev": 1}}], "run": lambda c: None}}})


# --- correlation and validation --------------------------------------------------------------

COMPLAINTS = ruleset([{"when": {"event": "record.created", "condition": {"field": "kind", "op": "eq", "value": "complaint"}},
                       "correlate": {"by": "customer", "count": 3, "within": "30d"},
                       "actions": [{"action": "notify", "params": {"template": "churn_risk"}}]}], name="churn")
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def complaint(n, customer, day, kind="complaint"):
    return event({"kind": kind, "customer": customer}, kind="record.created", event_id=n,
                 at=(T0 + timedelta(days=day)).isoformat())


def test_correlation_fires_on_the_third_within_the_window(engine):
    engine.publish("acme", 1, [COMPLAINTS])
    assert engine.evaluate(complaint(1, 7, 0)) == []
    assert engine.evaluate(complaint(2, 7, 10)) == []
    assert engine.evaluate(complaint(3, 8, 11)) == []                # another customer
    assert engine.evaluate(complaint(4, 7, 12, kind="question")) == []   # not a match
    third = engine.evaluate(complaint(5, 7, 20))
    assert [(f.rule, f.correlation_key, f.event_id) for f in third] == [("r0", 7, 5)]
    assert engine.evaluate(complaint(5, 7, 20)) == third               # redelivered: same count
    assert engine.evaluate(complaint(6, 7, 21)) == []                  # 4th: threshold already crossed
    assert engine.evaluate(complaint(7, 8, 30)) == []
    assert len(engine.evaluate(complaint(8, 8, 35))) == 1              # customer 8: days 11, 30, 35


def test_correlation_ignores_matches_older_than_the_window():
    store = InMemoryCorrelationStore()
    engine = RulesEngine(correlations=store)
    engine.publish("acme", 1, [COMPLAINTS])
    for n, day in enumerate([0, 25, 31], start=1):      # day 0 is outside (31 - 30d, 31]
        assert engine.evaluate(complaint(n, 9, day)) == []
    assert len(engine.evaluate(complaint(4, 9, 40))) == 1
    explained = engine.explain(complaint(9, 9, 41), "churn", "r0")
    assert explained["fired"] is True and explained["correlation"] == {"by": "customer", "key": 9, "count": 3,
                                                                       "within": "30d"}
    assert parse_window("90m") == timedelta(minutes=90) and parse_window("12h") == timedelta(hours=12)


def test_validation_firings_carry_their_message(engine):
    checks = ruleset([{"when": {"event": "record.updated", "condition": {"field": "visits", "op": "lt", "value": 0}},
                       "message": {"en": "Visits cannot be negative", "de": "Besuche können nicht negativ sein"}},
                      {"when": {"event": "record.created", "condition": {"field": "email", "op": "not_exists"}},
                       "message": "An e-mail address is required"}], name="checks", kind="validation")
    auto = ruleset([rule_on({"field": "visits", "op": "lt", "value": 0})], name="auto")
    engine.publish("acme", 1, [checks, auto])
    firings = engine.evaluate(event({"visits": -1}))
    assert [(f.ruleset, f.kind, f.message, f.actions) for f in firings] == [
        ("checks", "validation", {"en": "Visits cannot be negative", "de": "Besuche können nicht negativ sein"}, ()),
        ("auto", "automation", None, ({"action": "notify", "params": {"n": 0}},))]
    assert [f.ruleset for f in engine.evaluate(event({"visits": -1}), kind="validation")] == ["checks"]
    created = engine.evaluate(event({}, kind="record.created"), kind="validation")
    assert [f.message for f in created] == [{"en": "An e-mail address is required"}]


# --- explain ----------------------------------------------------------------------------------


def test_explain_reports_every_leaf(engine):
    engine.publish("acme", 1, [ruleset([rule_on({"all": [{"field": "lifetime_value", "op": "gt", "value": 10000},
                                                         {"field": "tier", "op": "ne", "value": "gold"}]},
                                                changed=["lifetime_value"])])], fields={"contact": FIELDS})
    ev = event({"lifetime_value": "9000.00", "tier": "gold"}, changed=["lifetime_value"])
    assert engine.explain(ev, "rs", "r0") == {
        "fired": False, "event_type_matched": True, "changed_matched": True, "transition_matched": True,
        "condition_matched": False, "kind": "automation",
        "reasons": [{"path": "/all/0", "condition": "lifetime_value gt 10000", "value": "9000.00", "passed": False},
                    {"path": "/all/1", "condition": 'tier ne "gold"', "value": "gold", "passed": False}]}
    assert engine.explain(dict(ev, event="record.created"), "rs", "r0")["event_type_matched"] is False
    with pytest.raises(LookupError):
        engine.explain(ev, "rs", "nope")


LEAF_FIELDS = {"n": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists"],
               "d": ["eq", "ne", "gt", "lt", "in", "not_in", "exists"],
               "b": ["eq", "ne", "exists", "not_exists"],
               "s": ["eq", "ne", "in", "not_in", "contains", "matches", "exists", "not_exists"]}
VALUES = {"n": st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.0, 1e15, 2 ** 53 + 1])),
          "d": st.sampled_from(["2024-01-01", "2024-01-02", "2024-01-01T12:00:00Z", "2023-12-31T23:00:00-02:00"]),
          "b": st.booleans(), "s": st.text(alphabet='ab."\\é\n-', min_size=1, max_size=3)}
PATTERNS = st.sampled_from(["a", "^a", "b$", r"^a\.b$", "a*", "[a-c]+", "(a|b)", "^(a|é)+$", "[^a]", "a{1,2}", ".", r"\\"])
RAW = st.one_of(st.none(), st.sampled_from(["", [], "1", "2.5", "-3", "abc", "2024-01-01", True, False, 0.5, ["a"]]),
                st.integers(-3, 3), VALUES["s"], VALUES["d"])


@st.composite
def conditions(draw, depth=0):
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        field = draw(st.sampled_from(sorted(LEAF_FIELDS)))
        op = draw(st.sampled_from(LEAF_FIELDS[field]))
        if op in ("exists", "not_exists"):
            return {"field": field, "op": op}
        if op == "matches":
            return {"field": field, "op": op, "value": draw(PATTERNS)}
        if op in ("in", "not_in"):
            return {"field": field, "op": op, "value": draw(st.lists(VALUES[field], min_size=1, max_size=3))}
        return {"field": field, "op": op, "value": draw(VALUES[field])}
    key = draw(st.sampled_from(["all", "any", "not"]))
    if key == "not":
        return {"not": draw(conditions(depth + 1))}
    return {key: draw(st.lists(conditions(depth + 1), min_size=1, max_size=3))}


AGREE = {"engine": RulesEngine(), "version": 0}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(conditions(), min_size=1, max_size=6),
       st.lists(st.fixed_dictionaries({}, optional={f: RAW for f in LEAF_FIELDS}), min_size=1, max_size=4),
       st.booleans())
def test_explain_agrees_with_durable_rules(conds, records, typed):
    engine = AGREE["engine"]
    doc = ruleset([rule_on(c) for c in conds])
    types = {"n": "decimal", "d": "datetime", "b": "boolean", "s": "string"} if typed else None
    if check_ruleset(doc, types):
        return        # e.g. a condition expanding past the limit
    AGREE["version"] += 1
    engine.publish("prop", AGREE["version"], [doc], fields={"contact": types} if typed else None)
    for record in records:
        ev = event(record, tenant="prop")
        by_durable = fired(engine, ev)
        by_python = [f"r{i}" for i in range(len(conds)) if engine.explain(ev, "rs", f"r{i}")["fired"]]
        assert by_durable == sorted(by_python), (record, conds)


# --- check_ruleset ------------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema_and_accepts_the_example():
    Draft202012Validator.check_schema(schema())
    example = {"name": "tier_upgrades", "kind": "automation", "entity": "contact", "description": "upgrades", "rules": [
        {"name": "gold_at_10k", "when": {"event": "record.updated", "changed": ["lifetime_value"], "condition": {"all": [
            {"field": "lifetime_value", "op": "gt", "value": 10000}, {"field": "tier", "op": "ne", "value": "gold"}]}},
         "actions": [{"action": "set_field", "params": {"field": "tier", "value": "gold"}}]},
        {"name": "three_complaints", "when": {"event": "record.created", "condition":
            {"field": "kind", "op": "eq", "value": "complaint"}}, "correlate": {"by": "customer", "count": 3, "within": "30d"},
         "actions": [{"action": "notify", "params": {"role": "admin", "template": "churn_risk"}}]}]}
    assert list(Draft202012Validator(schema()).iter_errors(example)) == []
    assert check_ruleset(example, FIELDS, {"set_field", "notify"}) == []


def test_check_ruleset_reports_every_problem_with_its_path():
    doc = {"name": "Tier__Upgrades", "kind": "validation", "entity": "contact", "rules": [
        {"name": "r1", "when": {"event": "record.updated", "condition": {"all": [
            {"field": "nope", "op": "eq", "value": 1},
            {"field": "tier", "op": "like", "value": "gold"},
            {"field": "lifetime_value", "op": "gt", "value": "lots"},
            {"field": "email", "op": "matches", "value": "(a+"},
            {"field": "vip", "op": "gt", "value": True}]}},
         "actions": [{"action": "zap"}]},
        {"name": "bad__name", "when": {"event": "record.created"}, "message": "no"},
        {"name": "r1", "when": {"event": "record.created", "changed": ["tier"]}, "message": {"en": "x"}},
    ]}
    problems = check_ruleset(doc, FIELDS, {"notify"}, path_prefix="/rulesets/3")
    found = {(p["field"], p["code"]) for p in problems}
    rule = "/rulesets/3/rules/0"
    cond = rule + "/when/condition/all"
    assert found == {
        ("/rulesets/3/name", "unsafe_name"),
        (f"{cond}/0/field", "unknown_field"),
        (f"{cond}/1/op", "unknown_op"),
        (f"{cond}/2/value", "invalid_value"),  # as a guard's condition is told: one checker
        (f"{cond}/3/value", "invalid_pattern"),
        (f"{cond}/4/op", "op_not_allowed"),
        (f"{rule}/message", "missing_message"),
        (f"{rule}/actions", "actions_not_allowed"),
        (f"{rule}/actions/0/action", "unknown_action"),
        ("/rulesets/3/rules/1/name", "unsafe_name"),
        ("/rulesets/3/rules/2/name", "duplicate_name"),
        ("/rulesets/3/rules/2/when/changed", "changed_not_allowed"),
    }, problems
    assert all(p["message"] for p in problems)


def test_check_ruleset_without_entity_fields_checks_kinds_and_limits():
    doc = ruleset([rule_on({"field": "x", "op": "eq", "value": 5}), rule_on({"field": "x", "op": "eq", "value": "five"}),
                   rule_on({"field": "y", "op": "in", "value": [1, "a"]}), rule_on({"field": "z", "op": "gt", "value": "abc"}),
                   rule_on({"field": "w", "op": "eq", "value": ""}),
                   rule_on({"all": [{"any": [{"field": f"a{i}", "op": "eq", "value": 1},
                                             {"field": f"b{i}", "op": "eq", "value": 1}]} for i in range(6)]}),
                   {"when": {"event": "record.updated"}, "correlate": {"by": "x", "count": 3, "within": "30 days"}}])
    found = {(p["field"], p["code"]) for p in check_ruleset(doc)}
    assert found == {("/rules/1/when/condition/value", "type_conflict"),
                     ("/rules/2/when/condition/value", "type_mismatch"),
                     ("/rules/3/when/condition/op", "op_not_allowed"),
                     ("/rules/4/when/condition/value", "invalid_value"),
                     ("/rules/5/when/condition", "too_complex"),
                     ("/rules/6/correlate/within", "invalid_window")}


def test_check_ruleset_on_non_objects_and_unknown_keys():
    assert check_ruleset([]) == [{"field": "", "code": "invalid_type", "message": "expected object, got []"}]
    found = {(p["field"], p["code"]) for p in check_ruleset(
        {"name": "x", "kind": "automation", "entity": "contact", "rules": [
            {"name": "a", "when": {"event": "record.moved", "condition": {"all": [], "field": "x"}},
             "actions": [{"action": "notify"}], "extra": 1}]})}
    assert ("/rules/0/extra", "unknown_property") in found
    assert ("/rules/0/when/event", "unknown_event") in found
    assert ("/rules/0/when/condition/field", "invalid_condition") in found  # beside "all"
    assert ("/rules/0/when/condition/all", "invalid_condition") in found    # an empty list


BAD_CONDITIONS = [
    "tier is gold",
    {"field": "nope", "op": "eq", "value": 1},
    {"field": "tier", "op": "like", "value": "gold"},
    {"field": "tier", "op": "matches", "value": "^g"},
    {"field": "lifetime_value", "op": "gt", "value": "lots"},
    {"field": "lifetime_value", "op": "gt"},
    {"field": "vip", "op": "exists", "value": True},
    {"field": "email", "op": "matches", "value": "(a+"},
    {"field": "notes", "op": "contains", "value": ""},
    {"field": "signed_on", "op": "eq", "value": None},
    {"field": "visits", "op": "in", "value": []},
    {"all": [{"field": "visits", "op": "eq", "value": 1.5}, {"not": {"field": "seen_at", "op": "lt", "value": "soon"}}]},
    {"any": [], "field": "tier"},
]


@pytest.mark.parametrize("condition", BAD_CONDITIONS, ids=range(len(BAD_CONDITIONS)))
def test_a_rule_condition_is_told_what_check_condition_tells_a_guard(condition):
    path = "/rulesets/0/rules/0/when/condition"
    by_checker = {(p.path, p.code) for p in check_condition(condition, FIELDS, path)}
    by_rules = {(p["field"], p["code"]) for p in check_ruleset(ruleset([rule_on(condition)]), FIELDS, None, "/rulesets/0")
                if p["field"].startswith(path)}
    assert by_checker and by_rules == by_checker


def test_a_rule_on_a_known_entity_compares_a_choice_with_its_options():
    package = load_package(load_example("crm_minimal"))
    entity = package.entities[0]
    choice = next(f for f in entity.fields if f.base_type == "choice")
    doc = ruleset([rule_on({"field": choice.name, "op": "eq", "value": "no_such_option"})], entity=entity.name)
    found = {(p["field"], p["code"]) for p in check_ruleset(doc, entity)}
    assert found == {("/rules/0/when/condition/value", "invalid_value")}
    assert check_ruleset(doc, {choice.name: "choice"}) == []  # typed by base type alone: options unknown
