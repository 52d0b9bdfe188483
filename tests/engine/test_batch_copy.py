"""A large batch (`create_many` of at least `bulk_rows.COPY_ROWS` records, written with
COPY on PostgreSQL and past SQLAlchemy's per-row processing on SQLite) stores exactly
what single creates store, its audit and outbox rows say exactly what the write did, a
unique value taken by a stored record refuses the whole batch with the usual message,
and the audit and outbox JSON put together from pieces (`event_json`) is the text
`event_json.dumps` writes for the whole payload (`outbox_payload.compact`), which any JSON
reader reads back as the value and the outbox's reader as the event."""
from __future__ import annotations

import enum
import json
import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from engine.errors import LoomError
from engine.events import RecordEvent, created, freeze
from engine.records.bulk_rows import COPY_ROWS
from engine.records.event_json import AUDIT_COLUMNS, OUTBOX_COLUMNS, dumps, encode_rows
from engine.records.outbox_payload import compact
from tests.engine.test_write_rows import rows

class Colour(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: int


# Text COPY escapes: tabs, newlines, backslashes, the end-of-data marker; and non-ASCII.
NAMES = ["张\t伟", "a\nb\\c", "O'Brien \\. x", "\\.", "Ünïcode 😀", "tab\tand\rreturn", "N", "\\N"]


def item(n: int, account_id: int) -> dict:
    return {"full_name": f"{NAMES[n % len(NAMES)]} {n}", "email": f"copy{n}@example.com",
            "phone": None if n % 3 else f"+86 138 0013 {n:04d}",
            "birthday": None if n % 4 else f"19{50 + n % 40}-0{1 + n % 9}-1{n % 9}",
            "tier": ("regular", "gold", None)[n % 3], "lifetime_value": None if n % 5 == 0 else f"{n * 10.25:.2f}",
            "consent_marketing": n % 2 == 0, "account": account_id if n % 2 else None}


def test_a_large_batch_stores_and_announces_what_single_creates_do(acme):
    [account] = acme.records.create_many("account", [{"name": "Copy Ltd"}])
    count = COPY_ROWS + 16
    batch = [item(n, account) for n in range(count)]
    ids = acme.records.create_many("contact", batch)
    singles = [acme.records.create("contact", {**item(n, account), "email": f"single{n}@example.com"})
               for n in range(len(NAMES))]
    system = {"id", "version", "created_at", "updated_at", "created_by", "updated_by", "owner_id"}
    for n, record_id in enumerate(ids):
        record = acme.records.get("contact", record_id)
        if n < len(singles):  # the same values as a single create stores them
            assert {k: v for k, v in record.items() if k not in system | {"email"}} == {
                k: v for k, v in singles[n].items() if k not in system | {"email"}}
        assert record["full_name"] == batch[n]["full_name"] and record["version"] == 1
        [audit] = rows(acme, "loom_audit", entity="contact", record_id=record_id)
        [outbox] = rows(acme, "loom_outbox", entity="contact", record_id=record_id)
        event = RecordEvent.from_outbox(outbox, "acme")
        assert event.record == record and event.changes == audit["changes"] == {
            k: [None, v] for k, v in record.items() if k not in system and v is not None}
        assert (audit["action"], outbox["event"], outbox["status"]) == ("create", "record.created", "pending")


def test_a_large_batch_meeting_a_stored_unique_value_writes_nothing(acme):
    acme.records.create("contact", {"full_name": "First", "email": "taken@example.com"})
    before = len(rows(acme, "loom_audit")), len(rows(acme, "loom_outbox"))
    batch = [{"full_name": f"P {n}", "email": f"p{n}@example.com"} for n in range(COPY_ROWS + 1)]
    batch[-1]["email"] = "taken@example.com"
    with pytest.raises(LoomError) as refused:
        acme.records.create_many("contact", batch)
    assert refused.value.status == 409 and "email" in str(refused.value.to_dict())
    assert (len(rows(acme, "loom_audit")), len(rows(acme, "loom_outbox"))) == before
    assert len(acme.records.list("contact", [("limit", "200")])["items"]) == 1


values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8) |
                      st.floats(allow_nan=False, allow_infinity=False),
                      lambda inner: st.lists(inner, max_size=3) |
                      st.dictionaries(st.text(max_size=5), inner, max_size=3),
                      max_leaves=8)


