"""The condition language of guards and rules: check_condition, evaluate_condition, explain_condition."""

import string
from datetime import timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata import check_condition, evaluate_condition, explain_condition, load_package
from metadata.conditions import NO_VALUE_OPS, OPS, SYSTEM_FIELD_TYPES, ops_for, system_field

PACKAGE = load_package({"entities": [
    {"name": "account", "fields": [{"name": "name", "type": "string"}]},
    {"name": "deal", "fields": [
        {"name": "name", "type": "string", "max_length": 20},
        {"name": "email", "type": "email"},
        {"name": "notes", "type": "text"},
        {"name": "age", "type": "integer", "min": 0, "max": 150},
        {"name": "score", "type": "decimal", "precision": 10, "scale": 2},
        {"name": "budget", "type": "currency"},
        {"name": "active", "type": "boolean"},
        {"name": "birthday", "type": "date"},
        {"name": "seen_at", "type": "datetime"},
        {"name": "tier", "type": "choice", "options": ["bronze", "silver", "gold"]},
        {"name": "tags", "type": "multi_choice", "options": ["vip", "new", "churn"]},
        {"name": "account", "type": "reference", "to": "account"},
        {"name": "extra", "type": "json"},
        {"name": "vin", "type": "vin"},
    ]},
]}, extra_types={"vin": "string"})
DEAL = PACKAGE.entity("deal")


def found(condition, entity=DEAL, path=""):
    return sorted((p.path, p.code) for p in check_condition(condition, entity, path))


def leaf(field, op, *value):
    return {"field": field, "op": op, **({"value": value[0]} if value else {})}


# --- checking ---------------------------------------------------------------------


@pytest.mark.parametrize("condition", [
    leaf("name", "eq", "Acme"), leaf("name", "ne", "x"), leaf("name", "in", ["a", "b"]),
    leaf("name", "not_in", ["a"]), leaf("name", "contains", "cm"), leaf("name", "matches", "^A.*e$"),
    leaf("name", "exists"), leaf("name", "not_exists"),
    leaf("email", "contains", "@example.com"), leaf("email", "eq", "not-an-address"),
    leaf("notes", "matches", "(?i)urgent"), leaf("vin", "contains", "WVW"),
    leaf("name", "eq", "a string much longer than the max_length of twenty"),
    leaf("age", "gte", 18), leaf("age", "lt", 1000), leaf("age", "in", [1, 2, 3]),
    leaf("score", "gt", 9.99), leaf("score", "lte", "100.005"), leaf("score", "eq", 12),
    leaf("budget", "gte", 100), leaf("budget", "lt", "99.50"),
    leaf("active", "eq", True), leaf("active", "ne", False), leaf("active", "in", [True]),
    leaf("birthday", "lt", "2000-01-01"), leaf("birthday", "in", ["2000-01-01", "2000-01-02"]),
    leaf("seen_at", "gte", "2024-01-01T09:30:00+08:00"), leaf("seen_at", "lt", "2024-01-01"),
    leaf("tier", "eq", "gold"), leaf("tier", "in", ["silver", "gold"]), leaf("tier", "not_in", ["bronze"]),
    leaf("tags", "contains", "vip"), leaf("tags", "eq", ["vip", "new"]),
    leaf("tags", "exists"), leaf("account", "eq", 7), leaf("account", "in", [1, "a-uuid"]),
    leaf("extra", "eq", {"any": ["json", None]}), leaf("extra", "not_exists"),
    *[leaf(name, "exists") for name in SYSTEM_FIELD_TYPES],
    leaf("id", "eq", 1), leaf("version", "gt", 3), leaf("owner_id", "in", [1, 2]),
    leaf("created_at", "gt", "2024-01-01"), leaf("updated_at", "lte", "2024-01-01T00:00:00Z"),
    {"all": [leaf("tier", "eq", "gold"), {"any": [leaf("age", "gt", 1), {"not": leaf("active", "eq", True)}]}]},
    {"not": {"not": leaf("name", "exists")}},
])
def test_well_formed_conditions_are_accepted(condition):
    assert found(condition) == []


