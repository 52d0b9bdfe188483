"""Record validation from the metadata: every field type, its constraints, references and
uniqueness, on SQLite and PostgreSQL; and the batch loader judging exactly like the
marshmallow schema (a property test)."""
import copy
import faulthandler
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.auth import create_user
from engine.errors import Conflict, ValidationFailed
from engine.records.integrity import explain_integrity_error
from engine.records.loader import BatchLoader
from engine.schemas import entity_schema, errors_to_details, openapi_property
from metadata import load_package

ALL_TYPES = {"entities": [
    {"name": "owner", "label": "Owner", "fields": [
        {"name": "name", "type": "string", "required": True, "max_length": 40}]},
    {"name": "sample", "label": "Sample", "fields": [
        {"name": "code", "type": "string", "max_length": 8, "pattern": "[A-Z]{2}-[0-9]+", "unique": True},
        {"name": "notes", "type": "text"},
        {"name": "count", "type": "integer", "min": 0, "max": 1000},
        {"name": "price", "type": "decimal", "precision": 8, "scale": 2, "min": 0},
        {"name": "active", "type": "boolean", "default": True},
        {"name": "born", "type": "date", "min": "1900-01-01", "max": "2100-12-31"},
        {"name": "seen_at", "type": "datetime"},
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "site", "type": "url"},
        {"name": "size", "type": "choice", "options": ["s", "m", "l"], "required": True},
        {"name": "tags", "type": "multi_choice", "options": ["red", "green", "blue"]},
        {"name": "owner", "type": "reference", "to": "owner"},
        {"name": "budget", "type": "currency", "precision": 12, "scale": 2, "min": 0},
        {"name": "extra", "type": "json"},
        {"name": "serial", "type": "string", "readonly": True},
        {"name": "fine", "type": "decimal", "precision": 30, "scale": 10},
    ]},
]}

VALID = {
    "code": "AB-12", "notes": "Ünïcode ✓ 名前 😀", "count": 7, "price": "12.50", "active": False,
    "born": "1999-12-31", "seen_at": "2024-05-01T09:30:00+02:00", "email": "ann@example.org",
    "phone": "+49 30 1234-567", "site": "https://example.org/a?b=c", "size": "m",
    "tags": ["red", "blue"], "budget": {"amount": "99.95", "currency": "EUR"},
    "extra": {"nested": [1, 2.5, None, True, "x"], "empty": {}}, "serial": "S-1",
}
STORED = {**VALID, "seen_at": "2024-05-01T07:30:00Z"}


@pytest.fixture
def lab(install):
    install.registry.create("lab", "Lab")
    session = install.session("lab")
    session.apply_metadata(ALL_TYPES)
    return session


def count(session, entity="sample") -> int:
    table = session.metadata().tables[entity]
    with session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def refused(call, *args) -> list[dict]:
    with pytest.raises(ValidationFailed) as exc:
        call(*args)
    assert exc.value.status == 400
    return exc.value.details


def fields_of(details) -> set:
    return {d["field"] for d in details}


# -- every type, valid values -------------------------------------------------------------

def test_a_valid_value_of_every_type_is_stored_and_read_back_exactly(lab):
    owner = lab.records.create("owner", {"name": "Olga"})
    created = lab.records.create("sample", {**VALID, "owner": owner["id"]})
    expected = {**STORED, "owner": owner["id"]}
    assert {k: created[k] for k in expected} == expected
    assert {k: v for k, v in lab.records.get("sample", created["id"]).items()} == created


