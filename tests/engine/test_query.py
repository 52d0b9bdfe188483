"""List queries: filters, errors, fields= and keyset pagination on SQLite and PostgreSQL."""
import base64
import dataclasses
import json
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler import compile_tables
from engine.errors import BadQuery
from engine.records.query import (
    DEFAULT_LIMIT, ListQuery, build_select, decode_cursor, encode_cursor, page, parse_list_query,
)
from metadata import load_package
from tests.conftest import PG_URL

DOCUMENT = {"entities": [
    {"name": "contact", "label": "Contact", "fields": [
        {"name": "full_name", "type": "string", "max_length": 120},
        {"name": "email", "type": "email"},
        {"name": "tier", "type": "choice", "options": ["regular", "silver", "gold"]},
        {"name": "lifetime_value", "type": "decimal", "precision": 12, "scale": 2},
        {"name": "birthday", "type": "date"},
        {"name": "vip", "type": "boolean"},
        {"name": "visits", "type": "integer"},
        {"name": "tags", "type": "multi_choice", "options": ["a", "b"]},
        {"name": "budget", "type": "currency"},
        {"name": "notes", "type": "text"},
    ]},
    {"name": "tally", "label": "Tally", "fields": [{"name": "total", "type": "integer"}]},
    {"name": "badge", "label": "Badge", "fields": [
        {"name": "marks", "type": "multi_choice", "options": ["p", "q", "r", "s"]}]},
]}

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
COLUMNS = ("id", "full_name", "email", "tier", "lifetime_value", "birthday", "vip", "visits",
           "tags", "budget", "budget__currency", "notes")
ROWS = [dict(zip(COLUMNS, values)) for values in [
    (1, "Ada Lovelace", "ada@x.org", "gold", Decimal("100.50"), date(1815, 12, 10), True, 10,
     ["a"], Decimal("5.00"), "EUR", "50% off"),
    (2, "Bob_Smith", "bob@x.org", "silver", Decimal("20.00"), date(1990, 1, 1), False, 3,
     [], None, None, "under_score"),
    (3, "Carol", None, "regular", None, None, None, None,
     None, Decimal("7.25"), "USD", "500 off"),
    (4, "ada king", "king@y.com", "gold", Decimal("100.50"), date(2000, 2, 29), True, 0,
     ["a", "b"], None, None, None),
    (5, "Bobbsy", None, None, Decimal("-3.00"), date(1990, 1, 1), False, 3,
     None, None, None, "underscore"),
    (6, None, "z@x.org", "silver", Decimal("20.00"), None, None, 7,
     ["b"], Decimal("5.00"), "USD", None),
]]


def _system(row):
    stamp = T0 + timedelta(days=row["id"])
    return {"created_at": stamp, "updated_at": stamp, "version": 1, "owner_id": row["id"] % 2 or None}


@pytest.fixture(scope="module")
def package():
    return load_package(DOCUMENT)


@contextmanager
def database(kind, package):
    """Fresh tables: in-memory SQLite, or a throw-away schema on PostgreSQL."""
    if kind == "sqlite":
        engine = sa.create_engine("sqlite://")
        tables = compile_tables(package, None)
        schema = None
    else:
        engine = sa.create_engine(PG_URL)
        try:
            engine.connect().close()
        except sa.exc.OperationalError:
            pytest.skip("PostgreSQL is not reachable")
        schema = f"q_test_{uuid.uuid4().hex[:12]}"
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        tables = compile_tables(package, schema)
    next(iter(tables.values())).metadata.create_all(engine)
    try:
        yield engine, tables
    finally:
        if schema:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@dataclasses.dataclass
class DB:
    engine: sa.Engine
    entity: object
    table: sa.Table
    tables: dict


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, package):
    with database(request.param, package) as (engine, tables):
        table = tables["contact"]
        with engine.begin() as conn:
            conn.execute(table.insert(), [{**row, **_system(row)} for row in ROWS])
            # row 3 holds a JSON null in tags, row 5 an SQL NULL: both are "no value"
            conn.execute(table.update().where(table.c.id == 5).values(tags=sa.null()))
        yield DB(engine, package.entity("contact"), table, tables)


