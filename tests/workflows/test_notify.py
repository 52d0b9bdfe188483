"""Notifications with real components: a real SMTP server (aiosmtpd) on a free port,
real tenants on SQLite and PostgreSQL, the real Flask app."""
from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import update

from engine.actions import ActionContext, ActionFailed
from engine.auth import create_user
from engine.systables import loom_table
from workflows import outbox
from workflows.runtime import runtime_of
from tenants import Settings
from tests.conftest import crm_document, token_for
from tests.mail import Collector, free_port, running_smtp
from workflows.notify import inapp
from workflows.notify.delivery import Notifier, check
from workflows.notify.api import notifications
from workflows.notify.mailer import AddressRefused, Mailer, SmtpSettings, smtp_settings
from workflows.notify.recipients import Recipient, resolve
from workflows.notify.service import say_email_is_off
from workflows.notify.templates import TemplateFailed, check_template, pick_locale, render

SURVEY = {
    "name": "survey_invite",
    "subject": {"en": "How did we do, {{ record.full_name }}?",
                "zh-CN": "{{ record.full_name }}，您对我们的服务满意吗？"},
    "body": {"en": "Dear {{ recipient.name }},\nplease rate {{ tenant.name }}.{{ record.nope }}",
             "zh-CN": "尊敬的{{ recipient.name }}：\n请为{{ tenant.name }}的服务打分。"},
}


# -- a real SMTP server -------------------------------------------------------------------
@pytest.fixture
def smtp():
    with running_smtp() as collector:
        collector.mailer = Mailer(SmtpSettings(host="127.0.0.1", port=collector.port,
                                               sender="Loom <loom@acme.example>", timeout=5))
        yield collector


def closed_mailer() -> Mailer:
    return Mailer(SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2))


# -- the mailer -----------------------------------------------------------------------------
def test_mailer_delivers_utf8_with_effect_header(smtp):
    message_id = smtp.mailer.send("wang@example.cn", "王先生，您满意吗？", "请为我们打分。\nThanks!",
                                  headers={"X-Loom-Effect": "evt-7|rule|0"})
    [envelope], [msg] = smtp.envelopes, smtp.messages
    assert envelope.mail_from == "loom@acme.example"
    assert envelope.rcpt_tos == ["wang@example.cn"]
    assert msg["From"] == "Loom <loom@acme.example>"
    assert msg["To"] == "wang@example.cn"
    assert msg["Subject"] == "王先生，您满意吗？"
    assert b"=?utf-8?" in envelope.original_content.lower()  # RFC 2047, not raw bytes
    assert msg.get_content().rstrip("\n") == "请为我们打分。\nThanks!"
    assert msg.get_content_charset() == "utf-8"
    assert msg["X-Loom-Effect"] == "evt-7|rule|0"
    assert msg["Message-ID"] == message_id and message_id.startswith("<")
    assert msg["Date"]


def test_message_id_follows_the_effect_key():
    mailer = Mailer()
    one = mailer.build("a@example.org", "s", "b", {"X-Loom-Effect": "k1"})["Message-ID"]
    assert one == mailer.build("a@example.org", "s", "b", {"X-Loom-Effect": "k1"})["Message-ID"]
    assert one != mailer.build("b@example.org", "s", "b", {"X-Loom-Effect": "k1"})["Message-ID"]
    assert mailer.build("a@example.org", "s", "b")["Message-ID"] != \
        mailer.build("a@example.org", "s", "b")["Message-ID"]


def test_a_closed_port_is_a_clear_action_failure():
    mailer = closed_mailer()
    with pytest.raises(ActionFailed, match=rf"could not reach the SMTP server at 127.0.0.1:{mailer.settings.port}"):
        mailer.send("a@example.org", "hi", "body")


def test_a_refused_recipient_is_a_clear_action_failure(smtp):
    with pytest.raises(ActionFailed, match=r"refused the recipient.*nobody@example.org.*550"):
        smtp.mailer.send("nobody@example.org", "hi", "body")
    assert smtp.envelopes == []