@pytest.mark.parametrize("field, given, stored", [
    ("price", 12, "12.00"),
    ("price", 12.5, "12.50"),
    ("price", "-0", "0.00"),
    ("price", "0.10", "0.10"),
    ("price", "123456.99", "123456.99"),
    ("count", 0, 0),
    ("count", 1000, 1000),
    ("seen_at", "2024-05-01T09:30:00", "2024-05-01T09:30:00Z"),
    ("seen_at", "2024-05-01 09:30Z", "2024-05-01T09:30:00Z"),
    ("seen_at", "2024-05-01T23:30:00.123456-05:00", "2024-05-02T04:30:00.123456Z"),
    ("born", "1900-01-01", "1900-01-01"),
    ("born", "2000-02-29", "2000-02-29"),
    ("tags", [], []),
    ("budget", {"amount": 0, "currency": "JPY"}, {"amount": "0.00", "currency": "JPY"}),
    ("budget", {"amount": 10.1, "currency": "USD"}, {"amount": "10.10", "currency": "USD"}),
    ("extra", [1, "two", {"three": [3]}], [1, "two", {"three": [3]}]),
    ("extra", "just text", "just text"),
    ("extra", [12345678901234567890], [12345678901234567890]),
    ("notes", "", ""),
    ("email", "first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ("site", "http://localhost:8080/x", "http://localhost:8080/x"),
])
def test_values_are_normalised_to_their_types_canonical_form(lab, field, given, stored):
    record = lab.records.create("sample", {"size": "s", field: given})
    assert record[field] == stored
    assert lab.records.get("sample", record["id"])[field] == stored


@pytest.mark.parametrize("value", [12345678901234567890, 1.0, 7])
def test_a_json_field_keeps_a_bare_number_exactly(lab, value):
    record = lab.records.create("sample", {"size": "s", "extra": value})
    stored = lab.records.get("sample", record["id"])["extra"]
    assert (type(stored), stored) == (type(value), value)


def test_defaults_fill_fields_the_input_leaves_out_but_not_explicit_nulls(lab):
    missing = lab.records.create("sample", {"size": "s"})
    assert missing["active"] is True
    explicit = lab.records.create("sample", {"size": "s", "active": None})
    assert explicit["active"] is None


# -- every type, invalid values -----------------------------------------------------------

INVALID = [
    ("code", 12, "must be a string"),
    ("code", "AB-123456", "at most 8 characters"),
    ("code", "ab-12", "does not match the pattern"),
    ("code", "AB-12\n", "does not match the pattern"),
    ("notes", "nul\x00inside", "NUL"),
    ("notes", "lone \ud800 surrogate", "surrogate"),
    ("notes", ["a"], "must be a string"),
    ("count", "7", "whole number"),
    ("count", 7.0, "whole number"),
    ("count", True, "whole number"),
    ("count", -1, "at least 0"),
    ("count", 1001, "at most 1000"),
    ("count", 2**70, "out of range"),
    ("price", "12.345", "at most 2 decimal places"),
    ("price", "1234567.00", "at most 6 digits before"),
    ("price", "-1", "at least 0"),
    ("price", "abc", "is not a number"),
    ("price", "1e3", "is not a number"),
    ("price", " 12", "is not a number"),
    ("price", "1_000", "is not a number"),
    ("price", "NaN", "is not a number"),
    ("price", float("inf"), "finite"),
    ("price", float("nan"), "finite"),
    ("price", 1e300, "digits before"),
    ("price", True, "must be a number"),
    ("price", [1], "must be a number"),
    ("fine", "1234567890123456789012.5", "at most 20 digits before"),
    ("fine", "0.00000000001", "at most 10 decimal places"),
    ("active", "true", "true or false"),
    ("active", 1, "true or false"),
    ("born", "2020-02-30", "YYYY-MM-DD"),
    ("born", "2020-W01-1", "YYYY-MM-DD"),
    ("born", "20200101", "YYYY-MM-DD"),
    ("born", "2020-01-01T00:00:00", "YYYY-MM-DD"),
    ("born", "1899-12-31", "at least 1900-01-01"),
    ("born", 20200101, "YYYY-MM-DD"),
    ("seen_at", "yesterday", "ISO 8601"),
    ("seen_at", "2024-05-01", "ISO 8601"),
    ("seen_at", "2024-13-01T00:00:00Z", "ISO 8601"),
    ("seen_at", "0001-01-01T00:00:00+01:00", "outside the years"),
    ("seen_at", 1714555800, "ISO 8601"),
    ("email", "not-an-email", "e-mail"),
    ("email", "a@b.co\n", "e-mail"),
    ("email", "a@.example.org", "e-mail"),
    ("phone", "call me", "phone"),
    ("phone", "+1 555 1234\n", "phone"),
    ("site", "ftp://example.org", "URL"),
    ("site", "https://", "URL"),
    ("site", "https://exa mple.org", "URL"),
    ("size", "xl", "is not one of: s, m, l"),
    ("size", ["s"], "is not one of"),
    ("tags", ["red", "red"], "repeat"),
    ("tags", ["pink"], "is not one of"),
    ("tags", "red", "list of options"),
    ("owner", "1", "whole number"),
    ("owner", 0, "whole number"),
    ("owner", True, "whole number"),
    ("owner", 2**63, "whole number"),
    ("owner", 424242, "no owner record with id 424242"),
    ("budget", {"amount": "1.00"}, "ISO 4217"),
    ("budget", {"amount": "1.00", "currency": "EURO"}, "ISO 4217"),
    ("budget", {"amount": "1.00", "currency": "eur"}, "ISO 4217"),
    ("budget", {"amount": "1.005", "currency": "EUR"}, "decimal places"),
    ("budget", {"amount": "-1", "currency": "EUR"}, "at least 0"),
    ("budget", {"amount": 1, "currency": "EUR", "rate": 2}, "must be {"),
    ("budget", "12 EUR", "must be {"),
    ("extra", {"k": "nul\x00"}, "NUL"),
    ("extra", {"k": float("nan")}, "finite"),
    ("extra", [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], "nested"),
    ("extra", {"when": date(2020, 1, 1)}, "JSON value"),
]


@pytest.mark.parametrize("field, value, message", INVALID, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(INVALID)])
def test_an_invalid_value_is_refused_naming_its_field_and_nothing_is_written(lab, field, value, message):
    details = refused(lab.records.create, "sample", {"size": "s", field: value})
    assert [d["field"] for d in details] == [field]
    assert message in details[0]["message"]
    assert count(lab) == 0


