"""Records written out as JSON on the read path, for any values: time stamps in UTC with
`Z` (engine.timefmt), a row as the API gives it (RecordShape.dump, by its plan), and the
page and export forms of masking, which do nothing per record when nothing is masked."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings, strategies as st

# the machine may be shared: slow generation is no failure
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

from engine.records.dump import SYSTEM_FIELDS, RecordShape
from engine.records.pii import Masking
from engine.timefmt import iso_utc


def reference_iso_utc(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


zones = st.sampled_from([None, timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
stamps = st.builds(lambda d, tz: d.replace(tzinfo=tz),
                   st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)), zones) | st.none()


@given(st.lists(stamps, max_size=8), st.data())
@RELAXED
def test_a_time_is_written_in_utc_whatever_came_before_it(values, data):
    # equal instants in other zones and repeats, in any order: each keeps its own text
    values += [v.astimezone(data.draw(zones) or timezone.utc) for v in values if v is not None and v.tzinfo]
    values = data.draw(st.permutations(values))
    assert [iso_utc(v) for v in values] == [reference_iso_utc(v) for v in values]


def field(name, type_):
    return SimpleNamespace(name=name, type=type_, base_type=None, encrypted=False, match=None, region=None,
                           pii=None, pii_class=None)


ENTITY = SimpleNamespace(name="thing", fields=(
    field("title", "string"), field("price", "currency"), field("rate", "decimal"),
    field("due", "date"), field("seen_at", "datetime"), field("count", "integer"), field("done", "boolean")))


def reference_dump(row, only):
    record = {name: (reference_iso_utc(row[name]) if name in ("created_at", "updated_at") else row[name])
              for name in SYSTEM_FIELDS if only is None or name in only}
    for f in ENTITY.fields:
        if only is not None and f.name not in only:
            continue
        value = row[f.name]
        if value is None:
            record[f.name] = None
        elif f.type == "currency":
            record[f.name] = {"amount": str(value), "currency": row["price__currency"]}
        elif f.type == "decimal":
            record[f.name] = str(value)
        elif f.type == "date":
            record[f.name] = value.isoformat()
        elif f.type == "datetime":
            record[f.name] = reference_iso_utc(value)
        else:
            record[f.name] = value
    return record


aware = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1),
                     timezones=st.just(timezone.utc))
rows = st.fixed_dictionaries({
    "id": st.integers(1, 10**9), "version": st.integers(1, 99), "created_at": aware, "updated_at": aware,
    "created_by": st.none() | st.integers(1, 9), "updated_by": st.none() | st.integers(1, 9),
    "owner_id": st.none() | st.integers(1, 9), "title": st.none() | st.text(max_size=8),
    "price": st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    "price__currency": st.sampled_from(["CNY", "EUR"]),
    "rate": st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=4),
    "due": st.none() | st.dates(), "seen_at": st.none() | aware, "count": st.none() | st.integers(),
    "done": st.none() | st.booleans()})
names = list(SYSTEM_FIELDS) + [f.name for f in ENTITY.fields]
onlys = st.none() | st.lists(st.sampled_from(names), unique=True).flatmap(
    lambda chosen: st.sampled_from([tuple(chosen), list(chosen), frozenset(chosen)]))


@given(st.lists(rows, min_size=1, max_size=4), onlys)
@RELAXED
def test_a_row_is_dumped_with_its_fields_in_order_and_written_out_by_type(batch, only):
    shape = RecordShape(ENTITY)
    for row in batch:  # the plan of `only` kept between rows gives the same records
        dumped = shape.dump(row, only)
        assert dumped == reference_dump(row, only)
        assert list(dumped) == [n for n in names if only is None or n in only]


def test_a_dump_plan_is_kept_for_few_column_sets_only():
    shape = RecordShape(ENTITY)
    row = {"id": 1, "version": 1, "created_at": None, "updated_at": None, "created_by": None,
           "updated_by": None, "owner_id": None, "title": "x", "price": Decimal("1.50"),
           "price__currency": "CNY", "rate": None, "due": date(2026, 1, 2), "seen_at": None,
           "count": 3, "done": True}
    for n in range(200):  # `fields=` comes from requests: the kept plans stay bounded
        only = ("id", "title") + tuple(f"x{n}" for _ in range(1))
        assert shape.dump(row, only) == {"id": 1, "title": "x"}
    assert len(shape._plans) <= 64


PHONE = SimpleNamespace(name="phone", type="phone", base_type=None, pii=True, pii_class=None)
PEOPLE = SimpleNamespace(name="person", fields=(PHONE, SimpleNamespace(
    name="note", type="string", base_type=None, pii=None, pii_class=None)))
records = st.lists(st.fixed_dictionaries({"id": st.integers(), "phone": st.none() | st.text(max_size=16),
                                          "note": st.text(max_size=5)}), max_size=5)


@given(records, st.booleans())
@RELAXED
def test_a_page_and_an_export_are_masked_as_each_record_is(page, admin):
    actor = SimpleNamespace(is_admin=admin)
    masking = Masking(actor)
    assert masking.records(PEOPLE, page) == [masking.record(PEOPLE, r) for r in page]
    assert list(masking.exported_all(PEOPLE, iter(page))) == [masking.exported(PEOPLE, r) for r in page]
    if admin:  # nothing masked: the very records, untouched
        assert masking.records(PEOPLE, page) is page
    else:
        assert all(r["phone"] in (None, "") or r["phone"] != m["phone"] or r["phone"] == "***"
                   for r, m in zip(page, masking.records(PEOPLE, page)))
