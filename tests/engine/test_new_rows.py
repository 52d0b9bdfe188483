"""A batch create's new rows (`new_rows.NewRows`, one pass per record) are exactly what the
single create makes of the same values: the row (`RecordShape.to_columns` and the system
columns), the record as JSON (`RecordShape.dump` of that row) and its changes
(`writes.created_changes`, made from the record: what its outbox payload leaves out), for
every field type, given or not, empty or not."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.events import FrozenDict, FrozenList, ImpliedChanges
from engine.records.dump import RecordShape
from engine.records.loader import BatchLoader
from engine.records.new_rows import NewRows
from engine.records.outbox_payload import derivable
from engine.records.writes import created_changes
from tests.engine.test_validation import LOADER, SAMPLE, VALID, _sku

SHAPE = RecordShape(SAMPLE)
# Without its currency field, every field of the entity is one column: the rows are read
# from the values themselves (`NewRows._plain`).
PLAIN = replace(SAMPLE, fields=tuple(f for f in SAMPLE.fields if (f.base_type or f.type) != "currency"))
PLAIN_SHAPE, PLAIN_LOADER = RecordShape(PLAIN), BatchLoader(PLAIN, {"sku": _sku})
AT = datetime(2026, 12, 7, 9, 30, 0, 250000, tzinfo=timezone.utc)
OTHER = {"code": "ZZ-9", "notes": "", "count": 0, "price": 0, "active": True, "born": "1900-01-01",
         "seen_at": "2024-01-01T00:00:00Z", "email": "Ann@Example.ORG", "phone": "138-0013-8001",
         "site": "http://a.b", "tags": [], "budget": {"amount": 0, "currency": "usd"}, "extra": [],
         "serial": "x", "owner": 3, "fine": "-0.0000000001", "sku": "sku-9"}
# Every field left out, empty, or given one of two valid values (the only required one: `size`).
records = st.fixed_dictionaries({"size": st.sampled_from(["s", "m", "l"])}, optional={
    name: st.none() | st.sampled_from([VALID.get(name, OTHER[name]), OTHER[name]]) for name in OTHER})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=records, actor=st.none() | st.integers(1, 10**6))
def test_a_new_row_is_what_the_single_create_makes_of_the_same_values(data, actor):
    assert not NewRows(SHAPE, AT, actor)._plain
    same_as_single_create(SHAPE, LOADER, data, actor)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=records, actor=st.none() | st.integers(1, 10**6))
def test_a_new_row_of_an_entity_of_one_column_a_field_is_the_single_create_s_too(data, actor):
    assert NewRows(PLAIN_SHAPE, AT, actor)._plain and PLAIN_SHAPE.keys  # its e-mail and phone keyed
    same_as_single_create(PLAIN_SHAPE, PLAIN_LOADER, {k: v for k, v in data.items() if k != "budget"}, actor)


def same_as_single_create(shape, loader, data, actor):
    """`data` loaded by `loader`, then made a new row of `shape`: what the single create makes."""
    values, errors = loader.load_one(copy.deepcopy(data))
    assume(not errors)
    row, record, changes = NewRows(shape, AT, actor).make(41, values)
    single = {**shape.empty_columns, **shape.to_columns(values), "id": 41, "created_at": AT, "updated_at": AT,
              "created_by": actor, "updated_by": actor, "owner_id": actor, "version": 1}
    assert dict(zip(NewRows(shape, AT, actor).columns, row)) == single
    assert list(NewRows(shape, AT, actor).columns) == list(single)
    dumped = shape.dump(single)
    assert list(record.items()) == list(dumped.items())  # the same values, in the same order
    assert type(record) is FrozenDict
    expected = created_changes(shape, values, dumped)
    assert list(changes.items()) == list(expected.items())
    assert type(changes) is ImpliedChanges and all(type(pair) is FrozenList for pair in changes.values())
    # what the mark lets the outbox's writer take for granted, checked to the letter
    assert changes.made_from is record and derivable(record, FrozenDict(changes), "created")