def test_every_problem_of_one_record_is_reported_at_once(lab):
    details = refused(lab.records.create, "sample", {
        "code": "lower", "count": "x", "price": "1.234", "born": "never", "email": "no",
        "tags": ["pink"], "owner": 99, "budget": {"amount": 1, "currency": "XXXX"},
        "colour": "red", "id": 5, "version": 2})
    assert fields_of(details) == {"code", "count", "price", "born", "email", "tags", "owner",
                                  "budget", "colour", "id", "version", "size"}
    messages = {d["field"]: d["message"] for d in details}
    assert messages["colour"] == "unknown field 'colour'"
    assert messages["id"] == messages["version"] == "is read-only"
    assert messages["size"] == "is required"
    assert count(lab) == 0


def test_a_required_field_may_be_neither_missing_nor_null(lab):
    assert refused(lab.records.create, "sample", {}) == [{"field": "size", "code": "required", "message": "is required"}]
    assert refused(lab.records.create, "sample", {"size": None}) == [
        {"field": "size", "code": "required", "message": "is required and cannot be null"}]
    record = lab.records.create("sample", {"size": "l"})
    assert refused(lab.records.update, "sample", record["id"], {"size": None}) == [
        {"field": "size", "code": "required", "message": "is required and cannot be null"}]


def test_a_body_that_is_not_an_object_is_refused(lab):
    for body in ([], "text", 5, None):
        with pytest.raises(ValidationFailed):
            lab.records.create("sample", body)


# -- updates ---------------------------------------------------------------------------------

def test_an_update_is_validated_like_a_create_and_reports_every_problem(lab):
    record = lab.records.create("sample", {"size": "s", "count": 1})
    details = refused(lab.records.update, "sample", record["id"],
                      {"count": -5, "born": "x", "owner": 77, "created_at": "2020-01-01T00:00:00Z"})
    assert fields_of(details) == {"count", "born", "owner", "created_at"}
    assert lab.records.get("sample", record["id"]) == record


def test_a_readonly_field_is_set_on_create_and_refused_on_a_users_update(lab, install):
    user = install.session("lab", create_user(lab.storage, "member@lab.example"))
    record = user.records.create("sample", {"size": "s", "serial": "S-9"})
    assert record["serial"] == "S-9"
    details = refused(user.records.update, "sample", record["id"], {"serial": "S-10", "count": 3})
    assert details == [{"field": "serial", "code": "read_only", "message": "is read-only"}]
    assert lab.records.get("sample", record["id"])["count"] is None