@given(record=st.dictionaries(st.text(max_size=8), values, max_size=5), actor=st.none() | st.emails(),
       extra=st.dictionaries(st.text(max_size=5), values, max_size=2), shared=st.booleans(),
       action=st.sampled_from(["created", "updated", "deleted"]), record_id=st.integers(1, 2**40))
@hsettings(max_examples=50, deadline=None)
def test_the_json_put_together_from_pieces_is_the_whole_events_json(record, actor, extra, shared, action,
                                                                     record_id):
    at = datetime(2026, 12, 6, 20, 0, 0, 123456, tzinfo=timezone.utc)
    changes = created(record)
    event = RecordEvent("t", "contact", action, record_id, record, changes, actor, extra, at=at)
    audit = {"at": at, "actor_id": 1, "action": "x", "entity": "contact", "record_id": record_id,
             "record_version": 1, "changes": event.changes if shared else freeze(dict(changes))}
    [audit_values], [outbox_values] = encode_rows(at, [event], [audit])
    audit_row, outbox_row = dict(zip(AUDIT_COLUMNS, audit_values)), dict(zip(OUTBOX_COLUMNS, outbox_values))
    assert {**audit_row, "changes": audit["changes"]} == audit
    assert {**outbox_row, "payload": None} == {"at": at, "event": f"record.{action}", "entity": "contact",
                                               "record_id": record_id, "payload": None, "attempts": 0}
    read = RecordEvent.from_outbox({**outbox_row, "id": 9, "payload": json.loads(outbox_row["payload"])}, "t")
    assert json.dumps(read.to_dict()) == json.dumps({**event.to_dict(), "id": 9})
    assert json.loads(outbox_row["payload"]) == json.loads(json.dumps(compact(event)))
    assert json.loads(audit_row["changes"]) == json.loads(json.dumps(audit["changes"]))
    if all(-2**63 <= n < 2**64 for n in _integers(event.as_dict())):  # what orjson writes itself
        assert outbox_row["payload"] == dumps(compact(event))
        assert audit_row["changes"] == dumps(audit["changes"])


def _integers(value):
    if isinstance(value, dict):
        return [n for v in value.values() for n in _integers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _integers(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


@given(value=values | st.integers(-2**80, 2**80) | st.text(alphabet=st.characters(codec="utf-8")),
       frozen=st.booleans())
@hsettings(max_examples=200, deadline=None)
def test_the_encoder_writes_json_that_reads_back_as_the_value(value, frozen):
    """`event_json.dumps` (orjson, the json module where orjson refuses a value) writes what
    reads back as the value: big integers, non-ASCII text and read-only values included."""
    value = freeze(value) if frozen else value
    assert json.loads(dumps(value)) == value == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", [f"lone {chr(0xD800)} surrogate", {1: "an integer key"}, 2**64, -2**63 - 1],
                         ids=["surrogate", "integer-key", "above-64-bits", "below-64-bits"])
def test_values_orjson_refuses_are_written_as_the_json_module_writes_them(value):
    assert dumps(value) == json.dumps(value)


@pytest.mark.parametrize("value", [date(2026, 12, 7), datetime(2026, 12, 7, 10, 0), Point(1, 2)],
                         ids=["date", "datetime", "dataclass"])
def test_values_that_are_not_json_are_refused_as_the_json_module_refuses_them(value):
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        dumps({"field": [None, value]})


def test_uuids_and_enums_are_written_as_their_values():
    """Which the json module refused; a record's values come from its fields' loaders, which
    never give one."""
    assert json.loads(dumps([uuid.UUID(int=7), Colour.RED])) == [str(uuid.UUID(int=7)), "red"]


def test_a_non_finite_number_is_written_as_null():
    """No field type accepts one; the json module wrote `NaN`, which PostgreSQL refused."""
    assert [json.loads(dumps(v)) for v in (math.nan, math.inf, -math.inf)] == [None, None, None]


def test_the_encoder_refuses_a_circular_value_as_the_json_module_does():
    value: list = []
    value.append(value)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(value)