@pytest.mark.parametrize("condition, expected", [
    ("priority", [("", "invalid_condition")]),
    ([leaf("name", "exists")], [("", "invalid_condition")]),
    ({}, [("/field", "invalid_condition"), ("/op", "invalid_condition")]),
    ({"field": 5, "op": "eq", "value": 1}, [("/field", "invalid_condition")]),
    ({"field": "name", "op": None, "value": 1}, [("/op", "invalid_condition")]),
    (leaf("name", "eq"), [("/value", "missing_value")]),
    (leaf("name", "exists", True), [("/value", "unexpected_value")]),
    (leaf("not_exists_field", "not_exists", None), [("/field", "unknown_field"), ("/value", "unexpected_value")]),
    (leaf("nam", "eq", "x"), [("/field", "unknown_field")]),
    (leaf("name", "like", "x"), [("/op", "unknown_op")]),
    (leaf("name", "gt", "x"), [("/op", "op_not_allowed")]),
    (leaf("tier", "contains", "g"), [("/op", "op_not_allowed")]),
    (leaf("age", "contains", "1"), [("/op", "op_not_allowed")]),
    (leaf("tier", "matches", "g.*"), [("/op", "op_not_allowed")]),
    (leaf("tags", "in", ["vip"]), [("/op", "op_not_allowed")]),
    (leaf("extra", "gt", 1), [("/op", "op_not_allowed")]),
    (leaf("active", "lt", True), [("/op", "op_not_allowed")]),
    (leaf("age", "eq", "18"), [("/value", "invalid_value")]),
    (leaf("age", "eq", 1.5), [("/value", "invalid_value")]),
    (leaf("age", "eq", True), [("/value", "invalid_value")]),
    (leaf("age", "gt", 2**64), [("/value", "invalid_value")]),
    (leaf("score", "gt", "abc"), [("/value", "invalid_value")]),
    (leaf("score", "gt", "1e5"), [("/value", "invalid_value")]),
    (leaf("budget", "gt", {"amount": 1}), [("/value", "invalid_value")]),
    (leaf("birthday", "lt", "yesterday"), [("/value", "invalid_value")]),
    (leaf("birthday", "lt", "2024-02-30"), [("/value", "invalid_value")]),
    (leaf("birthday", "lt", "2024-01-01T00:00:00Z"), [("/value", "invalid_value")]),
    (leaf("seen_at", "gt", "2024-01-01T25:00"), [("/value", "invalid_value")]),
    (leaf("tier", "eq", "platinum"), [("/value", "invalid_value")]),
    (leaf("tier", "in", ["gold", "platinum"]), [("/value/1", "invalid_value")]),
    (leaf("tier", "in", "gold"), [("/value", "invalid_value")]),
    (leaf("tier", "not_in", []), [("/value", "invalid_value")]),
    (leaf("tags", "contains", "gold"), [("/value", "invalid_value")]),
    (leaf("tags", "eq", "vip"), [("/value", "invalid_value")]),
    (leaf("tags", "eq", ["vip", "vip"]), [("/value", "invalid_value")]),
    (leaf("name", "matches", "(unclosed"), [("/value", "invalid_pattern")]),
    (leaf("name", "matches", 5), [("/value", "invalid_value")]),
    (leaf("name", "contains", 5), [("/value", "invalid_value")]),
    (leaf("name", "eq", None), [("/value", "invalid_value")]),
    (leaf("name", "eq", 5), [("/value", "invalid_value")]),
    (leaf("active", "eq", "true"), [("/value", "invalid_value")]),
    (leaf("account", "eq", ""), [("/value", "invalid_value")]),
    # empty comparison values: an empty record value fails eq and passes ne whatever it is compared with
    (leaf("name", "eq", ""), [("/value", "invalid_value")]), (leaf("name", "ne", ""), [("/value", "invalid_value")]),
    (leaf("tags", "eq", []), [("/value", "invalid_value")]), (leaf("tier", "in", ["gold", ""]), [("/value/1", "invalid_value")]),
    (leaf("name", "contains", ""), [("/value", "invalid_value")]),
    (leaf("id", "eq", "1"), [("/value", "invalid_value")]),
    (leaf("created_at", "gt", "last week"), [("/value", "invalid_value")]),
    ({**leaf("name", "eq", "x"), "extra": 1}, [("/extra", "invalid_condition")]),
    ({**leaf("name", "eq", "x"), "a/b": 1}, [("/a~1b", "invalid_condition")]),
    ({"all": []}, [("/all", "invalid_condition")]),
    ({"any": leaf("name", "exists")}, [("/any", "invalid_condition")]),
    ({"not": [leaf("name", "exists")]}, [("/not", "invalid_condition")]),
    ({"all": [leaf("name", "exists")], "field": "name"}, [("/field", "invalid_condition")]),
    ({"any": [leaf("nam", "eq", "x"), 5, {"not": leaf("age", "gt", "x")}]},
     [("/any/0/field", "unknown_field"), ("/any/1", "invalid_condition"), ("/any/2/not/value", "invalid_value")]),
])
def test_condition_problems_are_reported_at_their_path(condition, expected):
    assert found(condition) == sorted(expected)