def params_of(query_string):
    return parse_qsl(query_string, keep_blank_values=True)


def fetch(db, params):
    query = parse_list_query(db.entity, db.table, params)
    with db.engine.connect() as conn:
        return page(conn.execute(build_select(db.table, query)).all(), query)


def ids(db, query_string):
    rows, _ = fetch(db, params_of(query_string))
    return [row.id for row in rows]


def problems(db, query_string, entity=None):
    with pytest.raises(BadQuery) as caught:
        parse_list_query(entity or db.entity, db.table, params_of(query_string))
    return {d["field"]: d["message"] for d in caught.value.details}


# -- filters ---------------------------------------------------------------------------

@pytest.mark.parametrize("query_string, expected", [
    ("", [1, 2, 3, 4, 5, 6]),
    ("tier=gold", [1, 4]),
    ("tier__eq=gold", [1, 4]),
    ("tier__ne=gold", [2, 3, 5, 6]),
    ("visits__lt=3", [4]),
    ("visits__lte=3", [2, 4, 5]),
    ("visits__gt=3", [1, 6]),
    ("visits__gte=7", [1, 6]),
    ("lifetime_value=100.5", [1, 4]),
    ("lifetime_value__lt=0", [5]),
    ("lifetime_value__gte=20", [1, 2, 4, 6]),
    ("birthday__gt=1990-01-01", [4]),
    ("birthday=1990-01-01", [2, 5]),
    ("vip=true", [1, 4]),
    ("vip=false", [2, 5]),
    ("tier__in=gold,silver", [1, 2, 4, 6]),
    ("visits__in=0,3", [2, 4, 5]),
    ("lifetime_value__in=20,-3", [2, 5, 6]),
    ("email__isnull=true", [3, 5]),
    ("email__isnull=False", [1, 2, 4, 6]),
    ("tags__isnull=true", [3, 5]),
    ("tags__isnull=false", [1, 2, 4, 6]),
    ("budget__isnull=true", [2, 4, 5]),
    ("budget=5", [1, 6]),
    ("budget__gt=6", [3]),
    ("full_name__contains=ADA", [1, 4]),
    ("full_name__startswith=ada", [1, 4]),
    ("full_name__startswith=lovelace", []),
    ("email__contains=x.org", [1, 2, 6]),
    ("tier__startswith=SIL", [2, 6]),
    ("notes__contains=50%", [1]),
    ("notes__startswith=under_", [2]),
    ("full_name__contains=b_s", [2]),
    ("q=KING", [4]),
    ("q=x.org", [1, 2, 6]),
    ("q=50%", [1]),
    ("q=", [1, 2, 3, 4, 5, 6]),
    ("id__in=2,5,99", [2, 5]),
    ("id__gt=4", [5, 6]),
    ("version=1", [1, 2, 3, 4, 5, 6]),
    ("owner_id__isnull=true", [2, 4, 6]),
    ("created_at__lt=2024-01-03T00:00:00Z", [1]),
    ("created_at__gte=2024-01-05T01:00:00%2B01:00", [4, 5, 6]),
    ("visits__gte=1&visits__lte=5", [2, 5]),
    ("tier__ne=gold&tier__ne=silver", [3, 5]),
    ("q=o&tier=silver", [2, 6]),
    ("tags=a", [1, 4]),
    ("tags__eq=b", [4, 6]),
    ("tags__ne=a", [2, 3, 5, 6]),
    ("tags__any=a,b", [1, 4, 6]),
    ("tags__any=b", [4, 6]),
    ("tags__all=a,b", [4]),
    ("tags__all=b,a,b", [4]),
    ("tags__all=a", [1, 4]),
    ("tags__any=a&tags__ne=b", [1]),
])
def test_filters_return_exactly_the_matching_rows(db, query_string, expected):
    assert ids(db, query_string) == expected


def test_search_needs_text_fields(db, package):
    assert problems(db, "q=x", entity=package.entity("tally")) == {"q": "tally has no text fields to search"}


