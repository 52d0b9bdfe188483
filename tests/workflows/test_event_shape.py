"""One record event, one shape: the event the record service writes to the outbox is the
event the rules engine fires on, the rule trace records and a webhook receives."""
from __future__ import annotations

import copy
import json
import threading
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from engine.auth import create_user
from engine.events import RecordEvent, created, created_from, outbox_dict
from engine.systables import loom_table
from tests.conftest import crm_document
from workflows.runtime import runtime_of


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(install):
    install.settings.extra["LOOM_WEBHOOK_ALLOW_PRIVATE"] = "1"  # the receiver is on loopback
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def rows(session, name) -> list[dict]:
    table = loom_table(session.storage.schema, name)
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_the_outbox_event_is_what_the_rule_trace_and_the_webhook_see(install, backend, receiver):
    document = copy.deepcopy(crm_document())
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    document["rulesets"] = [{"name": "relay", "kind": "automation", "entity": "contact", "rules": [
        {"name": "tier_changed", "when": {"event": "record.updated", "changed": ["tier"]},
         "actions": [{"action": "webhook", "params": {"url": url}}]}]}]
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(document)
    ann = create_user(install.session("acme").storage, "ann@acme.test", "admin")
    records = install.session("acme", ann).records
    contact = records.create("contact", {"full_name": "李娜", "tier": "regular"})
    records.update("contact", contact["id"], {"tier": "gold"})
    runtime_of(install).jobs.drain("acme")

    updated = [r for r in rows(install.session("acme"), "loom_outbox") if r["event"] == "record.updated"]
    [row] = updated
    event = RecordEvent.from_outbox(row, "acme")
    assert (event.name, event.entity, event.record_id, event.actor, event.id) == (
        "record.updated", "contact", contact["id"], "ann@acme.test", row["id"])
    assert event.to_dict()["changes"] == {"tier": ["regular", "gold"]}
    assert event.to_dict() == outbox_dict(row, "acme")
    assert row["payload"] == {"v": 2, "record": event.to_dict()["record"], "changes": {"tier": ["regular", "gold"]},
                              "actor": "ann@acme.test"}  # the rest is the row's columns and its tenant

    [trace] = rows(install.session("acme"), "loom_rule_trace")
    assert (trace["event_id"], trace["event"], trace["entity"], trace["record_id"], trace["outcome"]) == (
        row["id"], "record.updated", "contact", contact["id"], "done")

    [body] = receiver.received
    assert body["event"] == event.to_dict()
    assert RecordEvent.from_dict(body["event"]) == event
    assert body["record"]["tier"] == "gold"


def test_an_outbox_payload_written_before_the_shape_had_a_version_reads_the_same():
    old = {"event": "record.transitioned", "tenant": "acme", "entity": "ticket", "id": 7,
           "record": {"id": 7, "status": "open"}, "changes": {"status": ["new", "open"]},
           "actor": None, "extra": {"from": "new", "to": "open"}}
    event = RecordEvent.from_outbox({"id": 42, "at": None, "payload": old})
    assert (event.action, event.record_id, event.id, event.extra) == (
        "transitioned", 7, 42, {"from": "new", "to": "open"})
    assert RecordEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_a_hook_cannot_change_the_event_it_is_given():
    event = RecordEvent("acme", "contact", "updated", 7, {"id": 7, "tags": ["a"], "address": {"city": "Wuhan"}},
                        {"tags": [["x"], ["a"]]}, "ann@acme.test", {"note": {"k": "v"}})
    for change in (lambda: event.record.__setitem__("tier", "gold"), lambda: event.changes.pop("tags"),
                   lambda: event.record["address"].__setitem__("city", "Pune"),
                   lambda: event.record["tags"].append("b"), lambda: event.extra["note"].clear(),
                   lambda: setattr(event, "record", {})):
        with pytest.raises((TypeError, AttributeError)):
            change()
    assert json.loads(json.dumps(event.to_dict()))["record"] == {"id": 7, "tags": ["a"], "address": {"city": "Wuhan"}}
    assert event.to_dict()["changes"] == {"tags": [["x"], ["a"]]}


def test_a_read_only_event_still_reads_copies_and_pickles_as_plain_json_values():
    import copy
    import pickle

    event = RecordEvent("acme", "contact", "updated", 7, {"id": 7, "brands": [1, 2]}, {"brands": [[1], [1, 2]]})
    assert isinstance(event.record, dict) and isinstance(event.record["brands"], list)
    assert event.changes == {"brands": [[1], [1, 2]]}
    for again in (pickle.loads(pickle.dumps(event)), copy.deepcopy(event)):
        assert again == event
        with pytest.raises(TypeError):
            again.record["brands"].append(3)


def test_the_shape_without_copies_is_the_plain_shape_and_stays_read_only():
    event = RecordEvent("acme", "contact", "updated", 7, {"id": 7, "tags": ["a"], "amount": {"amount": "1.50"}},
                        {"tags": [[], ["a"]]}, "ann@acme.test", {"from": "new", "to": "open"})
    shared, plain = event.as_dict(), event.to_dict()
    assert shared == plain and json.dumps(shared) == json.dumps(plain)
    assert shared["record"] is event.record and plain["record"] is not event.record
    with pytest.raises(TypeError):
        shared["record"]["tags"].append("b")
    plain["record"]["tags"].append("b")  # a plain copy is the reader's own
    assert event.record["tags"] == ["a"]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
