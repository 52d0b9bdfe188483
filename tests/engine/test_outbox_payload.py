"""Outbox payloads of version 2 (`engine.records.outbox_payload`): what either writer puts
in an outbox row (the batch's text, `event_json`, and `writes.outbox_row`), values of
encrypted fields sealed or not, reads back through the outbox's readers with the row's
columns as the very event (`RecordEvent.to_dict()`, to its JSON text: types, order and
all); a created event whose changes its record implies leaves them out, and no payload
repeats the row's columns; version 1 rows read as before; a version 2 row read without
its tenant is refused."""
from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings, strategies as st

from engine.crypto.copies import Copies, sealed
from engine.crypto.keyring import Keyring
from engine.events import FrozenDict, FrozenList, ImpliedChanges, RecordEvent, created, outbox_dict
from engine.records.dump import SYSTEM_FIELDS
from engine.records.event_json import OUTBOX_COLUMNS, encode_rows
from engine.privacy.scrub import replace_json
from engine.records.outbox_payload import IMPLIED, compact, derivable
from engine.records.writes import outbox_row

AT = datetime(2026, 12, 7, 10, 0, 0, 654321, tzinfo=timezone.utc)
SCALARS = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=6) | \
    st.floats(allow_nan=False, allow_infinity=False)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2) |
                      st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)
NAMES = st.sampled_from(["id", "version", "owner_id", "full_name", "email", "tier", "id_number", "notes"]) | \
    st.text(max_size=5)
RECORDS = st.dictionaries(NAMES, VALUES, max_size=6)
LOOKALIKE = {True: 1, 1: 1.0, 0.0: -0.0, "a": "b"}  # equal in Python (but the last), not the same JSON


def keyring() -> Keyring:
    """A tenant's keyring holding one data key (no database: its keys set as loaded)."""
    ring = Keyring(lambda: [], "the test tenant")
    ring._keys, ring._active = {1: AESGCM(secrets.token_bytes(32))}, 1
    return ring


def sealing(names) -> Copies | None:
    """The copies of `contact`, whose fields `names` are encrypted at rest (None: none)."""
    if not names:
        return None
    copies = Copies(None)
    copies.keyring, copies._fixed = keyring(), {"contact": frozenset(names)}
    return copies


@st.composite
def events(draw):
    """Events of every action; a new or deleted record's changes mostly its record's
    values, sometimes (as after a hook, or with a sealed copy of their own) not quite."""
    action = draw(st.sampled_from(["created", "created", "updated", "deleted", "deleted", "transitioned"]))
    record = draw(RECORDS)
    if action in IMPLIED:
        side = 1 if action == "created" else 0
        changes = {k: [v, None][::1 - 2 * side] for k, v in record.items() if k not in SYSTEM_FIELDS and v is not None}
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(changes) or ["id"]))
            how = draw(st.sampled_from(["drop", "lookalike", "other side", "last", "system"])) if changes else "system"
            pair = changes.get(name, [None, 7])
            value = pair[side]
            if how == "system":
                changes["id"] = pair
            elif how == "drop":
                del changes[name]
            elif how == "lookalike" and isinstance(value, (bool, int, float, str)):
                changes[name] = [LOOKALIKE.get(value, value), None][::1 - 2 * side]
            elif how == "other side":
                changes[name] = [value, value]
            else:  # the same pairs, another order
                changes[name] = changes.pop(name)
    else:
        changes = draw(st.dictionaries(NAMES, st.lists(VALUES, min_size=2, max_size=2), max_size=3))
    actor = draw(st.none() | st.sampled_from(["ann@acme.test", "", "李娜@acme.test"]))
    extra = draw(st.just({}) | st.dictionaries(st.text(max_size=5), VALUES, min_size=1, max_size=2))
    return RecordEvent("acme", "contact", action, draw(st.integers(1, 2**40)), record, changes, actor, extra, at=AT)


def read_back(row: dict, copies, tenant="acme") -> tuple[dict, dict]:
    """What the outbox's two readers give for a stored row (its payload as JSON gives it
    back; opened as the readers open it)."""
    stored = {**row, "id": 42, "payload": json.loads(json.dumps(row["payload"]))}
    if copies is not None:
        stored = copies.opened_row(stored)
    return RecordEvent.from_outbox(stored, tenant).to_dict(), outbox_dict(stored, tenant)


