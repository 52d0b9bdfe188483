"""A message template allowed to show a PII class in clear (issue 12), on SQLite and
PostgreSQL, with a real SMTP server: `"clear": ["contact"]` is checked at publish (only
`contact` and `financial`; the classes encrypted at rest are refused, as is any unknown
name); a template with it sends the phone in clear to every recipient who may read the
field — a member without the unmask right, the record's own address — while a role that
may not read the field gets no phone at all, every class the template did not allow stays
masked, and a template without `clear` masks as before."""
from __future__ import annotations

import copy

import pytest

from engine.auth import create_user
from engine.errors import LoomError
from tests.mail import running_smtp
from tests.engine.test_encryption import master  # noqa: F401 - the fixture
from workflows.notify.delivery import Notifier
from workflows.notify.mailer import Mailer, SmtpSettings
from workflows.notify.service import templates_for
from workflows.notify.templates import check_template

PHONE, CARD, ID_NUMBER = "+86 138 0013 8001", "6222020200112233", "110101199003078515"
BODY = "Phone {{ record.phone }}|card {{ record.card }}|ID {{ record.id_number }}|name {{ record.name }}"
TEMPLATE = {"name": "callback", "subject": {"en": "Call back"}, "body": {"en": BODY}, "clear": ["contact"]}
DOC = {"entities": [{"name": "party", "fields": [
    {"name": "name", "type": "string", "pii": "contact"},
    {"name": "email", "type": "email", "pii": "contact"},
    {"name": "phone", "type": "phone", "pii": "contact"},
    {"name": "card", "type": "string", "pii": "financial"},
    {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity"}]}],
    "roles": [{"name": "desk", "entities": {"party": {"rights": ["read"], "other_fields": "read",
                                                      "fields": {"phone": "none"}}}}],
    "templates": [TEMPLATE, {**TEMPLATE, "name": "plain", "clear": None}]}


def document():
    doc = copy.deepcopy(DOC)
    doc["templates"][1].pop("clear")
    return doc


@pytest.fixture
def shop(install, master):  # noqa: F811
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(document())
    storage = session.storage
    people = {"mia": create_user(storage, "mia@shop.example", "member"),
              "dan": create_user(storage, "dan@shop.example", roles=["desk"])}
    record = session.records.create("party", {"name": "Wang Wei", "email": "wang@customer.example",
                                              "phone": PHONE, "card": CARD, "id_number": ID_NUMBER})
    with running_smtp() as smtp:
        mailer = Mailer(SmtpSettings(host="127.0.0.1", port=smtp.port, sender="crm@shop.example"))
        yield session, people, record, smtp, Notifier(session, templates_for, lambda s: mailer)


def bodies(smtp) -> dict:
    return {m["To"]: m.get_content().rstrip() for m in smtp.messages}


def test_a_template_allowed_contact_sends_the_phone_in_clear_to_who_may_read_it(shop):
    session, people, record, smtp, notifier = shop
    to = ["user:mia@shop.example", "user:dan@shop.example", "field:email"]
    assert notifier.send("callback", to, "party", record)["sent"] == 3
    got = bodies(smtp)
    # a member without the unmask right, and the data subject: contact in clear, the rest masked
    for reader in ("mia@shop.example", "wang@customer.example"):
        assert got[reader] == ("Phone +86 138 0013 8001|card ************2233|ID **************8515"
                               "|name Wang Wei"), reader
    # a role that may not read the phone gets none, and still the rest as before
    assert got["dan@shop.example"] == "Phone |card ************2233|ID **************8515|name Wang Wei"


def test_without_clear_a_member_still_reads_the_phone_masked(shop):
    session, people, record, smtp, notifier = shop
    notifier.send("plain", ["user:mia@shop.example", "field:email"], "party", record)
    got = bodies(smtp)
    assert got["mia@shop.example"] == "Phone 138****8001|card ************2233|ID **************8515|name W***"
    assert got["wang@customer.example"].startswith("Phone +86 138 0013 8001|card ************2233")


@pytest.mark.parametrize("clear, code", [
    (["identity"], "encrypted_class"), (["sensitive"], "encrypted_class"), (["secret"], "unknown_class"),
    ("contact", "type"), ([1], "unknown_class"), (["contact", "contact"], "duplicate")])
def test_clear_is_checked_at_publish_and_a_refusal_changes_nothing(shop, clear, code):
    session = shop[0]
    assert check_template({**TEMPLATE, "clear": ["contact", "financial"]}) == []
    problems = check_template({**TEMPLATE, "clear": clear})
    assert [p["code"] for p in problems] == [code] and problems[0]["field"].startswith("/clear")
    doc = document()
    doc["templates"][0]["clear"] = clear
    version = session.metadata().version
    with pytest.raises(LoomError) as refused:
        session.apply_metadata(doc)
    assert refused.value.status == 400 or refused.value.status == 422
    assert any(p.path.startswith("/templates/0/clear") for p in refused.value.problems)
    assert session.install.session("shop").metadata().version == version
