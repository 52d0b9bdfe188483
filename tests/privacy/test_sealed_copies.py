"""Copies of encrypted values (issue 12): a record with fields encrypted at rest, written,
changed and announced (rules fire a webhook and an in-app notification, the job queue
runs them), leaves no clear copy of those values anywhere in the tenant's storage — not
in the audit trail, the outbox, the search index or its queue, rule traces,
notifications, effect keys (every text and JSON column of every table on PostgreSQL;
the SQLite file's bytes) — while the rules, the history and the admins' audit log still
read them in clear, and members read them masked."""
from __future__ import annotations

import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import JSON, MetaData, String, Table, Text, select

from engine.app import create_app
from engine.auth import create_token, create_user
from engine.install import Install
from engine.plugins import Plugins
from engine.systables import loom_table
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres
from tests.privacy.scan import columns_holding, tenant_tables
from workflows.actions.webhook import check
from workflows.runtime import rule_event, runtime_of
from workflows.transitions import perform

ID_NUMBER, NEW_ID = "110101199003078515", "310101198507214433"
DIAGNOSIS = "asthma-since-childhood"
CLEAR = (ID_NUMBER, NEW_ID, DIAGNOSIS)
DOC = {
    "entities": [{"name": "customer", "fields": [
        {"name": "name", "type": "string", "pii": "contact"},
        {"name": "email", "type": "email", "pii": "contact"},
        {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity"},
        {"name": "diagnosis", "type": "text", "pii": "sensitive"},
        {"name": "city", "type": "string"}]}],
    "templates": [{"name": "changed", "subject": {"en": "{{ record.name }} changed"},
                   "body": {"en": "ID {{ record.id_number }}, {{ record.diagnosis }}, {{ record.city }}"}}],
}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shop(request, tmp_path_factory, receiver):
    if request.param == "postgresql":
        require_postgres()
    receiver.received.clear()
    patch = pytest.MonkeyPatch()
    patch.setenv("LOOM_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    patch.delenv("LOOM_MASTER_KEY_FILE", raising=False)
    settings = make_settings(request.param, tmp_path_factory.mktemp(f"sealed_{request.param}"))
    settings.extra["LOOM_WEBHOOK_ALLOW_PRIVATE"] = "1"
    install = Install(settings, Plugins(load_entry_points=False))
    try:
        install.registry.create("shop", "Shop")
        session = install.session("shop")
        doc = json.loads(json.dumps(DOC))
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        doc["rulesets"] = [{"name": "relay", "kind": "automation", "entity": "customer", "rules": [
            {"name": "any", "when": {"event": "record.updated"},
             "actions": [{"action": "webhook", "params": {"url": url}},
                         {"action": "webhook", "params": {"url": url + "?as=admin", "role": "admin"}},
                         {"action": "set_field", "params": {"field": "diagnosis", "value": {"$record": "diagnosis"}}},
                         {"action": "notify", "params": {"template": "changed", "to": ["role:admin", "role:member"],
                                                         "channel": "in_app"}}]}]}]
        session.apply_metadata(doc)
        storage = session.storage
        create_user(storage, "boss@shop.example", "admin")
        create_user(storage, "clerk@shop.example", "member")
        record = session.records.create("customer", {
            "name": "Wang Wei", "email": "wang@customer.example", "id_number": ID_NUMBER, "diagnosis": DIAGNOSIS,
            "city": "Beijing"})
        session.records.update("customer", record["id"], {"id_number": NEW_ID, "city": "Shanghai"})
        runtime_of(install).jobs.drain("shop")
        session.records.update("customer", record["id"], {"city": "Hangzhou"})  # queued, not handled
        app = create_app(install, {"TESTING": True})
        yield {"install": install, "session": session, "record": record, "client": app.test_client(),
               "backend": request.param, "settings": settings,
               "admin": {"Authorization": f"Bearer {create_token(storage, 'boss@shop.example')}"},
               "member": {"Authorization": f"Bearer {create_token(storage, 'clerk@shop.example')}"}}
    finally:
        install.dispose()
        patch.undo()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)


def clear_copies(session) -> list:
    """(table, column) of every text or JSON column of the tenant's tables holding a clear value."""
    storage = session.storage
    found = []
    with storage.connect() as conn:
        for table in tenant_tables(conn, storage.schema):
            texts = [column for column in table.columns
                     if isinstance(column.type, (String, Text, JSON))
                     or any(k in str(column.type).upper() for k in ("CHAR", "TEXT", "JSON"))]
            found += [(table.name, name) for name in columns_holding(conn, table, texts, CLEAR)]
    return found


def outbox_rows(session) -> list[dict]:
    table = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_no_table_holds_an_encrypted_value_in_clear_and_readers_still_see_it(shop, receiver):
    session, record = shop["session"], shop["record"]
    assert session.records.get("customer", record["id"])["id_number"] == NEW_ID  # the record reads in clear
    assert clear_copies(session) == []
    if shop["backend"] == "sqlite":
        storage = session.storage
        storage.engine.dispose()
        raw = b"".join(p.read_bytes() for p in shop["settings"].data_dir.rglob("*") if p.is_file())
        for value in CLEAR:
            assert value.encode() not in raw

    # the rules saw the clear values (their event was opened); a webhook sends them as its role reads
    # them: without a role every personal field is masked, as the admin role in clear
    masked, clear = [b for b in receiver.received if b["event"]["changes"].get("city") == ["Beijing", "Shanghai"]]
    if masked["record"]["id_number"] == NEW_ID:
        masked, clear = clear, masked
    assert clear["record"]["id_number"] == NEW_ID and clear["event"]["changes"]["id_number"] == [ID_NUMBER, NEW_ID]
    assert clear["record"]["name"] == "Wang Wei"
    assert {k: masked["record"][k] for k in ("name", "email", "id_number", "diagnosis", "city")} == {
        "name": "W***", "email": "w***@customer.example", "id_number": "**************4433",
        "diagnosis": "***", "city": "Shanghai"}
    assert masked["event"]["changes"]["id_number"] == ["**************8515", "**************4433"]
    assert not any(v in json.dumps(masked) for v in CLEAR)

    # in-app messages: each recipient reads the record as they may; encrypted classes always masked
    with session.storage.connect() as conn:
        bodies = {r.user_id: (r.title, r.body) for r in conn.execute(select(
            Table("loom_notifications", MetaData(), autoload_with=conn, schema=session.storage.schema)))}
    titles = sorted(t for t, _ in bodies.values())
    assert titles == ["W*** changed", "Wang Wei changed"]
    assert all(b == "ID **************4433, ***, Shanghai" for _, b in bodies.values())

    # the history: clear for an admin, masked for a member; the admin's audit log: clear
    client, url = shop["client"], f"/api/v1/t/shop/records/customer/{record['id']}/history"
    admin = client.get(url, headers=shop["admin"])
    assert admin.status_code == 200
    created, changed = admin.get_json()["items"][:2]
    assert created["changes"]["id_number"] == [None, ID_NUMBER]
    assert changed["changes"]["id_number"] == [ID_NUMBER, NEW_ID]
    member = client.get(url, headers=shop["member"]).get_json()["items"]
    assert member[1]["changes"]["id_number"] == ["**************8515", "**************4433"]
    assert DIAGNOSIS not in json.dumps(member)
    log = client.get("/api/v1/t/shop/audit?entity=customer", headers=shop["admin"]).get_json()["items"]
    assert [i["changes"]["id_number"] for i in log if "id_number" in i["changes"]] == [
        [ID_NUMBER, NEW_ID], [None, ID_NUMBER]]

    # a queued event still carries the values to the rules: handled now, clear for them
    runtime_of(shop["install"]).jobs.drain("shop")
    last = receiver.received[-1]["event"]
    assert last["changes"] == {"city": ["Shanghai", "Hangzhou"]}
    assert clear_copies(session) == []


def test_a_webhook_role_must_be_a_role_name():
    assert check({"url": "https://hooks.example/x", "role": "claims_adjuster"}) == []
    assert check({"url": "https://hooks.example/x", "role": 7}) == [
        "webhook: role must be the name of a role (admin, member or one of the tenant's)"]
    assert check({"url": "https://hooks.example/x", "role": "no such; role"})


@pytest.fixture
def master(monkeypatch):
    monkeypatch.setenv("LOOM_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("LOOM_MASTER_KEY_FILE", raising=False)


def test_records_moved_by_a_state_map_announce_their_encrypted_values_sealed(install, master):
    flow = {"entities": [{"name": "ticket", "fields": [
                {"name": "id_number", "type": "string", "pii": "identity"},
                {"name": "status", "type": "choice", "options": ["new", "waiting"]}]}],
            "workflows": [{"name": "flow", "entity": "ticket", "field": "status", "initial": "new",
                           "states": [{"name": "new", "category": "open"},
                                      {"name": "waiting", "category": "waiting"}],
                           "transitions": [{"name": "wait", "from": ["new"], "to": "waiting"}]}]}
    install.registry.create("desk")
    session = install.session("desk")
    session.apply_metadata(json.loads(json.dumps(flow)))
    record = session.records.create("ticket", {"id_number": ID_NUMBER})
    perform(session, "ticket", record["id"], "wait")
    flow["entities"][0]["fields"][1]["options"] = ["new"]
    flow["workflows"][0]["states"] = flow["workflows"][0]["states"][:1]
    flow["workflows"][0]["transitions"] = []
    session.apply_metadata(flow, state_map={("ticket", "waiting"): "new"})
    assert session.records.get("ticket", record["id"])["status"] == "new"
    assert clear_copies(session) == []
    [moved] = [e for e in (rule_event("desk", r, session.metadata()) for r in outbox_rows(session))
               if e["extra"].get("state_map")]
    assert moved["record"]["id_number"] == ID_NUMBER


def test_a_merge_keeps_the_encrypted_values_it_needs_to_undo_itself_sealed(install, master):
    install.registry.create("desk")
    session = install.session("desk")
    session.apply_metadata(json.loads(json.dumps({"entities": DOC["entities"]})))
    survivor = session.records.create("customer", {"name": "Wang Wei", "id_number": ID_NUMBER, "city": "Beijing"})
    twin = session.records.create("customer", {"name": "Wang Wei", "id_number": NEW_ID, "diagnosis": DIAGNOSIS})
    merged = session.records.merge("customer", survivor["id"], [twin["id"]], fields={"id_number": twin["id"]})
    assert session.records.get("customer", survivor["id"])["id_number"] == NEW_ID
    assert clear_copies(session) == []   # loom_merges.undo holds the twin and the old values sealed
    session.records.undo_merge(merged["id"])
    assert session.records.get("customer", survivor["id"])["id_number"] == ID_NUMBER
    assert session.records.get("customer", twin["id"])["diagnosis"] == DIAGNOSIS


@pytest.mark.parametrize("count", [2, 70], ids=["rows", "copy"])  # 70: COPY on PostgreSQL (bulk_rows.COPY_ROWS)
def test_a_batch_create_leaves_no_clear_copy_and_announces_the_values(install, master, count):
    install.registry.create("desk")
    session = install.session("desk")
    session.apply_metadata(json.loads(json.dumps({"entities": DOC["entities"]})))
    ids = session.records.create_many("customer", [
        {"name": f"Wang Wei {n}", "id_number": ID_NUMBER if n % 2 else NEW_ID, "diagnosis": DIAGNOSIS,
         "city": "Beijing"} for n in range(count)])
    assert clear_copies(session) == []
    events = [rule_event("desk", r, session.metadata()) for r in outbox_rows(session)]
    assert [e["record_id"] for e in events] == ids
    assert all(e["record"]["diagnosis"] == DIAGNOSIS == e["changes"]["diagnosis"][1] for e in events)
    assert session.records.get("customer", ids[1])["id_number"] == ID_NUMBER
