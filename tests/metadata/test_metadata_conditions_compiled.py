"""compile_condition: a condition compiled once gives evaluate_condition's verdict on every record,
and evaluate_condition / explain_condition are those compiled closures."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata.condition_terms import field_typer
from metadata.conditions import OPS, evaluate_condition, explain_condition, leaf_holds
from metadata.conditions_compiled import compile_condition, compile_leaf, compiled
from tests.metadata.test_metadata_conditions import (DEAL, FIELDS, SETTINGS, conditions, json_values, leaf,
                                                     records, stored_values)

# What the rules engine passes: {field: base type}, no options or ranges.
TYPES = {field.name: field.base_type for field in DEAL.fields}
ENTITIES = (DEAL, TYPES, None)


def near(value):
    """Values a record may hold that are close to a comparison value: the same text in
    another case or with an accent, a decimal with other trailing zeros or as a JSON
    number, a date as its midnight in other zones, a list reordered."""
    out = [value]
    if isinstance(value, str):
        out += [value.upper(), value.lower(), value.swapcase(), value + "\u0301", " " + value]
        try:
            number = Decimal(value)
            out += [format(number, "f") + "0", str(float(number)), float(number), int(number)]
        except (ArithmeticError, ValueError):
            pass
        try:
            day = date.fromisoformat(value)
            out += [f"{value}T00:00:00Z", f"{value}T08:00:00+08:00", f"{value}T00:00:00", f"{value}T00:00:01Z"]
            out.append((day - timedelta(days=1)).isoformat())
        except (ValueError, OverflowError):
            pass
        try:
            moment = datetime.fromisoformat(value)
            out += [moment.astimezone(timezone(timedelta(hours=-5))).isoformat(), moment.date().isoformat()]
        except (ValueError, OverflowError):
            pass
    elif isinstance(value, bool):
        out += [not value, int(value), str(value).lower()]
    elif isinstance(value, (int, float)):
        out += [str(value), f"{value}.00" if isinstance(value, int) else repr(value), value + 1, {"amount": str(value), "currency": "EUR"}]
    elif isinstance(value, list):
        out += [list(reversed(value)), value[:1], value + value[:1]]
    return out


def comparison_values(condition):
    if "not" in condition:
        return comparison_values(condition["not"])
    for key in ("all", "any"):
        if key in condition:
            return [v for c in condition[key] for v in comparison_values(c)]
    value = condition.get("value")
    return value if isinstance(value, list) else [value]


@st.composite
def condition_and_records(draw):
    """A valid condition and records that sometimes hold values near its comparison values."""
    condition = draw(conditions)
    names = [f.name for f in FIELDS]
    close = [v for value in comparison_values(condition) if value is not None for v in near(value)]
    stored = [draw(records()) for _ in range(2)]
    for _ in range(3):
        record = {}
        for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=6)):
            record[name] = draw(st.sampled_from(close + [None, "", []]) if close else st.none())
        stored.append(record)
    return condition, stored


@SETTINGS
@given(condition_and_records())
def test_a_compiled_condition_agrees_with_the_interpreter(case):
    condition, stored = case
    for entity in ENTITIES:
        test = compile_condition(condition, entity)
        for record in stored:
            assert test(record) is evaluate_condition(condition, record, entity), (entity, record)


@SETTINGS
@given(st.sampled_from(FIELDS), st.sampled_from(OPS), st.data())
def test_a_compiled_leaf_agrees_with_leaf_holds_even_on_values_check_refuses(field, op, data):
    """Also comparison values of the wrong type, empty or odd (no check_condition first)."""
    value = data.draw(stored_values(field) | json_values | st.lists(stored_values(field), max_size=3))
    actual = data.draw(st.sampled_from(near(value)) | stored_values(field) | json_values)
    for base in (field.base_type, None):
        assert compile_leaf(field.name, op, value, base)({field.name: actual}) is \
            leaf_holds(op, actual, value, base), (base, actual)
        test = compile_condition({"field": field.name, "op": op, "value": value}, {field.name: base})
        assert test({field.name: actual}) is evaluate_condition({"field": field.name, "op": op, "value": value},
                                                               {field.name: actual}, {field.name: base})


@pytest.mark.parametrize("condition, record, expected", [
    (leaf("name", "eq", "Acme"), {"name": "acme"}, False),              # text compares exactly: no case folding
    (leaf("name", "in", ["É"]), {"name": "E\u0301"}, False),            # nor Unicode normalisation
    (leaf("tier", "ne", "gold"), {}, True),                              # empty passes ne
    (leaf("tier", "not_in", ["gold"]), {"tier": ""}, True),              # and not_in
    (leaf("score", "eq", "1.5"), {"score": "1.50"}, True),               # decimals numerically
    (leaf("score", "in", [1.5, 2]), {"score": "2.00"}, True),
    (leaf("score", "gt", 1), {"score": "abc"}, False),                   # does not fit: empty
    (leaf("score", "ne", 1), {"score": "abc"}, True),
    (leaf("budget", "gte", "99.50"), {"budget": {"amount": "99.5", "currency": "EUR"}}, True),
    (leaf("seen_at", "eq", "2024-01-01"), {"seen_at": "2024-01-01T08:00:00+08:00"}, True),   # the same moment
    (leaf("seen_at", "eq", "2024-01-01"), {"seen_at": "2024-01-01T00:00:00-05:00"}, False),
    (leaf("seen_at", "eq", "2024-01-01"), {"seen_at": "2024-01-01T00:00:00Z"}, True),
    (leaf("birthday", "lt", "2000-01-01"), {"birthday": "1999-12-31"}, True),
    (leaf("active", "eq", True), {"active": 1}, False),                  # true is not 1
    (leaf("active", "ne", True), {"active": "yes"}, True),
    (leaf("notes", "matches", "(?i)URGENT"), {"notes": "is urgent"}, True),
    (leaf("notes", "contains", "vip"), {"notes": ["vip"]}, False),
    (leaf("tags", "contains", "vip"), {"tags": ["new", "vip"]}, True),
    ({"all": [leaf("tier", "eq", "gold"), {"not": leaf("age", "gt", 18)}]}, {"tier": "gold", "age": 12}, True),
    ({"any": [leaf("tier", "eq", "gold"), leaf("age", "gt", 18)]}, {"tier": "silver", "age": "18"}, False),
])
def test_compiled_verdicts_on_the_language_s_edges(condition, record, expected):
    for entity in (DEAL, TYPES):
        assert compile_condition(condition, entity)(record) is expected
        assert evaluate_condition(condition, record, entity) is expected
    assert compile_condition(condition)(record) is evaluate_condition(condition, record)  # types inferred


def test_a_record_that_is_not_an_object_has_every_field_empty():
    assert compile_condition(leaf("tier", "ne", "gold"), DEAL)(["gold"]) is True
    assert compile_condition(leaf("tier", "eq", "gold"), DEAL)(None) is False


@pytest.mark.parametrize("condition", [
    "tier", {"all": "x"}, {"field": 3, "op": "eq", "value": 1}, {"field": "tier", "op": "like", "value": "a"},
    {"any": [leaf("tier", "eq", "gold"), {"field": "tier"}]},     # malformed even where evaluation would stop early
])
def test_compiling_a_malformed_condition_raises_value_error_at_once(condition):
    with pytest.raises(ValueError, match="malformed condition"):
        compile_condition(condition, DEAL)


# --- one interpreter: evaluate and explain are the compiled closures ---------------------


def walked(condition, record, base_of):
    """A condition's verdict by a plain walk of its tree, each leaf by leaf_holds."""
    if "not" in condition:
        return not walked(condition["not"], record, base_of)
    for key, combine in (("all", all), ("any", any)):
        if key in condition:
            return combine([walked(c, record, base_of) for c in condition[key]])
    return leaf_holds(condition["op"], record.get(condition["field"]), condition.get("value"),
                      base_of(condition["field"]))