def test_condition_paths_are_prefixed_with_where_the_condition_sits():
    problems = check_condition({"all": [leaf("nam", "eq", 1)]}, DEAL, "/workflows/0/transitions/2/guard")
    assert [(p.path, p.code) for p in problems] == [("/workflows/0/transitions/2/guard/all/0/field", "unknown_field")]


def test_messages_name_the_offending_value_in_plain_words():
    def message(condition):
        (problem,) = check_condition(condition, DEAL, "")
        return problem.message
    assert message(leaf("prio", "eq", 1)) == "unknown field 'prio': deal has no such field or system column"
    assert message(leaf("nmae", "eq", "x")).endswith("did you mean 'name'?")
    assert message(leaf("tier", "gt", "gold")) == ("'gt' does not apply to the choice field 'tier'; "
                                                    "use one of: eq, ne, in, not_in, exists, not_exists")
    assert "'platinum' is not one of the options: 'bronze', 'silver', 'gold'" in message(leaf("tier", "eq", "platinum"))
    assert "use 'exists' or 'not_exists'" in message(leaf("name", "eq", None))
    assert "unbalanced (" in message(leaf("name", "matches", "(x"))


def test_deep_nesting_is_refused_not_a_recursion_error():
    condition = leaf("name", "exists")
    for _ in range(40):
        condition = {"not": condition}
    ((path, code),) = found(condition)
    assert code == "invalid_condition" and path == "/not" * 32


def test_without_an_entity_only_structure_and_operators_are_checked():
    assert found(leaf("anything", "gt", "x"), entity=None) == []
    assert found(leaf("anything", "like", "x"), entity=None) == [("/op", "unknown_op")]
    assert found(leaf("anything", "eq"), entity=None) == [("/value", "missing_value")]


def test_operators_per_type_are_listed_in_a_stable_order():
    assert ops_for("choice") == ("eq", "ne", "in", "not_in", "exists", "not_exists")
    assert ops_for("multi_choice") == ("eq", "ne", "contains", "exists", "not_exists")
    assert ops_for("integer") == ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists")
    assert ops_for("unknown type") == OPS
    assert system_field("created_at").base_type == "datetime" and system_field("name") is None


# --- evaluating -------------------------------------------------------------------

GOLD = {"name": "Acme", "email": "ops@acme.test", "age": 42, "score": "12.50",
        "budget": {"amount": "100.00", "currency": "EUR"}, "active": True, "birthday": "1999-12-31",
        "seen_at": "2024-01-01T00:00:00Z", "tier": "gold", "tags": ["new", "vip"], "account": 7,
        "extra": {"a": [1, 2]}, "id": 1, "created_at": "2024-03-01T10:00:00Z", "notes": ""}


