"""Roles in the screens, server side (SQLite and PostgreSQL): a claims adjuster's record
pages, lists and forms draw what the API gives them — the premium nowhere, the claim's
decision as the one input, an entity their role does not name missing from the
navigation — and a form post naming a field they may not edit changes nothing."""
from __future__ import annotations

import copy

import pytest

from admin_ui.stale_edit import VERSION_FIELD
from engine import auth, passwords
from engine.app import create_app
from tests.engine.test_roles import DOC
from tests.screens.conftest import PASSWORD, ScreenClient

LABELLED = copy.deepcopy(DOC)
for entity in LABELLED["entities"]:
    for field in entity["fields"]:
        field["label"] = {"premium": {"en": "Premium", "zh-CN": "保费"},
                          "decision": {"en": "Decision", "zh-CN": "理赔结论"},
                          "amount": {"en": "Amount", "zh-CN": "金额"}}.get(field["name"],
                                                                        field.get("label", field["name"].title()))
LABELLED["entities"][2]["label"] = {"en": "Memo", "zh-CN": "备忘"}


def roles_tenant(install) -> dict:
    """Tenant `acme` with the claims adjuster role, a policy and a claim; its admin and an
    adjuster in English and one in Chinese, all with passwords."""
    install.registry.create("acme", "Acme Insurance")
    session = install.session("acme")
    session.apply_metadata(copy.deepcopy(LABELLED))
    policy = session.records.create("policy", {"number": "P-1", "premium": "1234.50", "notes": "n"})
    claim = session.records.create("claim", {"title": "Hail", "amount": "300", "decision": "open",
                                             "policy": policy["id"]})
    storage = session.storage
    auth.create_user(storage, "admin@acme.test", "admin")
    auth.create_user(storage, "adj@acme.test", roles=["claims_adjuster"])
    auth.create_user(storage, "zh@acme.test", roles=["claims_adjuster"], locale="zh-CN")
    for email in ("admin@acme.test", "adj@acme.test", "zh@acme.test"):
        passwords.set_password(storage, email, PASSWORD)
    return {"policy": policy["id"], "claim": claim["id"]}


@pytest.fixture
def world(install):
    return roles_tenant(install)


@pytest.fixture
def adjuster(install, world):
    return ScreenClient(create_app(install, {"TESTING": True}), "acme", "adj@acme.test")


def test_the_premium_is_nowhere_on_an_adjusters_screens(adjuster, world):
    for path in (f"e/policy/{world['policy']}", "e/policy", f"e/claim/{world['claim']}"):
        page = adjuster.get(path)
        assert page.status_code == 200, path
        assert "Premium" not in page.text and "1234.5" not in page.text, path
    assert adjuster.get("e/policy?sort=premium").status_code in (200, 400)
    assert "1234.5" not in adjuster.get("e/policy?sort=premium").text
    assert adjuster.get("e/memo").status_code == 404
    assert "Memo" not in adjuster.get("").text
    assert adjuster.get(f"e/policy/{world['policy']}/edit").status_code == 403  # read, not update


def test_an_adjuster_edits_the_decision_and_only_the_decision(adjuster, world, install):
    form = adjuster.get(f"e/claim/{world['claim']}/edit").text
    assert 'name="decision"' in form and 'name="amount"' not in form and "300" in form
    saved = adjuster.post(f"e/claim/{world['claim']}/edit", {"decision": "paid", VERSION_FIELD: "1"})
    assert saved.status_code == 302, saved.text[:500]
    record = install.session("acme").records.get("claim", world["claim"])
    assert record["decision"] == "paid"
    adjuster.post(f"e/claim/{world['claim']}/edit", {"amount": "1", VERSION_FIELD: "2"})
    assert install.session("acme").records.get("claim", world["claim"])["amount"] == "300.00"


@pytest.fixture
def admin(install, world):
    return ScreenClient(create_app(install, {"TESTING": True}), "acme", "admin@acme.test")


def test_an_admin_gives_roles_asks_why_and_hands_records_over_on_the_people_pages(admin, install, world):
    storage = install.session("acme").storage
    ids = {a.email: a.id for a in auth.list_users(storage)}
    assert "Roles and access" in admin.get("designer/people").text
    page = admin.get(f"designer/people/{ids['adj@acme.test']}/access?entity=policy&field=premium&record={world['policy']}")
    assert page.status_code == 200 and "Field premium: none" in page.text and "Claims adjuster" in page.text
    assert admin.get(f"designer/people/{ids['adj@acme.test']}/access?entity=nope").status_code == 200
    refused = admin.post(f"designer/people/{ids['zh@acme.test']}/access", {"roles": ["pilot"]})
    assert refused.status_code == 400 and "Choose among the tenant" in refused.text
    saved = admin.post(f"designer/people/{ids['zh@acme.test']}/access", {"permission_sets": ["claim_export"]})
    assert saved.status_code == 302
    zh = next(a for a in auth.list_users(storage) if a.email == "zh@acme.test")
    assert zh.roles == () and zh.permission_sets == ("claim_export",)
    system = install.session("acme").records
    system.assign("claim", world["claim"], ids["adj@acme.test"])
    moved = admin.post(f"designer/people/{ids['adj@acme.test']}/handover", {"to": str(ids["zh@acme.test"]),
                                                                            "entity": ""})
    assert moved.status_code == 302
    assert system.get("claim", world["claim"])["owner_id"] == ids["zh@acme.test"]
    bad = admin.post(f"designer/people/{ids['adj@acme.test']}/handover", {"to": "999"})
    assert bad.status_code == 400 and "Choose an active user" in bad.text
