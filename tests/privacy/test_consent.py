"""Consent per purpose, enforced where every message passes (the notifier), with a real
SMTP server (aiosmtpd), the real job queue's drain and real tenants on SQLite and
PostgreSQL: a withdrawn consent stops a campaign e-mail already queued; each refusal is
one row an admin reads through the API and the CLI; members cannot delete consents."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.app import create_app
from engine.auth import create_token, create_user
from engine.cli import cli
from engine.install import Install
from engine.plugins import Plugins
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres
from tests.mail import running_smtp
from workflows.notify.delivery import check
from workflows.runtime import runtime_of

CORE = Path(__file__).resolve().parents[2] / "plugins" / "crm_core" / "entities"
OFFER = {"name": "campaign_offer",
         "subject": {"en": "Spring offer for {{ record.email }}", "zh-CN": "春季优惠"},
         "body": {"en": "Dear customer, our spring offer is here.", "zh-CN": "尊敬的客户：春季优惠来了。"}}


def _entity(name, folder="entities"):
    return json.loads((CORE.parent / folder / f"{name}.json").read_text(encoding="utf-8"))


def document() -> dict:
    """The core pack's party and consent, and a campaign's members, each mailed a
    marketing offer when added (through the outbox and the job queue)."""
    party = _entity("party")
    party["fields"] = [f for f in party["fields"] if f["name"] != "parent"]
    party["duplicate_rules"] = [r for r in party["duplicate_rules"] if "parent" not in r["match"].get("within", ())]
    member = {"name": "campaign_member", "fields": [
        {"name": "party", "type": "reference", "to": "party", "required": True},
        {"name": "email", "type": "email", "pii": True},
        {"name": "campaign", "type": "string"}]}
    offer_rule = {"name": "campaign_mail", "kind": "automation", "entity": "campaign_member", "rules": [
        {"name": "send_offer", "when": {"event": "record.created"}, "actions": [
            {"action": "notify", "params": {"template": "campaign_offer", "to": "field:email",
                                            "purpose": "marketing"}}]}]}
    return {"entities": [party, _entity("consent"), member], "templates": [OFFER],
            "rulesets": [offer_rule, _entity("consent_tracking", "rulesets"), _entity("consent_checks", "rulesets")]}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shop(request, tmp_path):
    if request.param == "postgresql":
        require_postgres()
    with running_smtp() as smtp:
        settings = make_settings(request.param, tmp_path)
        settings.extra.update({"LOOM_SMTP_HOST": "127.0.0.1", "LOOM_SMTP_PORT": str(smtp.port),
                               "LOOM_SMTP_FROM": "loom@shop.example"})
        install = Install(settings, Plugins())
        try:
            install.registry.create("shop", "Shop")
            session = install.session("shop")
            session.apply_metadata(document())
            admin = create_user(session.storage, "admin@shop.example", "admin")
            member = create_user(session.storage, "clerk@shop.example", "member")
            yield _Shop(install, smtp, admin, member)
        finally:
            install.dispose()
            if settings.database_url:
                drop_prefixed_schemas(settings.schema_prefix)


class _Shop:
    def __init__(self, install, smtp, admin, member):
        self.install, self.smtp, self.admin, self.member = install, smtp, admin, member
        self.session = install.session("shop")
        self.client = create_app(install, {"TESTING": True}).test_client()

    def party(self, name, email):
        return self.session.records.create("party", {"kind": "person", "name": name, "email": email})

    def consent(self, party, purpose="marketing", **values):
        return self.session.records.create("consent", {"party": party["id"], "purpose": purpose,
                                                       "granted": True, "channel": "web", **values})

    def drain(self):
        return runtime_of(self.install).jobs.drain("shop")

    def queue(self, party):
        """A campaign member added: its offer e-mail waits in the outbox."""
        return self.session.records.create("campaign_member", {"party": party["id"], "email": party["email"],
                                                               "campaign": "spring"})

    def headers(self, user):
        return {"Authorization": f"Bearer {create_token(self.session.storage, user.email)}"}

    def mailed(self):
        return sorted(to for e in self.smtp.envelopes for to in e.rcpt_tos)


def test_a_withdrawn_consent_stops_a_queued_campaign_e_mail(shop):
    ann, bob = shop.party("Ann Consenting", "ann@people.example"), shop.party("Bob Withdrawing", "bob@people.example")
    shop.consent(ann)
    bobs = shop.consent(bob)
    shop.drain()   # the consents' own rules (recorded_at)
    shop.queue(ann), shop.queue(bob)          # both offers are queued …
    shop.session.records.update("consent", bobs["id"], {"granted": False, "withdrawal_channel": "email",
                                                          "withdrawal_source": "unsubscribe link"})
    shop.drain()                              # … and sent after Bob withdrew
    assert shop.mailed() == ["ann@people.example"]
    # the withdrawal keeps its evidence: when (stamped by the pack's rule), how, where from, who (audit)
    withdrawn = shop.session.records.get("consent", bobs["id"])
    assert withdrawn["withdrawn_at"] and withdrawn["withdrawal_source"] == "unsubscribe link"
    assert withdrawn["granted"] is False
    # the refusal is one row, read by the admin through the API and the CLI
    response = shop.client.get("/api/v1/t/shop/privacy/consent-refusals?purpose=marketing", headers=shop.headers(shop.admin))
    assert response.status_code == 200
    [row] = response.get_json()["items"]
    assert row["party_id"] == bob["id"] and row["recipient"] == "bob@people.example"
    assert row["template"] == "campaign_offer" and row["entity"] == "campaign_member"
    assert "no valid consent" in row["reason"]
    result = CliRunner().invoke(cli, ["dsr", "refusals", "shop", "--party", str(bob["id"])], obj=shop.install)
    assert result.exit_code == 0 and json.loads(result.output)[0]["recipient"] == "bob@people.example"
    # a member may not read them
    refused = shop.client.get("/api/v1/t/shop/privacy/consent-refusals", headers=shop.headers(shop.member))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admin_only"


def test_consent_must_be_for_the_purpose_granted_and_unexpired(shop):
    now = datetime.now(timezone.utc)
    analytics = shop.party("Only Analytics", "stats@people.example")
    shop.consent(analytics, purpose="analytics")
    expired = shop.party("Expired Consent", "old@people.example")
    shop.consent(expired, expires_at=(now - timedelta(days=1)).isoformat())
    future = shop.party("Valid Until Next Year", "fresh@people.example")
    shop.consent(future, expires_at=(now + timedelta(days=365)).isoformat())
    never = shop.party("Never Asked", "never@people.example")
    refused_grant = shop.party("Said No", "no@people.example")
    shop.consent(refused_grant, granted=False)
    for party in (analytics, expired, future, never, refused_grant):
        shop.queue(party)
    shop.drain()
    assert shop.mailed() == ["fresh@people.example"]
    rows = shop.client.get("/api/v1/t/shop/privacy/consent-refusals", headers=shop.headers(shop.admin)).get_json()["items"]
    assert sorted(r["recipient"] for r in rows) == ["never@people.example", "no@people.example",
                                                    "old@people.example", "stats@people.example"]


def test_service_messages_need_no_consent_and_purposes_are_checked():
    assert check({"template": "t", "to": "field:email"}) == []
    assert check({"template": "t", "to": "field:email", "purpose": "marketing"}) == []
    assert check({"template": "t", "to": "field:email", "purpose": "spam"}) == [
        "purpose must be one of service, marketing, analytics, sharing, profiling, cross_border, not 'spam'"]


def test_members_cannot_delete_consents_nor_through_a_party(shop):
    party = shop.party("Carol Keeping", "carol@people.example")
    consent = shop.consent(party)
    member = shop.headers(shop.member)
    response = shop.client.delete(f"/api/v1/t/shop/records/consent/{consent['id']}", headers=member)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "evidence_kept"
    response = shop.client.delete(f"/api/v1/t/shop/records/party/{party['id']}", headers=member)   # a cascade
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "evidence_kept"
    assert shop.session.records.get("consent", consent["id"])["granted"] is True   # nothing changed
    # an admin still may (a consent entered by mistake)
    response = shop.client.delete(f"/api/v1/t/shop/records/consent/{consent['id']}", headers=shop.headers(shop.admin))
    assert response.status_code == 200