@pytest.mark.parametrize("condition, expected", [
    (leaf("name", "eq", "Acme"), True), (leaf("name", "eq", "acme"), False),
    (leaf("name", "ne", "Other"), True), (leaf("name", "contains", "cm"), True),
    (leaf("name", "matches", "^ac"), False), (leaf("name", "matches", "(?i)^ac"), True),
    (leaf("name", "matches", "cm"), True),  # a search, not a full match
    (leaf("name", "in", ["Acme", "Beta"]), True), (leaf("name", "not_in", ["Acme"]), False),
    (leaf("score", "eq", 12.5), True), (leaf("score", "eq", "12.5"), True), (leaf("score", "gt", "9.99"), True),
    (leaf("score", "lt", 12.5), False), (leaf("score", "lte", 12.5), True), (leaf("score", "in", [1, 12.5]), True),
    (leaf("age", "gte", 42), True), (leaf("age", "gt", 42), False), (leaf("age", "eq", 42.0), True),
    (leaf("budget", "gte", 100), True), (leaf("budget", "gt", "99.99"), True), (leaf("budget", "lt", 100), False),
    (leaf("active", "eq", True), True), (leaf("active", "ne", False), True), (leaf("active", "in", [False]), False),
    (leaf("birthday", "lt", "2000-01-01"), True), (leaf("birthday", "gte", "2000-01-01"), False),
    (leaf("seen_at", "eq", "2024-01-01T08:00:00+08:00"), True), (leaf("seen_at", "gte", "2024-01-01"), True),
    (leaf("seen_at", "lt", "2024-01-01T00:00:01"), True),  # naive is taken as UTC
    (leaf("created_at", "gt", "2024-02-29"), True),
    (leaf("tier", "in", ["silver", "gold"]), True), (leaf("tier", "not_in", ["silver", "gold"]), False),
    (leaf("tags", "contains", "vip"), True), (leaf("tags", "contains", "churn"), False),
    (leaf("tags", "eq", ["vip", "new"]), True), (leaf("tags", "ne", ["vip"]), True),
    (leaf("account", "eq", 7), True), (leaf("account", "in", [1, 2]), False),
    (leaf("extra", "eq", {"a": [1, 2]}), True), (leaf("extra", "eq", {"a": [2, 1]}), False),
    (leaf("notes", "exists"), False), (leaf("notes", "not_exists"), True), (leaf("notes", "ne", "x"), True),
    (leaf("notes", "not_in", ["x"]), True), (leaf("notes", "in", ["x"]), False),
    (leaf("birthday", "exists"), True), (leaf("id", "eq", 1), True),
    ({"all": [leaf("tier", "eq", "gold"), leaf("age", "gt", 40)]}, True),
    ({"all": [leaf("tier", "eq", "gold"), leaf("age", "gt", 50)]}, False),
    ({"any": [leaf("tier", "eq", "bronze"), leaf("age", "gt", 40)]}, True),
    ({"any": [leaf("tier", "eq", "bronze"), leaf("age", "gt", 50)]}, False),
    ({"not": leaf("tier", "eq", "gold")}, False),
    ({"not": {"any": [leaf("active", "eq", False), {"all": [leaf("tags", "contains", "vip")]}]}}, False),
])
def test_evaluate_compares_by_field_type(condition, expected):
    assert found(condition) == []  # every case is a valid condition
    assert evaluate_condition(condition, GOLD, DEAL) is expected


@pytest.mark.parametrize("op, value", [
    ("eq", 1), ("ne", 1), ("gt", 1), ("gte", 1), ("lt", 1), ("lte", 1), ("in", [1]), ("not_in", [1]),
    ("contains", "a"), ("matches", "a"), ("exists", None), ("not_exists", None),
])
@pytest.mark.parametrize("record", [{}, {"x": None}, {"x": ""}, {"x": []}])
def test_an_empty_value_fails_every_op_except_ne_not_in_and_not_exists(op, value, record):
    """The truth table of docs/metadata.md#conditions."""
    condition = leaf("x", op) if op in NO_VALUE_OPS else leaf("x", op, value)
    assert evaluate_condition(condition, record) is (op in ("ne", "not_in", "not_exists"))


@pytest.mark.parametrize("condition, record, expected", [
    (leaf("age", "ne", 3), {"age": "three"}, True), (leaf("age", "exists"), {"age": "three"}, False),
    (leaf("active", "eq", True), {"active": 1}, False), (leaf("active", "not_exists"), {"active": 1}, True),
    (leaf("name", "not_in", ["5"]), {"name": 5}, True), (leaf("birthday", "exists"), {"birthday": "someday"}, False),
])
def test_a_value_that_does_not_fit_its_type_counts_as_empty(condition, record, expected):
    assert evaluate_condition(condition, record, DEAL) is expected