# -- errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("query_string, name, words", [
    ("nope=1", "nope", ["unknown field 'nope'"]),
    ("nope__gt=1", "nope__gt", ["unknown field 'nope'"]),
    ("tier__like=x", "tier__like", ["'like'", "eq, ne, lt", "isnull"]),
    ("tier__=x", "tier__", ["unknown operator"]),
    ("visits=abc", "visits", ["'abc'"]),
    ("visits__in=1,x", "visits__in", ["'x'"]),
    ("full_name=", "full_name", ["non-empty value", "passes ne"]),  # the conditions' truth table
    ("full_name__in=a,", "full_name__in", ["non-empty value"]),
    ("lifetime_value=1.234", "lifetime_value", ["decimal places"]),
    ("birthday__lt=yesterday", "birthday__lt", ["'yesterday'"]),
    ("vip__gt=true", "vip__gt", ["boolean"]),
    ("vip=maybe", "vip", ["'maybe'"]),
    ("tags__contains=a", "tags__contains", ["tags__any"]),
    ("tags__in=a,b", "tags__in", ["tags__any", "tags__all"]),
    ("tags__gt=a", "tags__gt", ["multi_choice"]),
    ("tier__any=gold", "tier__any", ["multi_choice", "tier__in"]),
    ("visits__all=1", "visits__all", ["multi_choice"]),
    ("tier=wonn", "tier", ["'wonn'", "regular, silver, gold"]),
    ("tier__ne=wonn", "tier__ne", ["'wonn'", "regular, silver, gold"]),
    ("tier__in=gold,wonn", "tier__in", ["'wonn'", "regular, silver, gold"]),
    ("tags=c", "tags", ["'c'", "a, b"]),
    ("tags__ne=c", "tags__ne", ["'c'", "a, b"]),
    ("tags__any=a,c", "tags__any", ["'c'", "a, b"]),
    ("tags__all=c", "tags__all", ["'c'", "a, b"]),
    ("tags__any=" + ",".join(["a"] * 101), "tags__any", ["at most 100"]),
    ("visits__contains=1", "visits__contains", ["text"]),
    ("budget__currency=EUR", "budget__currency", ["budget__currency", "'budget'"]),
    ("budget__currency__eq=EUR", "budget__currency__eq", ["budget__currency"]),
    ("email__isnull=maybe", "email__isnull", ["'maybe'"]),
    ("visits__in=" + ",".join(["1"] * 101), "visits__in", ["at most 100"]),
    ("full_name=" + "x" * 1001, "full_name", ["1000"]),
    ("sort=nope", "sort", ["unknown field 'nope'"]),
    ("sort=tags", "sort", ["tags"]),
    ("sort=tier,-tier", "sort", ["more than once"]),
    ("sort=id,shoe_size", "sort", ["unknown field 'shoe_size'"]),  # after id: moot, still checked
    ("sort=-id,id", "sort", ["more than once"]),
    ("sort=-id,tags", "sort", ["tags"]),
    ("sort=id,,", "sort", ["unknown field ''"]),
    ("sort=a,b,c,d,e,f", "sort", ["at most 5"]),
    ("sort=", "sort", ["unknown field ''"]),
    ("sort=id&sort=id", "sort", ["only once"]),
    ("limit=0", "limit", ["1 to 200"]),
    ("limit=201", "limit", ["1 to 200"]),
    ("limit=abc", "limit", ["1 to 200"]),
    ("limit=-1", "limit", ["1 to 200"]),
    ("limit=5_0", "limit", ["1 to 200"]),
    ("fields=full_name,nope", "fields", ["unknown field 'nope'"]),
    ("fields=", "fields", ["empty"]),
    ("cursor=not*base64", "cursor", ["not a valid cursor"]),
])
def test_each_bad_parameter_is_named(db, query_string, name, words):
    found = problems(db, query_string)
    assert list(found) == [name]
    for word in words:
        assert word in found[name]


def test_all_bad_parameters_are_reported_together(db):
    found = problems(db, "nope=1&visits=x&tier=gold&sort=tags&limit=0&fields=zz&vip__lt=1")
    assert set(found) == {"nope", "visits", "sort", "limit", "fields", "vip__lt"}


