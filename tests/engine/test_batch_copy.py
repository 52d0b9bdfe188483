"""A large batch (`create_many` of at least `bulk_rows.COPY_ROWS` records, written with
COPY on PostgreSQL and past SQLAlchemy's per-row processing on SQLite) stores exactly
what single creates store, its audit and outbox rows say exactly what the write did, a
unique value taken by a stored record refuses the whole batch with the usual message,
and the audit and outbox JSON put together from pieces (`event_json`) is the text
`json.dumps` writes."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from engine.errors import LoomError
from engine.events import RecordEvent, created, freeze
from engine.records.bulk_rows import COPY_ROWS
from engine.records.event_json import dumps, encode_rows
from tests.engine.test_write_rows import rows

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
def test_the_json_put_together_from_pieces_is_what_json_dumps_writes(record, actor, extra, shared, action,
                                                                    record_id):
    at = datetime(2026, 12, 6, 20, 0, 0, 123456, tzinfo=timezone.utc)
    changes = created(record)
    event = RecordEvent("t", "contact", action, record_id, record, changes, actor, extra, at=at)
    audit = {"at": at, "actor_id": 1, "action": "x", "entity": "contact", "record_id": record_id,
             "record_version": 1, "changes": event.changes if shared else freeze(dict(changes))}
    [audit_row], [outbox_row] = encode_rows(at, [event], [audit])
    assert outbox_row["payload"] == json.dumps(event.as_dict())
    assert audit_row["changes"] == json.dumps(audit["changes"])
    assert json.loads(outbox_row["payload"]) == event.to_dict()


@given(value=values | st.floats() | st.integers(-2**80, 2**80), frozen=st.booleans())
@hsettings(max_examples=200, deadline=None)
def test_the_reused_encoder_writes_what_json_dumps_writes(value, frozen):
    """`event_json.dumps` (one C encoder for every call) is `json.dumps` with its defaults:
    NaN and infinities, big integers, non-ASCII text and read-only values included."""
    value = freeze(value) if frozen else value
    assert dumps(value) == json.dumps(value)


def test_the_reused_encoder_raises_recursion_error_on_a_circular_value():
    """`event_json.dumps` skips json.dumps's check for circular references: a circular
    value raises RecursionError (json.dumps raises ValueError)."""
    value: list = []
    value.append(value)
    with pytest.raises(RecursionError):
        dumps(value)
    with pytest.raises(ValueError):
        json.dumps(value)
