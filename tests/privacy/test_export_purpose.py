"""An export states its purpose (issue 12): for any purpose but `service`, only the records
whose party holds a valid consent for it are exported — a withdrawn, expired or missing
consent leaves the party's records out — on SQLite and PostgreSQL, through the API, the
list screen's CSV and the record service; an unknown purpose is refused and the access
log names the purpose."""
from __future__ import annotations

import json

import pytest

from engine.app import create_app
from engine.auth import create_token
from engine.errors import ValidationFailed
from tests.screens.conftest import ScreenClient, with_passwords

DOC = {"entities": [
    {"name": "party", "fields": [
        {"name": "name", "type": "string", "required": True, "pii": True},
        {"name": "email", "type": "email", "pii": True}]},
    {"name": "consent", "privacy": {"evidence": True}, "fields": [
        {"name": "party", "type": "reference", "to": "party", "required": True},
        {"name": "purpose", "type": "choice", "required": True, "options": ["marketing", "analytics"]},
        {"name": "granted", "type": "boolean", "required": True},
        {"name": "withdrawn_at", "type": "datetime"},
        {"name": "expires_at", "type": "datetime"}]},
    {"name": "invoice", "fields": [
        {"name": "party", "type": "reference", "to": "party"},
        {"name": "amount", "type": "decimal"}]},
    {"name": "note", "fields": [{"name": "text", "type": "string"}]}]}


@pytest.fixture
def shop(install):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(DOC)
    records = session.records
    ids = {name: records.create("party", {"name": name, "email": f"{name.lower()}@people.example"})["id"]
           for name in ("Ann", "Bob", "Cai", "Dee")}
    records.create("consent", {"party": ids["Ann"], "purpose": "marketing", "granted": True})
    withdrawn = records.create("consent", {"party": ids["Bob"], "purpose": "marketing", "granted": True})
    records.update("consent", withdrawn["id"], {"granted": False, "withdrawn_at": "2026-12-01T10:00:00Z"})
    records.create("consent", {"party": ids["Dee"], "purpose": "marketing", "granted": True,
                               "expires_at": "2020-01-01T00:00:00Z"})
    records.create("consent", {"party": ids["Cai"], "purpose": "analytics", "granted": True})
    for name in ids:
        records.create("invoice", {"party": ids[name], "amount": "10.00"})
    records.create("invoice", {"amount": "99.00"})  # about no party
    records.create("note", {"text": "kept"})
    with_passwords(install, "shop", {"boss@shop.example": "admin"})
    return {"session": session, "ids": ids, "app": create_app(install, {"TESTING": True}),
            "headers": {"Authorization": f"Bearer {create_token(session.storage, 'boss@shop.example')}"}}


def exported(shop, entity, query=""):
    response = shop["app"].test_client().get(f"/api/v1/t/shop/records/{entity}/export{query}",
                                             headers=shop["headers"])
    return response.status_code, [json.loads(line) for line in response.get_data(as_text=True).splitlines()
                                  if response.status_code == 200]


def test_an_export_for_a_purpose_leaves_out_the_parties_without_a_valid_consent(shop):
    ids = shop["ids"]
    status, everyone = exported(shop, "party")
    assert status == 200 and len(everyone) == 4
    assert [r["name"] for r in exported(shop, "party", "?purpose=marketing")[1]] == ["Ann"]
    assert [r["name"] for r in exported(shop, "party", "?purpose=analytics&format=jsonl")[1]] == ["Cai"]
    assert len(exported(shop, "party", "?purpose=service")[1]) == 4
    invoices = exported(shop, "invoice", "?purpose=marketing")[1]
    assert [(r["party"], r["amount"]) for r in invoices] == [(ids["Ann"], "10.00"), (None, "99.00")]
    assert len(exported(shop, "note", "?purpose=marketing")[1]) == 1  # about no party: nobody's consent
    assert [r["party"] for r in exported(shop, "consent", "?purpose=marketing&purpose__in=marketing")[1]] == [
        ids["Ann"]]
    assert exported(shop, "party", "?purpose=marketing&name=Bob")[1] == []

    csv = ScreenClient(shop["app"], "shop", "boss@shop.example").get("e/party/export.csv?purpose=marketing")
    assert csv.status_code == 200 and "Ann" in csv.text and "Bob" not in csv.text

    with pytest.raises(ValidationFailed) as refused:
        list(shop["session"].records.export("party", purpose="spam"))
    assert refused.value.code == "unknown_purpose"
    status, _ = exported(shop, "party", "?purpose=spam")
    assert status == 400

    log = shop["app"].test_client().get("/api/v1/t/shop/access-log?entity=party", headers=shop["headers"])
    purposes = [i["detail"].get("purpose") for i in log.get_json()["items"] if i["action"] == "export"]
    assert "marketing" in purposes and "analytics" in purposes