def test_unstorable_text_is_refused(db):
    assert "NUL" in problems(db, "full_name=a%00b")["full_name"]
    with pytest.raises(BadQuery) as caught:
        parse_list_query(db.entity, db.table, [("q", "a\ud800")])
    assert caught.value.details[0]["field"] == "q"


def test_in_takes_up_to_100_values(db):
    assert ids(db, "visits__in=" + ",".join(str(n) for n in range(100))) == [1, 2, 4, 5, 6]


# -- sorting and pagination --------------------------------------------------------------

def test_default_query():
    query = parse_list_query(load_package(DOCUMENT).entity("contact"), None, [])
    assert (query.order, query.limit, query.after, query.columns) == ((("id", False),), DEFAULT_LIMIT, None, None)


@pytest.mark.parametrize("sort, order", [
    ("tier", (("tier", False), ("id", False))),
    ("-tier,visits", (("tier", True), ("visits", False), ("id", False))),
    ("visits,-tier", (("visits", False), ("tier", True), ("id", True))),
    ("-id", (("id", True),)),
    ("tier,id,visits", (("tier", False), ("id", False))),
    ("budget", (("budget", False), ("id", False))),
])
def test_sort_always_ends_with_id(db, sort, order):
    assert parse_list_query(db.entity, db.table, [("sort", sort)]).order == order


@pytest.mark.parametrize("query_string, expected", [
    ("sort=email", [3, 5, 1, 2, 4, 6]),
    ("sort=-email", [6, 4, 2, 1, 5, 3]),
    ("sort=-tier,id", [2, 6, 3, 1, 4, 5]),
    ("sort=budget", [2, 4, 5, 1, 6, 3]),
    ("sort=-lifetime_value,-birthday", [4, 1, 2, 6, 5, 3]),
])
def test_nulls_sort_as_the_smallest_value(db, query_string, expected):
    assert ids(db, query_string) == expected


def walk(db, params, limit):
    """Every id, following next cursors page by page."""
    seen, cursor = [], None
    for _ in range(len(ROWS) * 50 + 2):
        rows, cursor = fetch(db, params + [("limit", str(limit))] + ([("cursor", cursor)] if cursor else []))
        assert len(rows) <= limit
        seen += [row.id for row in rows]
        if cursor is None:
            return seen
    raise AssertionError("pagination does not end")


def unpaginated(db, params):
    query = parse_list_query(db.entity, db.table, params)
    with db.engine.connect() as conn:
        rows = conn.execute(build_select(db.table, dataclasses.replace(query, limit=10_000))).all()
    return [row.id for row in rows]


@pytest.mark.parametrize("sort", ["-full_name,lifetime_value,vip", "tier,-birthday", "-budget", "vip,-email", "-vip,created_at"])
@pytest.mark.parametrize("limit", [1, 2, 4])
def test_pages_cover_every_row_once_in_order(db, sort, limit):
    assert walk(db, [("sort", sort)], limit) == unpaginated(db, [("sort", sort)])


def test_pages_respect_filters(db):
    params = [("sort", "-lifetime_value"), ("vip__isnull", "false")]
    assert walk(db, params, 1) == unpaginated(db, params) == [4, 1, 2, 5]


def test_last_page_has_no_cursor(db):
    assert fetch(db, [("limit", "6")])[1] is None
    assert fetch(db, [("limit", "5")])[1] is not None


# -- multi_choice filters as a property: SQL == the documented meaning ------------------

OPTION_LISTS = st.none() | st.lists(st.sampled_from("pqrs"), unique=True, max_size=4)
MARK_FILTERS = st.tuples(st.sampled_from(["eq", "ne", "any", "all"]),
                         st.lists(st.sampled_from("pqrs"), min_size=1, max_size=4))


def expected_marks(marks, op, values) -> bool:
    held = set(marks or ())
    return {"eq": lambda: values[0] in held, "ne": lambda: values[0] not in held,
            "any": lambda: bool(held & set(values)), "all": lambda: set(values) <= held}[op]()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def badge_db(request, package):
    with database(request.param, package) as (engine, tables):
        yield DB(engine, package.entity("badge"), tables["badge"], tables)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(OPTION_LISTS, max_size=12), filters=st.lists(MARK_FILTERS, min_size=1, max_size=2))