@SETTINGS
@given(condition_and_records())
def test_evaluate_and_explain_agree_with_a_plain_walk_of_leaf_holds(case):
    condition, stored = case
    for entity in ENTITIES:
        base_of = field_typer(entity)
        for record in stored:
            assert evaluate_condition(condition, record, entity) is walked(condition, record, base_of)
            assert [entry["passed"] for entry in explain_condition(condition, record, entity)] == [
                leaf_holds(entry["op"], record.get(entry["field"]), entry.get("value"), base_of(entry["field"]))
                for entry in explain_condition(condition, record, entity)]


def test_a_condition_is_compiled_once_per_condition_object_and_typing():
    condition = leaf("score", "eq", "12.5")
    assert compiled(condition, DEAL) is compiled(condition, DEAL)
    assert compiled(condition, DEAL) is not compiled(condition, None)
    assert evaluate_condition(condition, {"score": "12.50"}, DEAL) is True
    assert evaluate_condition(condition, {"score": "12.50"}) is False       # inferred: two texts
    twin = leaf("score", "eq", "12.5")                                        # equal, another object
    assert compiled(twin, DEAL) is not compiled(condition, DEAL)
    assert evaluate_condition(leaf("score", "eq", "99"), {"score": "12.50"}, DEAL) is False


def test_answers_stay_right_past_the_number_of_compiled_conditions_kept():
    first = leaf("age", "gt", 18)
    assert evaluate_condition(first, {"age": 20}, DEAL) is True
    others = [leaf("age", "gt", n) for n in range(5000)]
    assert [evaluate_condition(c, {"age": 100}, DEAL) for c in others] == [n < 100 for n in range(5000)]
    assert evaluate_condition(first, {"age": 20}, DEAL) is True
    assert evaluate_condition(first, {"age": 10}, DEAL) is False


@pytest.mark.parametrize("condition", [
    {"any": [leaf("tier", "eq", "gold"), {"field": "tier"}]},
    {"all": [leaf("tier", "eq", "silver"), {"field": "tier", "op": "like", "value": 1}]},
    {"any": [leaf("tier", "eq", "gold"), {"not": "x"}]},
])
def test_evaluating_raises_for_a_malformed_part_even_where_no_record_would_reach_it(condition):
    for record in ({"tier": "gold"}, {"tier": "silver"}):
        with pytest.raises(ValueError, match="malformed condition"):
            evaluate_condition(condition, record, DEAL)
        with pytest.raises(ValueError, match="malformed condition"):
            explain_condition(condition, record, DEAL)