PAYLOADS = st.fixed_dictionaries({
    "event": st.sampled_from(["record.created", "record.updated", "record.deleted", "record.transitioned"]),
    "tenant": st.sampled_from(["", "acme"]), "entity": st.sampled_from(["contact", "deal"]),
    "record_id": st.integers(1, 10**6), "record": st.none() | st.dictionaries(st.text(max_size=6), JSON, max_size=4),
    "changes": st.none() | st.dictionaries(st.text(max_size=6), st.lists(JSON, min_size=2, max_size=2), max_size=3),
    "actor": st.none() | st.just("ann@acme.test"), "extra": st.none() | st.dictionaries(st.text(max_size=5), JSON,
                                                                                          max_size=3),
    "at": st.none() | st.just("2026-01-02T03:04:05+00:00")})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOADS, versioned=st.booleans(), at=st.none() | st.datetimes(timezones=st.just(timezone.utc)),
       tenant=st.none() | st.just("acme"))
def test_the_drains_event_without_copies_is_the_events_plain_shape(payload, versioned, at, tenant):
    """`outbox_dict` (the drain's, sharing the row's values) is `from_outbox(...).to_dict()`."""
    payload = dict(payload, v=1) if versioned else {**payload, "id": payload["record_id"]}
    row = {"id": 42, "at": at, "payload": json.loads(json.dumps(payload))}
    expected = RecordEvent.from_outbox(copy.deepcopy(row), tenant).to_dict()
    assert outbox_dict(row, tenant) == expected
    assert json.dumps(outbox_dict(row, tenant), sort_keys=True) == json.dumps(expected, sort_keys=True)


@settings(max_examples=60, deadline=None)
@given(record=st.dictionaries(st.text(max_size=6), JSON, max_size=4),
       changes=st.dictionaries(st.text(max_size=6), st.lists(JSON, min_size=2, max_size=2), max_size=3),
       action=st.sampled_from(["created", "updated", "deleted"]), actor=st.none() | st.just("ann@acme.test"),
       at=st.none() | st.datetimes() | st.datetimes(timezones=st.just(timezone.utc)))
def test_an_event_made_in_one_step_is_the_event_the_constructor_makes(record, changes, action, actor, at):
    """`RecordEvent.of` (a batch's events) makes what `RecordEvent(...)` makes: equal, the same
    read-only values, the same JSON, and as frozen."""
    made = RecordEvent.of("acme", "contact", action, 7, copy.deepcopy(record), copy.deepcopy(changes), actor, at)
    event = RecordEvent("acme", "contact", action, 7, copy.deepcopy(record), copy.deepcopy(changes), actor, at=at)
    assert made == event and vars(made) == vars(event)
    assert {k: type(v) for k, v in vars(made).items()} == {k: type(v) for k, v in vars(event).items()}
    assert json.dumps(made.as_dict()) == json.dumps(event.as_dict())
    assert made.happened_at(at or event.at) == event.happened_at(at or event.at)
    for change in (lambda: setattr(made, "record", {}), lambda: made.extra.__setitem__("k", 1),
                   lambda: made.changes.clear()):
        with pytest.raises((TypeError, AttributeError)):
            change()


@settings(max_examples=60, deadline=None)
@given(record=st.dictionaries(st.sampled_from("abcdef"), JSON, max_size=6),
       given_names=st.sets(st.sampled_from("abcdefg")))
def test_a_new_records_changes_in_one_pass_are_those_of_created(record, given_names):
    """`created_from` (a batch's changes, taken from the record's JSON) is `created` of the
    same values: equal, as read-only all the way down, in the same order."""
    names = tuple(n for n in "abcdefg" if n in record)
    one_pass = created_from(record, names, given_names)
    expected = created({n: record[n] for n in names if n in given_names})
    assert one_pass == expected and list(one_pass) == list(expected)
    assert json.dumps(one_pass) == json.dumps(expected)
    assert [type(v) for v in one_pass.values()] == [type(v) for v in expected.values()]
    for value in one_pass.values():
        with pytest.raises(TypeError):
            value.append(1)


def test_events_without_extra_share_no_extra():
    """Each event made in one step has its own empty `extra`: one changed behind its back
    (dict.__setitem__ past the read-only guard) changes no other event, and its payload
    text stays what json.dumps writes."""
    first, second = (RecordEvent.of("acme", "contact", "created", n, {"a": n}, {}, None, None) for n in (1, 2))
    assert first.extra == {} and first.extra is not second.extra
    dict.__setitem__(first.extra, "k", 1)
    third = RecordEvent.of("beta", "contact", "created", 3, {}, {}, None, None)
    assert second.extra == {} and third.extra == {}
    assert json.loads(json.dumps(third.as_dict()))["extra"] == {}