@pytest.mark.parametrize("condition, record, expected", [
    (leaf("x", "eq", 10), {"x": "10.0"}, True),  # a number against numeric text: numerically
    (leaf("x", "gt", "9.5"), {"x": "10"}, True),  # ordering two numeric texts: numerically
    (leaf("x", "eq", "12.5"), {"x": "12.50"}, False),  # two texts are compared as text for equality ...
    (leaf("x", "eq", "2024-01-01T08:00:00+08:00"), {"x": "2024-01-01T00:00Z"}, True),  # ... unless both are moments
    (leaf("x", "lt", "2024-01-02"), {"x": "2024-01-01T23:59:59Z"}, True),
    (leaf("x", "gt", "b"), {"x": "c"}, False),  # text has no order without a type
    (leaf("x", "eq", 1), {"x": True}, False), (leaf("x", "eq", True), {"x": True}, True),
    (leaf("x", "gte", 100), {"x": {"amount": "100.00", "currency": "EUR"}}, True),
    (leaf("x", "eq", ["a", "b"]), {"x": ["b", "a"]}, True),
    (leaf("x", "contains", "a"), {"x": ["a", "b"]}, True), (leaf("x", "contains", "a"), {"x": 5}, False),
    (leaf("x", "gt", 1), {"x": "not a number"}, False), (leaf("x", "in", "oops"), {"x": "o"}, False),
])
def test_without_the_entity_types_are_inferred_from_the_values(condition, record, expected):
    assert evaluate_condition(condition, record) is expected


def test_passing_the_entity_makes_decimal_texts_equal_numerically():
    condition = leaf("score", "eq", "12.5")
    assert evaluate_condition(condition, {"score": "12.50"}, DEAL) is True
    assert evaluate_condition(condition, {"score": "12.50"}) is False


@pytest.mark.parametrize("condition", [
    "x", None, [], {"all": "x"}, {"field": "x"}, {"field": "x", "op": "like", "value": 1}, {"op": "eq", "value": 1},
])
def test_evaluating_a_malformed_condition_raises_value_error(condition):
    with pytest.raises(ValueError, match="malformed condition"):
        evaluate_condition(condition, GOLD)


def test_explain_lists_every_leaf_with_its_actual_value_and_verdict():
    condition = {"all": [leaf("tier", "eq", "gold"),
                         {"any": [leaf("age", "gt", 50), {"not": leaf("nickname", "exists")}]}]}
    assert explain_condition(condition, GOLD, DEAL) == [
        {"path": "/all/0", "field": "tier", "op": "eq", "value": "gold", "actual": "gold", "passed": True},
        {"path": "/all/1/any/0", "field": "age", "op": "gt", "value": 50, "actual": 42, "passed": False},
        {"path": "/all/1/any/1/not", "field": "nickname", "op": "exists", "actual": None, "passed": False},
    ]
    assert evaluate_condition(condition, GOLD, DEAL) is True
    assert explain_condition(leaf("name", "eq", "Acme"), GOLD) == [
        {"path": "", "field": "name", "op": "eq", "value": "Acme", "actual": "Acme", "passed": True}]


def test_explain_returns_copies_not_the_records_own_values():
    record = {"tags": ["vip"]}
    (entry,) = explain_condition(leaf("tags", "contains", "vip"), record)
    entry["actual"].append("changed")
    assert record == {"tags": ["vip"]}


# --- properties -------------------------------------------------------------------

SETTINGS = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = DEAL.fields + tuple(system_field(name) for name in SYSTEM_FIELD_TYPES)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
decimal_texts = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False).map(lambda d: format(d, "f"))
zones = st.sampled_from([None, timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])
moments = st.datetimes(timezones=zones).map(lambda d: d.isoformat())
dates = st.dates().map(lambda d: d.isoformat())


def values_for(field):
    return _values_for(field).filter(lambda v: v != "" and v != [])  # never an empty comparison value


def _values_for(field):
    base = field.base_type
    if base in ("string", "text", "email", "phone", "url"):
        return st.text(alphabet=string.ascii_letters + "@. 客", max_size=6)
    if base == "integer":
        return st.integers(-10**9, 10**9)
    if base in ("decimal", "currency"):
        return st.integers(-1000, 1000) | decimal_texts | st.floats(-1000, 1000).map(lambda f: round(f, 2))
    if base == "boolean":
        return st.booleans()
    if base == "date":
        return dates
    if base == "datetime":
        return moments | dates
    if base == "choice":
        return st.sampled_from(field.option_values())
    if base == "multi_choice":
        return st.lists(st.sampled_from(field.option_values()), unique=True)
    if base == "reference":
        return st.integers(1, 10**6) | st.text(alphabet="abc-", min_size=1, max_size=5)
    return json_values.filter(lambda v: v is not None)  # null is never a comparison value


