"""One condition, one answer: on SQLite and PostgreSQL, for generated conditions and
records written through the record service, Python evaluation (metadata.conditions),
the SQL filter (the record service's list with the condition), a workflow guard and a
fired validation rule agree — and they follow the truth table of docs/metadata.md."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import BadQuery, ValidationFailed
from metadata.conditions import evaluate_condition
from workflows import transitions

FIELDS = [
    {"name": "c", "type": "choice", "options": ["a", "b", "c"]},
    {"name": "t", "type": "string"},
    {"name": "n", "type": "integer"},
    {"name": "d", "type": "decimal", "precision": 10, "scale": 2},
    {"name": "b", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "m", "type": "multi_choice", "options": ["a", "b"]},
    {"name": "note", "type": "string"},
    {"name": "stage", "type": "choice", "options": ["open", "done"]},
]
ORDERED = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists"]
# The operators both a guard and a rule accept for each field (rules compare a
# multi_choice only with contains / exists, a boolean only with eq / ne / exists).
OPS = {"c": ["eq", "ne", "in", "not_in", "exists", "not_exists"],
       "t": ["eq", "ne", "in", "not_in", "contains", "matches", "exists", "not_exists"],
       "n": ORDERED, "d": ORDERED, "day": ORDERED,
       "b": ["eq", "ne", "exists", "not_exists"], "m": ["contains", "exists", "not_exists"]}
TEXTS = ["a", "A", "ab", "é", "e\u0301", "退款", "客户要求退款"]
VALUES = {"c": st.sampled_from(["a", "b", "c"]), "t": st.sampled_from(TEXTS + ["退"]),
          "n": st.sampled_from([-1, 0, 1, 2]), "d": st.sampled_from([0, 1.5, "1.50", -2.25, "0.01"]),
          "day": st.sampled_from(["2024-01-01", "2024-02-29", "2023-12-31"]), "b": st.booleans(),
          "m": st.sampled_from(["a", "b"])}
PATTERNS = st.sampled_from(["^a", "b$", "(?i)^a", "退款", "^e", "^$", ".", "(?i)É", "e\u0301", "^(a|退)",
                           "[^a]", "\\w$", "^.{2}$", "(?i)[^b]b?$", "[a-é]+"])
STORED = {"c": st.sampled_from(["a", "b", None]), "t": st.sampled_from(TEXTS + ["", None]),
          "n": st.sampled_from([-1, 0, 2, None]), "d": st.sampled_from(["0.00", "1.50", "-2.25", None]),
          "b": st.sampled_from([True, False, None]), "day": st.sampled_from(["2024-01-01", "2024-02-29", None]),
          "m": st.sampled_from([[], ["a"], ["a", "b"], None])}


@st.composite
def leaves(draw):
    field = draw(st.sampled_from(sorted(OPS)))
    op = draw(st.sampled_from(OPS[field]))
    if op in ("exists", "not_exists"):
        return {"field": field, "op": op}
    if op == "matches":
        return {"field": field, "op": op, "value": draw(PATTERNS)}
    if op in ("in", "not_in"):
        return {"field": field, "op": op, "value": draw(st.lists(VALUES[field], min_size=1, max_size=2,
                                                                 unique_by=str))}
    return {"field": field, "op": op, "value": draw(VALUES[field])}


conditions = st.recursive(leaves(), lambda inner: (
    st.lists(inner, min_size=1, max_size=2).map(lambda items: {"all": items})
    | st.lists(inner, min_size=1, max_size=2).map(lambda items: {"any": items})
    | inner.map(lambda c: {"not": c})), max_leaves=3)
records = st.lists(st.fixed_dictionaries({}, optional=STORED), min_size=1, max_size=3)


def document(condition) -> dict:
    return {"entities": [{"name": "probe", "fields": copy.deepcopy(FIELDS)}],
            "workflows": [{"name": "probe_flow", "entity": "probe", "field": "stage", "initial": "open",
                           "states": [{"name": "open", "category": "open"}, {"name": "done", "category": "done"}],
                           "transitions": [{"name": "finish", "from": ["open"], "to": "done",
                                            "guard": condition}]}],
            "rulesets": [{"name": "probe_rules", "kind": "validation", "entity": "probe", "rules": [
                {"name": "probe_rule", "when": {"event": "record.updated", "condition": condition},
                 "message": {"en": "the condition holds"}}]}]}


def guard_passes(session, record_id) -> bool:
    (item,) = transitions.available(session, "probe", record_id)["items"]
    return not any(b["code"] == "guard_failed" for b in item["blocked_by"])


def rule_fires(session, record_id, touch: str) -> bool:
    try:
        session.records.update("probe", record_id, {"note": touch})
    except ValidationFailed as refused:
        assert refused.code == "rule_refused"
        return True
    return False


@pytest.mark.parametrize("case, expected", [
    ({"c": None}, True), ({}, True), ({"c": "a"}, False), ({"c": "b"}, True)])
def test_not_in_on_an_empty_choice_is_true_everywhere(install, case, expected):
    """The issue's case: a choice holding null is not in ["a"] — as a guard, a rule, in SQL."""
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    condition = {"field": "c", "op": "not_in", "value": ["a"]}
    session.apply_metadata(document(condition))
    session = install.session("acme")
    record = session.records.create("probe", case)
    listed = [r["id"] for r in session.records.list("probe", condition=condition)["items"]]
    assert evaluate_condition(condition, record, session.metadata().entity("probe")) is expected
    assert (record["id"] in listed) is expected
    assert guard_passes(session, record["id"]) is expected
    assert rule_fires(session, record["id"], "x") is expected


