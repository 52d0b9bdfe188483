"""Every kind of record event (created, one by one and in a batch, updated, transitioned,
deleted) of an entity with a field encrypted at rest, a default and a workflow, stored in
the outbox's compact payload (version 2), reaches the rules and a webhook as the write
announced it: the record as stored, the changes its audit row holds, in clear for the
admin role; a new record's payload holds no copy of its values as changes, and no clear
encrypted value."""
from __future__ import annotations

import base64
import json
import secrets

import pytest
from sqlalchemy import select

from engine.auth import create_user
from engine.crypto.copies import Copies
from engine.systables import loom_table
from tests.workflows.test_event_shape import receiver  # noqa: F401 (a fixture)
from workflows.runtime import rule_event, runtime_of
from workflows.transitions import perform

ID_NUMBER = "110101199003078515"
EVENTS = ("record.created", "record.updated", "record.transitioned")  # rules do not fire on deletes
DOC = {"entities": [{"name": "ticket", "fields": [
           {"name": "title", "type": "string"},
           {"name": "id_number", "type": "string", "pii": "identity"},
           {"name": "priority", "type": "choice", "options": ["low", "high"], "default": "low"},
           {"name": "status", "type": "choice", "options": ["new", "waiting"]}]}],
       "workflows": [{"name": "flow", "entity": "ticket", "field": "status", "initial": "new",
                      "states": [{"name": "new", "category": "open"}, {"name": "waiting", "category": "waiting"}],
                      "transitions": [{"name": "wait", "from": ["new"], "to": "waiting"}]}]}


@pytest.fixture
def master(monkeypatch):
    monkeypatch.setenv("LOOM_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("LOOM_MASTER_KEY_FILE", raising=False)


def table_rows(session, name) -> list[dict]:
    table = loom_table(session.storage.schema, name)
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_every_event_reaches_the_rules_and_webhooks_as_the_write_announced_it(install, master, receiver):
    doc = json.loads(json.dumps(DOC))
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    doc["rulesets"] = [{"name": "relay", "kind": "automation", "entity": "ticket", "rules": [
        {"name": name.split(".")[1], "when": {"event": name},
         "actions": [{"action": "webhook", "params": {"url": url, "role": "admin"}}]} for name in EVENTS]}]
    install.registry.create("desk", "Desk")
    session = install.session("desk")
    session.apply_metadata(doc)
    ann = create_user(session.storage, "ann@desk.test", "admin")
    records = install.session("desk", ann).records
    given = {"title": "Printer", "id_number": ID_NUMBER, "priority": "high", "status": "new"}
    single = records.create("ticket", given)
    batch = records.create_many("ticket", [{**given, "title": f"Batch {n}"} for n in range(2)])
    defaulted = records.create("ticket", {"title": "Defaulted", "status": "new"})  # priority not given
    records.update("ticket", single["id"], {"title": "Printer 2"})
    perform(install.session("desk", ann), "ticket", single["id"], "wait")
    records.delete("ticket", batch[1])
    stored = {i: records.get("ticket", i) for i in (batch[0], defaulted["id"])}
    runtime_of(install).jobs.drain("desk")

    metadata, outbox = session.metadata(), table_rows(session, "loom_outbox")
    audits = {(a["record_id"], a["record_version"]): Copies(metadata).opened_changes(a["changes"])
              for a in table_rows(session, "loom_audit") if a["entity"] == "ticket"}
    assert [r["event"] for r in outbox] == ["record.created"] * 4 + ["record.updated", "record.transitioned",
                                                                     "record.deleted"]
    assert ID_NUMBER not in json.dumps([r["payload"] for r in outbox])
    assert ["changes" in r["payload"] for r in outbox] == [False] * 4 + [True, True, False]  # a delete's: the record's
    events = [rule_event("desk", row, metadata) for row in outbox]
    delivered = {body["event"]["id"]: body["event"] for body in receiver.received}
    assert delivered == {e["id"]: e for e in events if e["event"] != "record.deleted"}
    assert all(e["tenant"] == "desk" and e["entity"] == "ticket" and e["actor"] == "ann@desk.test" for e in events)

    created = {e["record_id"]: e for e in events if e["event"] == "record.created"}
    for record_id, record in stored.items():
        assert created[record_id]["record"] == record and created[record_id]["record"]["id_number"] in (ID_NUMBER, None)
        assert created[record_id]["changes"] == audits[(record_id, 1)]
    assert created[batch[0]]["changes"] == {k: [None, v] for k, v in given.items()} | {"title": [None, "Batch 0"]}
    assert created[defaulted["id"]]["changes"] == {"title": [None, "Defaulted"], "priority": [None, "low"],
                                                   "status": [None, "new"]}  # the default written, announced
    updated, moved, deleted = events[4:]
    assert updated["changes"] == {"title": ["Printer", "Printer 2"]} == audits[(single["id"], 2)]
    assert (moved["changes"], moved["extra"]["to"]) == ({"status": ["new", "waiting"]}, "waiting")
    assert (deleted["record_id"], deleted["record"]["id"], deleted["record"]["id_number"]) == (
        batch[1], batch[1], ID_NUMBER)