@settings(max_examples=150, deadline=None)
@given(event=events(), encrypted=st.sets(st.sampled_from(["full_name", "id_number", "tier", "notes"])))
def test_what_either_writer_puts_in_the_outbox_reads_back_as_the_event(event, encrypted):
    copies = sealing(encrypted)
    expected = json.dumps({**event.to_dict(), "id": 42})
    stored = copies.event(event) if copies is not None else event  # as the record service seals it
    [], [values] = encode_rows(AT, [stored], [])
    batch = dict(zip(OUTBOX_COLUMNS, values))
    batch["payload"] = json.loads(batch["payload"])
    single = outbox_row(AT, event, copies)
    for row in (batch, single):
        columns = (row["at"], row["event"], row["entity"], row["record_id"])
        assert columns == (AT, event.name, "contact", event.record_id)
        assert {"v", "record"} <= set(row["payload"]) <= {"v", "record", "changes", "actor", "extra"}
        assert all(sealed(row["payload"]["record"][k]) for k in encrypted if event.record.get(k) is not None)
        read, drained = read_back(row, copies)
        assert json.dumps(read) == expected == json.dumps(drained)
    omitted = derivable(event.record, event.changes, event.action) if event.action in IMPLIED else not event.changes
    assert ("changes" in batch["payload"]) == ("changes" in single["payload"]) == (not omitted)


def test_a_new_records_payload_holds_its_record_and_actor_only():
    record = {"id": 7, "version": 1, "full_name": "李娜", "tier": None, "consent_marketing": False, "tags": ["a"]}
    changes = created({k: v for k, v in record.items() if k not in SYSTEM_FIELDS})
    event = RecordEvent("acme", "contact", "created", 7, record, changes, "ann@acme.test", at=AT)
    [], [values] = encode_rows(AT, [event], [])
    payload = json.loads(dict(zip(OUTBOX_COLUMNS, values))["payload"])
    assert payload == {"v": 2, "record": record, "actor": "ann@acme.test"}
    assert read_back({**outbox_row(AT, event), "payload": payload}, None)[0]["changes"] == {
        "full_name": [None, "李娜"], "consent_marketing": [None, False], "tags": [None, ["a"]]}


def test_a_version_1_row_reads_as_the_same_event_as_a_version_2_row():
    event = RecordEvent("acme", "contact", "transitioned", 7, {"id": 7, "status": "open"},
                        {"status": ["new", "open"]}, None, {"from": "new", "to": "open"}, at=AT)
    v1 = {**outbox_row(AT, event), "payload": {**event.to_dict(), "tenant": "old-slug"}}
    v2 = outbox_row(AT, event)
    assert read_back(v1, None) == read_back(v2, None)
    assert read_back(v1, None)[0] == {**event.to_dict(), "id": 42}


def test_a_version_2_row_is_not_read_without_its_tenant():
    row = {**outbox_row(AT, RecordEvent("acme", "contact", "created", 7, {"a": 1}, {"a": [None, 1]}, at=AT)),
           "id": 42}
    for read in (RecordEvent.from_outbox, outbox_dict):
        with pytest.raises(ValueError, match="outbox event 42 is read without its tenant"):
            read(row)


def test_changes_made_from_a_record_are_taken_as_implied_by_that_record_only():
    record = FrozenDict({"id": 7, "full_name": "Ann", "tier": "gold"})
    changes = ImpliedChanges({"full_name": FrozenList((None, "Ann")), "tier": FrozenList((None, "gold"))}, record)
    event = RecordEvent.of("acme", "contact", "created", 7, record, changes, None, AT)
    assert "changes" not in compact(event)
    for other in (replace(event, record={**record, "tier": "silver"}), replace(event, record={"id": 7}),
                  replace(event, action="updated")):  # as a hook or a copy may make it: checked, kept
        assert compact(other)["changes"] == changes
        assert read_back(outbox_row(AT, other), None)[0] == {**other.to_dict(), "id": 42}
    plain = RecordEvent.of("acme", "contact", "created", 7, None, {"tier": [None, "gold"]}, None, AT)
    assert not derivable(None, plain.changes, "created") and compact(plain)["changes"] == {"tier": [None, "gold"]}


@settings(max_examples=60, deadline=None)
@given(event=events(), erased=st.sets(st.text("xyzqéü", min_size=2, max_size=3)), names=st.sets(NAMES, max_size=3))
def test_an_erasure_reads_back_the_same_from_either_version(event, erased, names):
    """Erasure rewrites an outbox payload (`scrub.replace_json`); a version 2 payload, whose
    changes the record may imply, then reads back as the version 1 payload scrubbed alike
    (erased values drawn apart from the event's name, tenant and time, which a version 1
    payload repeats and the row's columns hold)."""
    v1 = {**outbox_row(AT, event), "payload": event.to_dict()}
    v2 = outbox_row(AT, event)
    scrubbed = [{**row, "payload": replace_json(json.loads(json.dumps(row["payload"])), erased, frozenset(names))}
                for row in (v1, v2)]
    assert json.dumps(read_back(scrubbed[0], None)) == json.dumps(read_back(scrubbed[1], None))