def test_the_actions_of_rules_and_workflows_fill_a_readonly_field(lab):
    record = lab.records.create("sample", {"size": "s"})
    assert refused(lab.records.update, "sample", record["id"], {"serial": "S-10"}) == \
        [{"field": "serial", "code": "read_only", "message": "is read-only"}]
    acting = lab.for_actions().records
    assert acting.update("sample", record["id"], {"serial": "S-10"})["serial"] == "S-10"
    details = refused(acting.update, "sample", record["id"], {"serial": 7})
    assert [d["field"] for d in details] == ["serial"]


# -- uniqueness ---------------------------------------------------------------------------------

def test_a_duplicate_unique_value_is_a_clean_409_naming_the_field(lab):
    first = lab.records.create("sample", {"size": "s", "code": "AB-1"})
    with pytest.raises(Conflict) as exc:
        lab.records.create("sample", {"size": "m", "code": "AB-1"})
    assert exc.value.status == 409 and exc.value.code == "unique_violation"
    assert exc.value.details == [{"field": "code", "code": "already_used", "holder": first["id"],
                                  "message": f"'AB-1' is already used by sample {first['id']}"}]
    assert count(lab) == 1


def test_an_update_to_a_taken_unique_value_is_a_409_and_changes_nothing(lab):
    lab.records.create("sample", {"size": "s", "code": "AB-1"})
    second = lab.records.create("sample", {"size": "s", "code": "AB-2"})
    with pytest.raises(Conflict) as exc:
        lab.records.update("sample", second["id"], {"code": "AB-1", "count": 4})
    assert exc.value.details[0]["field"] == "code"
    assert lab.records.get("sample", second["id"]) == second
    # keeping its own value is not a conflict
    assert lab.records.update("sample", second["id"], {"code": "AB-2", "count": 4})["count"] == 4


def test_unique_allows_many_nulls(lab):
    for _ in range(3):
        lab.records.create("sample", {"size": "s", "code": None})
    assert count(lab) == 3


# -- references ---------------------------------------------------------------------------------

def test_a_reference_must_name_an_existing_record_of_its_target(lab):
    owner = lab.records.create("owner", {"name": "Olga"})
    assert lab.records.create("sample", {"size": "s", "owner": owner["id"]})["owner"] == owner["id"]
    details = refused(lab.records.create, "sample", {"size": "s", "owner": owner["id"] + 1})
    assert details == [{"field": "owner", "code": "unknown_reference", "message": f"no owner record with id {owner['id'] + 1}",
         "entity": "owner", "id": owner['id'] + 1}]


def test_a_missing_reference_the_foreign_key_refused_is_not_blamed_on_a_unique_value_held_elsewhere(lab):
    """A write whose values hold another record's unique value and a missing reference (as a
    merge's do, the loser giving up its value in the same transaction) that the foreign key
    refused: the reference is named, not the unique value."""
    holder = lab.records.create("sample", {"size": "s", "code": "AB-1"})
    table = lab.metadata().tables["sample"]
    with pytest.raises(IntegrityError) as refused_by_key:
        with lab.storage.begin() as conn:
            at = datetime.now(timezone.utc)
            conn.execute(table.insert().values(size="s", owner=987654, version=1, created_at=at, updated_at=at))
    values = {"size": "s", "code": "AB-1", "owner": 987654}
    explained = explain_integrity_error(lab.storage, lab.metadata(), lab.metadata().entity("sample"), [values],
                                        refused_by_key.value, record_id=holder["id"] + 1)
    assert isinstance(explained, ValidationFailed)
    assert [(d["field"], d["code"]) for d in explained.details] == [("owner", "unknown_reference")]


def test_a_default_that_does_not_fit_its_field_is_refused_when_applied(install):
    document = {"entities": [{"name": "site", "fields": [
        {"name": "name", "type": "string"},
        {"name": "home", "type": "url", "default": "not a url"}]}]}
    install.registry.create("web", "Web")
    session = install.session("web")
    with pytest.raises(ValidationFailed) as refused_apply:
        session.apply_metadata(document)
    assert [d["field"] for d in refused_apply.value.details] == ["/entities/0/fields/1/default"]
    assert session.metadata_history() == []