def test_a_refused_login_is_a_clear_action_failure():
    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=False)

    controller = Controller(Collector(), hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        mailer = Mailer(SmtpSettings(host="127.0.0.1", port=controller.port, user="loom", password="wrong",
                                     timeout=5))
        with pytest.raises(ActionFailed, match=r"refused the login of 'loom'.*535"):
            mailer.send("a@example.org", "hi", "body")
    finally:
        controller.stop()


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "two@@example.org",
                                     "a@example.org\r\nBcc: x@evil.example", "", "名字@example.org"])
def test_invalid_addresses_are_refused_before_connecting(address):
    with pytest.raises(AddressRefused) as caught:
        closed_mailer().send(address, "hi", "body")
    assert "could not reach" not in str(caught.value)


def test_header_injection_and_reserved_headers_are_refused():
    with pytest.raises(ActionFailed, match="line breaks"):
        Mailer().build("a@example.org", "s", "b", {"X-Loom-Effect": "k\r\nBcc: x@evil.example"})
    with pytest.raises(ActionFailed, match="may not be set"):
        Mailer().build("a@example.org", "s", "b", {"Bcc": "x@evil.example"})


def test_smtp_settings_from_a_mapping():
    assert smtp_settings({}) == SmtpSettings() and smtp_settings({}).host is None  # e-mail is off
    assert not Mailer.from_environ({"LOOM_SMTP_HOST": ""}).enabled
    assert Mailer.from_environ({"LOOM_SMTP_HOST": "127.0.0.1"}).settings.port == 25
    extra = Settings.from_env({"LOOM_SMTP_HOST": "mail.example.org", "LOOM_SMTP_PORT": "587",
                               "LOOM_SMTP_USER": "u", "LOOM_SMTP_PASSWORD": "p",
                               "LOOM_SMTP_FROM": "crm@example.org", "LOOM_SMTP_STARTTLS": "true",
                               "LOOM_SMTP_TIMEOUT": "2.5"}).extra
    assert smtp_settings(extra) == SmtpSettings("mail.example.org", 587, "u", "p", "crm@example.org",
                                                starttls=True, ssl=False, timeout=2.5)
    for bad, words in [({"LOOM_SMTP_PORT": "x"}, "LOOM_SMTP_PORT"), ({"LOOM_SMTP_PORT": "٢٥"}, "LOOM_SMTP_PORT"),
                       ({"LOOM_SMTP_SSL": "maybe"}, "LOOM_SMTP_SSL"),
                       ({"LOOM_SMTP_SSL": "1", "LOOM_SMTP_STARTTLS": "1"}, "not both"),
                       ({"LOOM_SMTP_TIMEOUT": "-1"}, "LOOM_SMTP_TIMEOUT"),
                       ({"LOOM_SMTP_FROM": "nobody"}, "LOOM_SMTP_FROM")]:
        with pytest.raises(ValueError, match=words):
            smtp_settings(bad)


# -- templates ------------------------------------------------------------------------------
@pytest.mark.parametrize("locale, available, chosen", [
    ("zh-CN", ["en", "zh-CN", "zh"], "zh-CN"),
    ("zh-TW", ["en", "zh"], "zh"),
    ("zh", ["en", "zh-CN"], "zh-CN"),
    ("zh_cn", ["en", "zh-CN"], "zh-CN"),
    ("fr-FR", ["de", "en", "zh-CN"], "en"),
    ("fr", ["de", "zh-CN"], "de"),
    (None, ["zh-CN", "en"], "en"),
])
def test_locale_fallback_chain(locale, available, chosen):
    assert pick_locale(available, locale) == chosen


def test_render_chooses_the_language_and_fills_record_fields():
    ctx = {"record": {"full_name": "王小明"}, "recipient": {"name": "王小明"}, "tenant": {"name": "Acme"}}
    assert render(SURVEY, "zh-CN", ctx) == ("王小明，您对我们的服务满意吗？", "尊敬的王小明：\n请为Acme的服务打分。")
    subject, body = render(SURVEY, "fr", ctx)
    assert subject == "How did we do, 王小明?"
    assert body == "Dear 王小明,\nplease rate Acme."  # a missing field renders empty
    plain = {"name": "plain", "subject": "Hello\n {{ record.a.b.c }}{{ record.full_name }}\r\n!", "body": "x"}
    assert render(plain, "zh-CN", ctx) == ("Hello 王小明 !", "x")