def test_multi_choice_filters_match_their_meaning(badge_db, rows, filters):
    table = badge_db.table
    with badge_db.engine.begin() as conn:
        conn.execute(table.delete())
        if rows:
            conn.execute(table.insert(), [{"id": i + 1, "marks": marks, "created_at": T0, "updated_at": T0,
                                           "version": 1} for i, marks in enumerate(rows)])
    params = [(f"marks__{op}", ",".join(values[:1] if op in ("eq", "ne") else values)) for op, values in filters]
    wanted = [i + 1 for i, marks in enumerate(rows)
              if all(expected_marks(marks, op, values) for op, values in filters)]
    assert [row.id for row in fetch(badge_db, params + [("limit", "200")])[0]] == wanted


SORTABLE = ["full_name", "tier", "lifetime_value", "birthday", "vip", "visits", "budget", "created_at", "id"]
VALUES = {
    "full_name": st.sampled_from(["a", "A", "b", "ab", "", None]),
    "tier": st.sampled_from(["regular", "silver", "gold", None]),
    "lifetime_value": st.sampled_from([Decimal("-1.50"), Decimal("0.00"), Decimal("0.01"),
                                       Decimal("9999999999.99"), None]),
    "birthday": st.sampled_from([date(1999, 12, 31), date(2000, 1, 1), None]),
    "vip": st.sampled_from([True, False, None]),
    "visits": st.sampled_from([-5, 0, 2**62, None]),
    "budget": st.sampled_from([Decimal("1.00"), Decimal("2.00"), None]),
    "created_at": st.sampled_from([T0, T0 + timedelta(microseconds=1), T0 + timedelta(days=400)]),
}
RANDOM_ROWS = st.lists(st.fixed_dictionaries(VALUES), max_size=25)
SORT_SPECS = st.lists(st.tuples(st.sampled_from(SORTABLE), st.booleans()),
                      min_size=1, max_size=3, unique_by=lambda key: key[0])


@pytest.fixture(scope="module")
def sqlite_db(package):
    with database("sqlite", package) as (engine, tables):
        yield DB(engine, package.entity("contact"), tables["contact"], tables)


def python_order(rows, order):
    """The documented rule, computed independently: NULL is the smallest value."""
    ordered = sorted(rows, key=lambda row: row["id"])
    for name, descending in reversed(order):
        ordered.sort(key=lambda row: (row[name] is not None, row[name] if row[name] is not None else 0),
                     reverse=descending)
    return [row["id"] for row in ordered]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=RANDOM_ROWS, spec=SORT_SPECS, limit=st.integers(1, 7))
def test_keyset_pagination_property(sqlite_db, rows, spec, limit):
    rows = [{**row, "id": n, "updated_at": T0, "version": 1,
             "budget__currency": row["budget"] and "EUR"} for n, row in enumerate(rows, 1)]
    with sqlite_db.engine.begin() as conn:
        conn.execute(sqlite_db.table.delete())
        if rows:
            conn.execute(sqlite_db.table.insert(), rows)
    sort = ",".join(("-" if descending else "") + name for name, descending in spec)
    expected = unpaginated(sqlite_db, [("sort", sort)])
    order = parse_list_query(sqlite_db.entity, sqlite_db.table, [("sort", sort)]).order
    assert expected == python_order(rows, order)
    assert walk(sqlite_db, [("sort", sort)], limit) == expected


# -- cursors ---------------------------------------------------------------------------

def test_cursor_values_round_trip_exactly():
    query = ListQuery((), (("a", False), ("b", True), ("c", False), ("d", False), ("e", False), ("id", False)),
                      10, None, None)
    values = (Decimal("-12.30"), date(2000, 2, 29), datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc),
              None, "x\u00e9\"", 2**62)
    decoded = decode_cursor(encode_cursor(values, query), query)
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]
    assert str(decoded[0]) == "-12.30"