# -- the batch loader judges exactly like the marshmallow schema --------------------------------

def _sku(value):
    """A plugin-style custom type: stored as a string, checked and normalised by code."""
    if not value.upper().startswith("SKU"):
        raise ValueError("must start with SKU")
    return value.upper()


PROPERTY_DOC = copy.deepcopy(ALL_TYPES)
PROPERTY_DOC["entities"][1]["fields"].append({"name": "sku", "type": "sku", "max_length": 6})
SAMPLE = load_package(PROPERTY_DOC, extra_types={"sku": "string"}).entity("sample")
SCHEMA = entity_schema(SAMPLE, {"sku": _sku})
LOADER = BatchLoader(SAMPLE, {"sku": _sku})

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
decimal_text = st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
CANDIDATES = {
    "code": st.from_regex(r"[A-Z]{2}-[0-9]{1,6}", fullmatch=True) | st.sampled_from(["AB-1", "ab-1", "AB-1234567"]),
    "notes": st.text(max_size=20) | st.sampled_from(["a\x00b", "\ud800"]),
    "count": st.integers(min_value=-5, max_value=1005) | st.sampled_from([2**63, -2**63, 1.0, "1", True]),
    "price": decimal_text | st.floats(min_value=-1e7, max_value=1e7) | st.integers(-10**7, 10**7)
    | st.sampled_from(["1e2", " 1", "1_0", "-0.00", "999999.99", "1000000"]),
    "active": st.booleans() | st.sampled_from(["true", 0, 1]),
    "born": st.dates().map(date.isoformat) | st.sampled_from(["2020-02-30", "1899-12-31", "2020-W01-1"]),
    "seen_at": datetimes.map(datetime.isoformat) | datetimes.map(lambda d: d.isoformat() + "+05:30")
    | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-01-01"]),
    "email": st.emails() | st.sampled_from(["a@b", "a@b.co\n", "@x.org"]),
    "phone": st.from_regex(r"\+?[0-9][0-9 ()\-]{1,12}[0-9]", fullmatch=True) | st.sampled_from(["12", "+1 (555) x"]),
    "site": st.sampled_from(["https://x.org", "http://a.b/c?d", "ftp://x.org", "https://", "x"]),
    "size": st.sampled_from(["s", "m", "l", "xl", "S"]),
    "tags": st.lists(st.sampled_from(["red", "green", "blue", "pink"]), max_size=4),
    "owner": st.integers(min_value=-2, max_value=2**64) | st.sampled_from(["1", True]),
    "budget": st.fixed_dictionaries({}, optional={
        "amount": decimal_text | st.integers(-5, 10**12) | st.floats(),
        "currency": st.sampled_from(["EUR", "USD", "eur", "EURO", 978]), "extra": st.just(1)}),
    "extra": json_values,
    "serial": st.text(max_size=5),
    "fine": decimal_text | st.floats() | st.sampled_from(["1" * 21, "0." + "1" * 11]),
    "sku": st.sampled_from(["sku-1", "SKU", "abc", "sku-1234"]) | st.text(max_size=7),
}
UNKNOWN_KEYS = {"id": json_values, "version": json_values, "colour": json_values, "": json_values,
                "Size": json_values}
records = st.fixed_dictionaries({}, optional={
    **{name: candidates | json_values for name, candidates in CANDIDATES.items()}, **UNKNOWN_KEYS})


def by_marshmallow(data):
    try:
        return SCHEMA.load(data), []
    except ValidationError as exc:
        return None, sorted((d["field"], d["code"], d["message"], repr(d)) for d in errors_to_details(exc.messages))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_the_batch_loader_and_the_marshmallow_schema_accept_and_refuse_the_same_input(data):
    expected, expected_errors = by_marshmallow(copy.deepcopy(data))
    values, errors = LOADER.load_one(copy.deepcopy(data))
    assert sorted((p.path, p.code, p.message, repr(p.to_dict())) for p in errors) == expected_errors
    if not errors:
        assert repr(sorted(values.items())) == repr(sorted(expected.items()))