@st.composite
def leaves(draw):
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(ops_for(field.base_type)))
    if op in NO_VALUE_OPS:
        return leaf(field.name, op)
    if op in ("in", "not_in"):
        return leaf(field.name, op, draw(st.lists(values_for(field), min_size=1, max_size=3)))
    if op == "matches":
        return leaf(field.name, op, draw(st.sampled_from(["^a", "b+", "[0-9]{2}", "x|y", "(?i)A.c"])))
    if op == "contains" and field.base_type == "multi_choice":
        return leaf(field.name, op, draw(st.sampled_from(field.option_values())))
    if op == "contains":
        return leaf(field.name, op, draw(st.text(alphabet="abc@.", min_size=1, max_size=3)))
    return leaf(field.name, op, draw(values_for(field)))


conditions = st.recursive(leaves(), lambda inner: (
    st.lists(inner, min_size=1, max_size=3).map(lambda items: {"all": items})
    | st.lists(inner, min_size=1, max_size=3).map(lambda items: {"any": items})
    | inner.map(lambda c: {"not": c})), max_leaves=8)


def stored_values(field):
    if field.base_type == "currency":  # the engine's JSON form of a currency value
        return st.builds(lambda amount: {"amount": amount, "currency": "EUR"}, decimal_texts)
    if field.base_type == "decimal":
        return decimal_texts
    return values_for(field)


@st.composite
def records(draw):
    record = {}
    for field in draw(st.lists(st.sampled_from(FIELDS), unique_by=lambda f: f.name)):
        record[field.name] = draw(stored_values(field) | st.none() | json_values)  # sometimes the wrong type
    return record


def combine(condition, verdicts, path=""):
    """The verdict of ``condition`` rebuilt from explain's leaf verdicts alone."""
    if "all" in condition:
        return all([combine(c, verdicts, f"{path}/all/{k}") for k, c in enumerate(condition["all"])])
    if "any" in condition:
        return any([combine(c, verdicts, f"{path}/any/{k}") for k, c in enumerate(condition["any"])])
    if "not" in condition:
        return not combine(condition["not"], verdicts, f"{path}/not")
    return verdicts[path]


def leaf_paths(condition, path=""):
    for key in ("all", "any"):
        if key in condition:
            return [p for k, c in enumerate(condition[key]) for p in leaf_paths(c, f"{path}/{key}/{k}")]
    if "not" in condition:
        return leaf_paths(condition["not"], f"{path}/not")
    return [path]


@SETTINGS
@given(conditions, records())
def test_random_valid_conditions_on_random_records_never_raise_and_explain_agrees(condition, record):
    assert check_condition(condition, DEAL, "") == []
    for entity in (DEAL, None):
        verdict = evaluate_condition(condition, record, entity)
        explained = explain_condition(condition, record, entity)
        assert isinstance(verdict, bool)
        assert [e["path"] for e in explained] == leaf_paths(condition)
        assert combine(condition, {e["path"]: e["passed"] for e in explained}) is verdict
        for entry in explained:
            single = {k: entry[k] for k in ("field", "op", "value") if k in entry}
            assert evaluate_condition(single, record, entity) is entry["passed"]
            assert entry["actual"] == record.get(entry["field"]) or entry["actual"] != entry["actual"]


@SETTINGS
@given(json_values | st.dictionaries(st.sampled_from(["field", "op", "value", "all", "any", "not"]),
                                     json_values | st.sampled_from(OPS + ("name", "tier", "age"))))
def test_check_condition_never_raises_and_accepted_conditions_evaluate(condition):
    problems = check_condition(condition, DEAL, "/guard")
    assert all(p.path.startswith("/guard") and p.code and p.message for p in problems)
    if not problems:
        assert isinstance(evaluate_condition(condition, GOLD, DEAL), bool)