@pytest.mark.parametrize("text", [
    "{{ record.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ record['__class__'] }}",
    "{{ cycler.__init__.__globals__ }}", "{{ record.update({'x': 1}) }}",
    "{{ 'x' * 1000000000 }}", "{% for i in range(100000000) %}{% endfor %}",
])
def test_the_sandbox_refuses_unsafe_templates(text):
    with pytest.raises(TemplateFailed) as caught:
        render({"name": "evil", "subject": "s", "body": text}, "en", {"record": {"full_name": "A"}})
    assert "template 'evil', body (en)" in caught.value.message


def test_runtime_errors_are_template_failures():
    with pytest.raises(TemplateFailed, match="ZeroDivisionError"):
        render({"name": "t", "subject": "{{ 1 / 0 }}", "body": "b"}, "en", {})
    with pytest.raises(TemplateFailed, match=r"subject \(en\), line 1"):
        render({"name": "t", "subject": "{{ oops", "body": "b"}, "en", {})


def test_check_template_reports_problems_with_paths_and_lines():
    assert check_template(SURVEY) == []
    assert check_template({"name": "hello", "subject": "Hi", "body": "Text"}) == []
    problems = check_template({"name": "Bad Name", "subject": {"en": "ok", "zh-CN": "好\n{% if %}"},
                               "extra": 1}, "/templates/0")
    by_field = {p["field"]: p for p in problems}
    assert set(by_field) == {"/templates/0/name", "/templates/0/subject/zh-CN", "/templates/0/body",
                             "/templates/0/extra"}
    assert by_field["/templates/0/subject/zh-CN"]["code"] == "syntax"
    assert by_field["/templates/0/subject/zh-CN"]["message"].startswith("subject (zh-CN), line 2:")
    assert by_field["/templates/0/body"]["code"] == "required"
    assert check_template("nope")[0]["code"] == "type"
    assert check_template({"name": "x", "subject": {"english": "x"}, "body": {}})[0]["code"] == "locale"


# -- tenants with people --------------------------------------------------------------------
def shop_document() -> dict:
    doc = crm_document()
    contact = next(e for e in doc["entities"] if e["name"] == "contact")
    contact["fields"] += [{"name": "locale", "type": "choice", "options": ["en", "zh-CN"]},
                          {"name": "assignee_id", "type": "integer"}]
    return doc


@pytest.fixture
def shop(install, acme):
    """`acme` with a `locale` and an `assignee_id` on contacts, and three users."""
    acme.apply_metadata(shop_document())
    storage = acme.storage
    acme.ann = create_user(storage, "ann@acme.example", "admin", "Ann Admin", "zh-CN")
    acme.bob = create_user(storage, "bob@acme.example", "member", "Bob Member", "en")
    acme.old = create_user(storage, "old@acme.example", "admin", "Old Admin", "en")
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        conn.execute(update(users).where(users.c.id == acme.old.id).values(active=False))
    return acme


def contact(install, shop, **values):
    """A contact owned by Bob (a member), as the engine holds it: Bob reads its e-mail masked."""
    session = install.session("acme", shop.bob)
    created = session.records.create("contact", {"full_name": "王小明", "email": "wang@example.cn", **values})
    return install.session("acme").records.get("contact", created["id"])


def test_recipients_of_each_kind(install, shop):
    record = contact(install, shop, locale="zh-CN", assignee_id=shop.ann.id)
    ann = Recipient("ann@acme.example", "Ann Admin", "zh-CN", shop.ann.id)
    bob = Recipient("bob@acme.example", "Bob Member", "en", shop.bob.id)
    storage = shop.storage
    assert resolve(storage, "field:email", record) == ([Recipient("wang@example.cn", "王小明", "zh-CN")], [])
    assert resolve(storage, "role:admin", record) == ([ann], [])  # the inactive admin is left out
    assert resolve(storage, "user:BOB@acme.example", record) == ([bob], [])
    assert resolve(storage, "owner", record) == ([bob], [])
    assert resolve(storage, "user_field:assignee_id", record) == ([ann], [])
    # each person once, in spec order
    assert resolve(storage, ["owner", "role:admin", "user:bob@acme.example"], record) == ([bob, ann], [])
    no_locale = dict(record, locale=None)
    assert resolve(storage, "field:email", no_locale)[0][0].locale == "en"