def test_cursor_from_another_sort_is_refused(db):
    _, cursor = fetch(db, [("sort", "tier"), ("limit", "2")])
    assert fetch(db, [("sort", "tier"), ("limit", "2"), ("cursor", cursor)])[0]
    for sort in ("-tier", "tier,visits", None):
        params = ([("sort", sort)] if sort else []) + [("cursor", cursor)]
        with pytest.raises(BadQuery) as caught:
            parse_list_query(db.entity, db.table, params)
        assert caught.value.details == [{"field": "cursor", "code": "bad_query", "message": "does not belong to this sort order"}]


def _forge(body):
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor, sort", [
    ("garbage", "id"),
    ("!!!!", "id"),
    ("", "id"),
    (_forge([1, 2]), "id"),
    (_forge({"s": "id"}), "id"),
    (_forge({"s": "id", "v": ["1"]}), "id"),
    (_forge({"s": "id", "v": [1.5]}), "id"),
    (_forge({"s": "id", "v": [None]}), "id"),
    (_forge({"s": "id", "v": [2**70]}), "id"),
    (_forge({"s": "id", "v": [1, 2]}), "id"),
    (_forge({"s": "id", "v": [{"d": "1"}]}), "id"),
    (_forge({"s": "lifetime_value,id", "v": [{"d": "NaN"}, 1]}), "lifetime_value"),
    (_forge({"s": "lifetime_value,id", "v": [{"d": "1e30"}, 1]}), "lifetime_value"),
    (_forge({"s": "lifetime_value,id", "v": [{"d": "abc"}, 1]}), "lifetime_value"),
    (_forge({"s": "lifetime_value,id", "v": [{"d": "1", "x": 1}, 1]}), "lifetime_value"),
    (_forge({"s": "birthday,id", "v": [{"date": "2001-02-30"}, 1]}), "birthday"),
    (_forge({"s": "birthday,id", "v": [{"dt": "2001-02-03T00:00:00Z"}, 1]}), "birthday"),
    (_forge({"s": "created_at,id", "v": [{"dt": "2001-02-03T00:00:00"}, 1]}), "created_at"),
    (_forge({"s": "created_at,id", "v": [{"dt": "0001-01-01T00:00:00+05:00"}, 1]}), "created_at"),
    (_forge({"s": "created_at,id", "v": [{"dt": "9999-12-31T23:00:00-05:00"}, 1]}), "created_at"),
    (_forge({"s": "full_name,id", "v": ["a\u0000", 1]}), "full_name"),
    (_forge({"s": "full_name,id", "v": ["\ud800", 1]}), "full_name"),
    (_forge({"s": "vip,id", "v": [1, 1]}), "vip"),
])
def test_bad_cursors_are_refused_not_crashed(db, cursor, sort):
    with pytest.raises(BadQuery) as caught:
        parse_list_query(db.entity, db.table, [("sort", sort), ("cursor", cursor)])
    assert [d["field"] for d in caught.value.details] == ["cursor"]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80) | st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_decode_cursor_only_ever_raises_bad_query(text):
    query = ListQuery((), (("id", False),), 10, None, None)
    try:
        decode_cursor(text, query)
    except BadQuery as refused:
        assert refused.details[0]["field"] == "cursor"


# -- fields= ---------------------------------------------------------------------------

def test_fields_narrow_the_columns(db):
    rows, _ = fetch(db, [("fields", "full_name,budget"), ("id", "1")])
    assert set(rows[0]._mapping) == {"id", "version", "full_name", "budget", "budget__currency"}
    assert rows[0].budget == Decimal("5.00") and rows[0].budget__currency == "EUR"


def test_fields_keep_sort_keys_for_the_cursor(db):
    query = parse_list_query(db.entity, db.table, params_of("fields=email&sort=-visits&limit=2"))
    assert query.columns == ("id", "version", "email")
    rows, cursor = fetch(db, params_of("fields=email&sort=-visits&limit=2"))
    assert set(rows[0]._mapping) == {"id", "version", "email", "visits"}
    assert [r.id for r in rows] + [r.id for r in fetch(db, params_of(f"fields=email&sort=-visits&cursor={cursor}"))[0]] \
        == unpaginated(db, [("sort", "-visits")])


def test_without_fields_every_column_is_selected(db):
    rows, _ = fetch(db, [("id", "1")])
    assert set(rows[0]._mapping) == {c.name for c in db.table.c}