def test_python_sql_guard_and_rule_agree(install):
    install.registry.create("acme", "Acme")
    counter = iter(range(10**6))

    @settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(conditions, records)
    def agree(condition, rows):
        session = install.session("acme")
        session.apply_metadata(document(condition))
        session = install.session("acme")
        entity = session.metadata().entity("probe")
        created = [session.records.create("probe", row) for row in rows]
        listed = {r["id"] for r in session.records.list("probe", condition=condition)["items"]}
        for record in created:
            verdict = evaluate_condition(condition, record, entity)
            where = (condition, record)
            assert (record["id"] in listed) is verdict, ("sql", *where)
            assert guard_passes(session, record["id"]) is verdict, ("guard", *where)
            assert rule_fires(session, record["id"], f"n{next(counter)}") is verdict, ("rule", *where)
            session.records.delete("probe", record["id"])

    agree()


def test_a_guard_false_only_under_not_blocks_the_transition(install):
    """Its false verdict comes from a true leaf under "not": it used to report no blocker
    and let the transition through."""
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document({"not": {"field": "c", "op": "not_exists"}}))
    session = install.session("acme")
    record = session.records.create("probe", {})
    (item,) = transitions.available(session, "probe", record["id"])["items"]
    assert item["allowed"] is False
    assert item["blocked_by"] == [{"field": "c", "code": "guard_failed", "op": "not_exists", "value": None,
                                   "actual": None, "passed": True,
                                   "message": "guard: c not_exists '' is true where it must not be (it is None)"}]
    with pytest.raises(Exception) as refused:
        transitions.perform(session, "probe", record["id"], "finish")
    assert getattr(refused.value, "status", None) == 409
    assert session.records.get("probe", record["id"])["stage"] == "open"


def test_listing_with_a_bad_condition_is_a_bad_query(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document({"field": "c", "op": "exists"}))
    session = install.session("acme")
    with pytest.raises(BadQuery) as bad:
        session.records.list("probe", condition={"field": "cc", "op": "eq", "value": ""})
    assert [d["field"] for d in bad.value.details] == ["/condition/field", "/condition/value"]
    with pytest.raises(BadQuery) as bad:
        session.records.list("probe", condition={"field": "t", "op": "matches", "value": "(a+)\\1"})
    assert [d["field"] for d in bad.value.details] == ["/condition/value"]


@pytest.mark.parametrize("pattern, found", [
    ("^a", ["a", "ab"]), ("(?i)^A", ["a", "A", "ab"]), ("^$", []), ("^[^a]", ["A", "é", "e\u0301", "退款", "客户要求退款"]),
    ("退", ["退款", "客户要求退款"]), ("(?i)É", []), ("\\w\\W", ["e\u0301"]), ("^.{1}$", ["a", "A", "é"])])
def test_matches_lists_what_python_finds_on_both_backends(install, pattern, found):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document({"field": "c", "op": "exists"}))
    session = install.session("acme")
    for text in ["a", "A", "ab", "é", "e\u0301", "退款", "客户要求退款", "", None]:
        session.records.create("probe", {"t": text})
    condition = {"field": "t", "op": "matches", "value": pattern}
    listed = sorted(r["t"] for r in session.records.list("probe", condition=condition)["items"])
    assert listed == sorted(found)
    unlisted = session.records.list("probe", condition={"not": condition})["items"]
    assert len(unlisted) == 9 - len(found)  # "" and null are empty: they fail matches


@pytest.mark.parametrize("condition, stored, expected", [
    ({"field": "t", "op": "contains", "value": "退款"}, "客户要求退款", True),
    ({"field": "t", "op": "contains", "value": "退款"}, "客户要求退货", False),
    ({"field": "t", "op": "contains", "value": "a"}, "A", False),                 # case counts
    ({"field": "t", "op": "contains", "value": "é"}, "e\u0301", False),           # no Unicode normalisation
    ({"field": "t", "op": "contains", "value": "a"}, "", False),                  # empty fails
    ({"field": "t", "op": "contains", "value": "a"}, None, False),
    ({"not": {"field": "t", "op": "contains", "value": "a"}}, None, True),
    ({"field": "t", "op": "matches", "value": "^客户.*退款$"}, "客户要求退款", True),
    ({"field": "t", "op": "matches", "value": "(?i)^a"}, "A", True),
    ({"field": "t", "op": "matches", "value": "^a"}, "A", False),
    ({"field": "t", "op": "matches", "value": "^$"}, "", False),                  # empty fails, even ^$
    ({"field": "t", "op": "matches", "value": "."}, None, False),
    ({"field": "m", "op": "contains", "value": "a"}, ["b", "a"], True),
    ({"field": "m", "op": "contains", "value": "a"}, [], False),
    ({"not": {"field": "m", "op": "contains", "value": "a"}}, [], True),
])
def test_contains_and_matches_agree_on_chinese_text_case_and_empty_values(install, condition, stored, expected):
    """contains and matches are decided by metadata.conditions for a fired rule as for a
    guard, and as the SQL filter decides them."""
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document(condition))
    session = install.session("acme")
    field = condition.get("not", condition)["field"]
    record = session.records.create("probe", {field: stored})
    listed = [r["id"] for r in session.records.list("probe", condition=condition)["items"]]
    assert evaluate_condition(condition, record, session.metadata().entity("probe")) is expected
    assert (record["id"] in listed) is expected
    assert guard_passes(session, record["id"]) is expected
    assert rule_fires(session, record["id"], "x") is expected