def test_nobody_to_notify_is_skipped_with_reasons(install, shop):
    record = contact(install, shop, email=None)
    people, skipped = resolve(shop.storage, ["field:email", "field:shoe_size", "role:member",
                                             "user:old@acme.example", "user:ghost@acme.example",
                                             "user_field:assignee_id", "user_field:full_name"], record)
    assert people == [Recipient("bob@acme.example", "Bob Member", "en", shop.bob.id)]
    assert skipped == ["field:email: the record's 'email' is empty",
                       "field:shoe_size: the record has no field 'shoe_size'",
                       "user:old@acme.example: no active user old@acme.example",
                       "user:ghost@acme.example: no active user ghost@acme.example",
                       "user_field:assignee_id: the record's 'assignee_id' is empty",
                       "user_field:full_name: 'full_name' does not hold a user id"]
    assert resolve(shop.storage, "owner", dict(record, owner_id=None)) == ([], ["owner: the record has no owner"])


# -- the notify action ----------------------------------------------------------------------
class notify_action:
    """What the notify action does (`session.notifications.send`), with this test's
    templates and mailer."""

    def __init__(self, mailer, templates=None):
        self.mailer, self.templates = mailer, templates or {"survey_invite": SURVEY}

    def run(self, context, params):
        notifier = Notifier(context.session, lambda session: self.templates, lambda session: self.mailer)
        return notifier.send(params.get("template"), params.get("to"), context.entity, context.record,
                             channel=params.get("channel", "email"), effect_key=context.effect_key)


def context(install, record, key="evt-1|survey|0"):
    return ActionContext(session=install.session("acme"), entity="contact", record=record,
                         event={"event": "updated"}, effect_key=key)


def test_check_reports_bad_params():
    assert check({"template": "survey_invite", "to": "field:email"}) == []
    assert check({"template": "survey_invite", "to": ["owner", "role:admin"], "channel": "both"}) == []
    problems = check({"to": [], "channel": "fax", "cc": 1})
    assert problems == ["unknown parameter 'cc'", "template is required",
                        "to must be a recipient or a non-empty list of recipients",
                        "channel must be one of email, in_app, both, not 'fax'"]
    assert "unknown recipient 'boss'" in check({"template": "t", "to": "boss"})[0]
    assert "is not a field name" in check({"template": "t", "to": "field:Bad-Name"})[0]
    assert check("nope") and check({"template": "Bad!", "to": "owner"})[0].startswith("template 'Bad!'")


def test_notify_emails_a_contact_in_their_language(install, shop, smtp):
    record = contact(install, shop, locale="zh-CN")
    action = notify_action(smtp.mailer)
    outcome = action.run(context(install, record), {"template": "survey_invite", "to": "field:email"})
    assert outcome == {"sent": 1, "in_app": 0, "skipped": []}
    [msg] = smtp.messages
    assert msg["To"] == "wang@example.cn"
    assert msg["Subject"] == "王小明，您对我们的服务满意吗？"
    assert msg.get_content().rstrip("\n") == "尊敬的王小明：\n请为Acme Retail的服务打分。"
    assert msg["X-Loom-Effect"] == "evt-1|survey|0"
    # the job retried for the same event: nobody is mailed twice
    again = action.run(context(install, record), {"template": "survey_invite", "to": "field:email"})
    assert again == {"sent": 0, "in_app": 0, "skipped": ["wang@example.cn: e-mail already sent"]}
    assert len(smtp.envelopes) == 1
    # another event mails again, in English for an English contact
    english = contact(install, shop, full_name="Ann Lee", email="ann.lee@example.org", locale="en")
    action.run(context(install, english, key="evt-2|survey|0"), {"template": "survey_invite", "to": "field:email"})
    assert smtp.messages[-1]["Subject"] == "How did we do, Ann Lee?"


