"""Action error texts carry no personal value (issue 12), on SQLite and PostgreSQL: a
webhook receiver that refuses the event and echoes its payload (the record's name, e-mail,
phone and ID number, sent as `admin`) fails the rule's action; the event's `last_error`,
the rule trace's `detail`, the dead-letter list and the record's rule trace read by an
admin keep the error's wording but none of those values. `safe_text` removes any value
given to it, in any case and any spacing of its digits, and any e-mail address or long
number, from any text."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select

from engine.auth import create_token, create_user
from engine.systables import loom_table
from tests.engine.test_encryption import master  # noqa: F401 - the fixture
from engine.privacy.error_text import REDACTED, safe_text
from workflows.runtime import runtime_of

NAME, EMAIL, PHONE, ID_NUMBER = "Zhang Sanfeng", "zhang.sanfeng@customer.example", "+86 138 0013 8001", \
    "110101199003078515"
CLEAR = (NAME, EMAIL, "0013 8001", "13800138001", ID_NUMBER)
DOC = {"entities": [{"name": "party", "fields": [
    {"name": "name", "type": "string", "pii": "contact"},
    {"name": "email", "type": "email", "pii": "contact"},
    {"name": "phone", "type": "phone", "pii": "contact"},
    {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity"},
    {"name": "city", "type": "string"}]}]}


class Echo(BaseHTTPRequestHandler):
    """Refuses every event, quoting it back (as a careless receiver does)."""

    def do_POST(self):
        sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        record = sent.get("record") or sent["event"]["record"]
        body = (f"invalid phone {record['phone']} of {record['name']} <{record['email']}>, "
                f"id {record['id_number']}").encode()
        self.send_response(422)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(install, master, echo):  # noqa: F811
    install.settings.extra["LOOM_WEBHOOK_ALLOW_PRIVATE"] = "1"
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    doc = json.loads(json.dumps(DOC))
    doc["rulesets"] = [{"name": "relay", "kind": "automation", "entity": "party", "rules": [
        {"name": "tell", "when": {"event": "record.updated"},
         "actions": [{"action": "webhook", "params": {"url": echo, "role": "admin"}}]}]}]
    session.apply_metadata(doc)
    record = session.records.create("party", {"name": NAME, "email": EMAIL, "phone": PHONE,
                                              "id_number": ID_NUMBER, "city": "Wudang"})
    session.records.update("party", record["id"], {"city": "Beijing"})
    runtime_of(install).jobs.drain("shop")
    return install, session, record


def test_a_failed_actions_texts_hold_no_personal_value(shop, client):
    install, session, record = shop
    storage = session.storage
    with storage.connect() as conn:
        errors = conn.execute(select(loom_table(storage.schema, "loom_outbox").c.last_error)).scalars().all()
        details = conn.execute(select(loom_table(storage.schema, "loom_rule_trace").c.detail)).scalars().all()
    [error] = [e for e in errors if e]
    [detail] = [d for d in details if d]
    for text in (error, json.dumps(detail, ensure_ascii=False)):
        assert "answered 422" in text and REDACTED in text  # the wording stays, the values go
        assert [v for v in CLEAR if v in text] == []
    create_user(storage, "boss@shop.example", "admin")
    headers = {"Authorization": f"Bearer {create_token(storage, 'boss@shop.example')}"}
    for path in (f"/api/v1/t/shop/records/party/{record['id']}/rule-trace", "/api/v1/t/shop/jobs/failed"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200
        assert [v for v in CLEAR if v in answer.get_data(as_text=True)] == []
    assert "answered 422" in client.get(f"/api/v1/t/shop/records/party/{record['id']}/rule-trace",
                                        headers=headers).get_data(as_text=True)


values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=2, max_size=30).filter(
    lambda v: len(v.strip()) >= 2)
MARKERS = re.compile(r"\[redacted\]|\[e-mail\]|\[number\]")


@hsettings(max_examples=200)
@given(value=values, before=st.text(max_size=40), after=st.text(max_size=40))
def test_safe_text_never_keeps_a_given_value(value, before, after):
    """Anywhere it stands as words of its own (a Latin value inside a longer word is not it)."""
    value = value.strip()
    text = safe_text(f"{before} {value} {after}", {value})
    assert all(value not in piece for piece in MARKERS.split(text))  # a marker beside text is no value
    assert len(text) <= 2000


@given(digits=st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=3, max_size=6),
       sep=st.sampled_from([" ", "-", ".", ""]))
def test_a_numbers_digits_go_in_any_spacing(digits, sep):
    number = "".join(digits)
    if len(number) < 7:
        return
    for shown in (sep.join(digits), number):
        assert number not in safe_text(f"refused {shown} here", {"+86 " + " ".join(digits)}).replace(" ", "")
    assert safe_text("write to Wang.Wei@Example.CN now") == "write to [e-mail] now"


def test_a_failed_sla_escalation_is_raised_and_logged_without_personal_values(shop, echo):
    """An SLA escalation runs its actions outside a rule's firing: its failure (the echoing
    webhook) reaches the sweep's log as safe text too."""
    install, session, record = shop
    timer = {"id": 7, "entity": "party", "record_id": record["id"], "due_at": None}
    actions = [{"action": "webhook", "params": {"url": echo, "role": "admin"}}]
    with pytest.raises(Exception) as failed:
        runtime_of(install)._escalate(session, timer, actions)
    text = str(failed.value)
    assert "422" in text and [v for v in CLEAR if v in text] == []
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