def test_the_property_test_sees_both_valid_and_invalid_records():
    """A guard that the generators above reach both outcomes for every field."""
    valid = {**VALID, "owner": 1}
    assert by_marshmallow(valid)[1] == [] and LOADER.load_one(valid)[1] == []
    assert {p.path for p in LOADER.load_one({"size": "x", **{k: "?" for k in CANDIDATES}})[1]} >= \
        set(CANDIDATES) - {"notes", "serial", "extra"}


def test_batch_and_single_create_store_the_same_values(lab):
    owner = lab.records.create("owner", {"name": "Olga"})
    item = {**VALID, "owner": owner["id"]}
    single = lab.records.create("sample", item)
    [batch_id] = lab.records.create_many("sample", [{**item, "code": "ZZ-9"}])
    batch = lab.records.get("sample", batch_id)
    ignore = {"id", "created_at", "updated_at", "code"}
    assert {k: v for k, v in batch.items() if k not in ignore} == \
        {k: v for k, v in single.items() if k not in ignore}


def test_stored_datetimes_are_utc(lab):
    record = lab.records.create("sample", {"size": "s", "seen_at": "2024-01-01T01:00:00+01:00"})
    table = lab.metadata().tables["sample"]
    with lab.storage.connect() as conn:
        stored = conn.execute(select(table.c.seen_at)).scalar_one()
    assert stored == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert record["seen_at"] == "2024-01-01T00:00:00Z"


def test_decimals_are_exact(lab):
    record = lab.records.create("sample", {"size": "s", "price": "0.10"})
    table = lab.metadata().tables["sample"]
    with lab.storage.connect() as conn:
        assert conn.execute(select(table.c.price)).scalar_one() == Decimal("0.10")
    assert record["price"] == "0.10"


@pytest.mark.parametrize("value", ["99999999999999999999.9999999999", "12345678901.0000000001",
                                   "-12345678901234567890"])
def test_a_decimal_wider_than_18_digits_is_exact(lab, value):
    record = lab.records.create("sample", {"size": "s", "fine": value})
    assert Decimal(lab.records.get("sample", record["id"])["fine"]) == Decimal(value)


# -- patterns cannot stall a write --------------------------------------------------------------


def test_a_backtracking_pattern_refuses_a_long_near_miss_without_stalling(lab):
    """`([a-z0-9]+\\.?)+@example\\.com` takes `re` time doubling with each character of a near
    miss; Loom's matcher reads the 5,001 characters once (single write and batch)."""
    doc = copy.deepcopy(ALL_TYPES)
    doc["entities"][1]["fields"].append({"name": "login", "type": "string", "pattern": r"([a-z0-9]+\.?)+@example\.com"})
    lab.apply_metadata(doc)
    near_miss = "a" * 5000 + "!"
    faulthandler.dump_traceback_later(120, exit=True)  # a stall ends the run, even while C code holds the GIL
    try:
        single = refused(lab.records.create, "sample", {"size": "s", "login": near_miss})
        batch = refused(lab.records.create_many, "sample", [{"size": "s", "login": near_miss}])
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert single[0]["field"] == "login" and "does not match the pattern" in single[0]["message"]
    assert batch[0]["field"].endswith("login") and "does not match the pattern" in batch[0]["message"]
    assert lab.records.create("sample", {"size": "s", "login": "ann.lee@example.com"})["login"] == "ann.lee@example.com"


def test_the_openapi_document_gives_a_pattern_to_clients_only_when_they_can_read_it():
    package = load_package({"entities": [{"name": "thing", "fields": [
        {"name": "code", "type": "string", "pattern": "[A-Z]{2}-[0-9]+"},
        {"name": "tag", "type": "string", "pattern": "(?i)[a-z]+"}]}]})
    code, tag = package.entity("thing").fields
    assert openapi_property(code)["pattern"] == "^(?:[A-Z]{2}-[0-9]+)$"
    assert "pattern" not in openapi_property(tag)  # JSON Schema's ECMA regexes have no inline flags