def test_notify_failures_are_action_failures(install, shop, smtp):
    record = contact(install, shop)
    params = {"template": "survey_invite", "to": "field:email"}
    with pytest.raises(ActionFailed, match="could not reach the SMTP server"):
        notify_action(closed_mailer()).run(context(install, record), params)
    with pytest.raises(ActionFailed, match="no message template 'missing'"):
        notify_action(smtp.mailer).run(context(install, record), {"template": "missing", "to": "owner"})
    with pytest.raises(ActionFailed, match="channel must be one of"):
        notify_action(smtp.mailer).run(context(install, record), dict(params, channel="fax"))
    evil = notify_action(smtp.mailer, {"survey_invite": {"name": "survey_invite", "subject": "s",
                                                         "body": "{{ record.__class__ }}"}})
    with pytest.raises(ActionFailed, match="not allowed"):
        evil.run(context(install, record), params)
    # an address that can never work is skipped, not retried forever; IDN domains are fine
    outcome = notify_action(smtp.mailer).run(context(install, dict(record, email="名字@example.org"), key=""), params)
    assert outcome == {"sent": 0, "in_app": 0, "skipped": [
        "名字@example.org: '名字@example.org': addresses with non-ASCII names are not supported"]}
    outcome = notify_action(smtp.mailer).run(context(install, dict(record, email="wang@例子.测试"), key=""), params)
    assert outcome["sent"] == 1 and smtp.envelopes[-1].rcpt_tos == ["wang@xn--fsqu00a.xn--0zwm56d"]


def test_with_no_smtp_host_email_is_off_said_once_and_each_e_mail_is_skipped_not_retried(install, shop, caplog):
    """No LOOM_SMTP_HOST: the worker says once that e-mail is off; every e-mail notification
    is recorded on the rule trace as skipped, and its event is done (no retry, no dead letter)."""
    assert "LOOM_SMTP_HOST" not in install.settings.extra
    doc = shop_document()
    doc["templates"] = [SURVEY]
    doc["rulesets"] = [{"name": "welcome", "kind": "automation", "entity": "contact", "rules": [
        {"name": "greet", "when": {"event": "record.created"},
         "actions": [{"action": "notify", "params": {"template": "survey_invite", "to": ["field:email", "owner"],
                                                     "channel": "both"}}]}]}]
    shop.apply_metadata(doc)
    jobs = runtime_of(install).jobs
    for email in ("wang@example.cn", "li@example.cn"):
        contact(install, shop, email=email)
        assert jobs.drain("acme") == {"done": 1, "retry": 0, "failed": 0}
    assert outbox.failed(shop.storage) == []
    trace = loom_table(shop.storage.schema, "loom_rule_trace")
    with shop.storage.connect() as conn:
        rows = [dict(r) for r in conn.execute(trace.select().order_by(trace.c.id)).mappings()]
    assert [(r["rule"], r["outcome"]) for r in rows] == [("greet", "done"), ("greet", "done")]
    assert [r["actions"][0]["outcome"] for r in rows] == [
        {"sent": 0, "in_app": 1, "skipped": [f"{email}: not a user, so no in-app notification",
                                             f"{email}: e-mail is off (LOOM_SMTP_HOST is not set)",
                                             "bob@acme.example: e-mail is off (LOOM_SMTP_HOST is not set)"]}
        for email in ("wang@example.cn", "li@example.cn")]
    said = [r.getMessage() for r in caplog.records if "e-mail is off" in r.getMessage()]
    assert said == ["e-mail is off: LOOM_SMTP_HOST is not set, so e-mail notifications are skipped "
                    "(each one is recorded on the rule trace); set LOOM_SMTP_HOST to send them"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_worker_says_at_start_that_e_mail_is_off(backend, install, tmp_path, caplog):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    empty = subprocess.run([sys.executable, "-m", "engine.cli", "worker", "--once"], text=True, capture_output=True,
                           env={**env, "LOOM_DATA_DIR": str(tmp_path / "nothing")}, cwd=Path(__file__).resolve().parents[2])
    assert empty.returncode == 1 and "error: no Loom install in" in empty.stderr  # never an empty one made
    assert not (tmp_path / "nothing").exists()
    install.registry.ensure_ready()
    env["LOOM_DATA_DIR"] = str(install.settings.data_dir)
    worker = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=env, text=True,
                              cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    ready, _, _ = select.select([worker.stderr], [], [], 60)
    first = worker.stderr.readline() if ready else "(nothing in 60 s)"
    worker.terminate()
    worker.communicate(timeout=60)
    assert first.startswith("e-mail is off: LOOM_SMTP_HOST is not set"), first
    # an install with a mail server says nothing
    install.settings.extra["LOOM_SMTP_HOST"] = "127.0.0.1"
    say_email_is_off(install)
    assert not [r for r in caplog.records if "e-mail is off" in r.getMessage()]


@pytest.fixture
def api_client(app):
    if "notifications" not in app.blueprints:
        app.register_blueprint(notifications)
    return app.test_client()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_in_app_notifications_through_the_api(install, shop, smtp, api_client):
    record = contact(install, shop)
    ann_token = token_for(install, "acme", "ann2@acme.example", "admin")
    ann2 = next(p for p in resolve(shop.storage, "user:ann2@acme.example", record)[0])
    outcome = notify_action(smtp.mailer).run(context(install, record),
                                             {"template": "survey_invite", "to": "role:admin", "channel": "in_app"})
    assert outcome == {"sent": 0, "in_app": 2, "skipped": []}
    assert smtp.envelopes == []
    again = notify_action(smtp.mailer).run(context(install, record),
                                           {"template": "survey_invite", "to": "role:admin", "channel": "in_app"})
    assert again["in_app"] == 0 and len(again["skipped"]) == 2

    response = api_client.get("/api/v1/t/acme/notifications", headers=bearer(ann_token))
    assert response.status_code == 200, response.json
    [item] = response.json["items"]
    assert response.json["unread"] == 1
    assert item["title"] == "How did we do, 王小明?"  # ann2 reads English
    assert item["entity"] == "contact" and item["record_id"] == record["id"] and item["read"] is False

    # Ann's own notification (in Chinese) is hers alone: marking it as ann2 changes nothing
    [anns] = inapp.list_for(shop.storage, shop.ann.id)
    assert anns["title"] == "王小明，您对我们的服务满意吗？"
    marked = api_client.post("/api/v1/t/acme/notifications/read", json={"ids": [anns["id"], item["id"], 99999]},
                             headers=bearer(ann_token))
    assert marked.status_code == 200 and marked.json == {"marked": 1}
    assert inapp.unread_count(shop.storage, shop.ann.id) == 1
    assert inapp.unread_count(shop.storage, ann2.user_id) == 0
    unread = api_client.get("/api/v1/t/acme/notifications?unread=true", headers=bearer(ann_token))
    assert unread.json == {"items": [], "unread": 0}
    everything = api_client.get("/api/v1/t/acme/notifications", headers=bearer(ann_token)).json
    assert everything["items"][0]["read"] is True and everything["items"][0]["read_at"].endswith("Z")

    bad = api_client.post("/api/v1/t/acme/notifications/read", json={"ids": ["1", True]},
                          headers=bearer(ann_token))
    assert bad.status_code == 400 and bad.json["error"]["code"] == "validation_failed"
    assert api_client.get("/api/v1/t/acme/notifications?unread=maybe",
                          headers=bearer(ann_token)).status_code == 400
    for limit in ("%C2%B2", "%D9%A5", "0", "-1", "x", "9" * 4301):  # "²", an Arabic-Indic 5; more digits than int()
        assert api_client.get(f"/api/v1/t/acme/notifications?limit={limit}",
                              headers=bearer(ann_token)).status_code == 400

    # no token, another tenant's token, an unknown tenant
    assert api_client.get("/api/v1/t/acme/notifications").status_code == 401
    install.registry.create("globex", "Globex")
    globex_token = token_for(install, "globex", "ann2@acme.example", "admin")
    foreign = api_client.get("/api/v1/t/acme/notifications", headers=bearer(globex_token))
    assert foreign.status_code == 404 and foreign.json["error"]["code"] == "not_found"
    assert api_client.get("/api/v1/t/globex/notifications", headers=bearer(globex_token)).json == \
        {"items": [], "unread": 0}
    assert api_client.get("/api/v1/t/nowhere/notifications", headers=bearer(ann_token)).status_code == 404
