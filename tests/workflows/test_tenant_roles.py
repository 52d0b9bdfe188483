"""The tenant's own roles reach the workflows, on SQLite and PostgreSQL: a transition or
an approval names a role the tenant defines (accepted by the metadata check, refused
when nobody defines it), a user holding that role takes it and gives the approval
(holders are counted by it), others are refused; a notification `role:` recipient and
the plugin session's roster find the users holding it."""
from __future__ import annotations

import copy

import pytest

from engine import auth
from engine.errors import Forbidden, ValidationFailed
from engine.roster import People
from workflows import transitions
from workflows.notify.recipients import resolve

DOC = {
    "entities": [{"name": "claim", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "status", "type": "choice", "options": ["open", "assessed", "paid"]}]}],
    "roles": [{"name": "adjuster", "entities": {"claim": {"rights": ["create", "read", "update"]}}},
              {"name": "finance", "entities": {"claim": {"rights": ["read", "update"]}}}],
    "workflows": [{
        "name": "claim_flow", "entity": "claim", "field": "status", "initial": "open",
        "states": [{"name": "open", "category": "open"}, {"name": "assessed", "category": "active"},
                   {"name": "paid", "category": "done"}],
        "transitions": [
            {"name": "assess", "from": ["open"], "to": "assessed", "roles": ["adjuster"]},
            {"name": "pay", "from": ["assessed"], "to": "paid", "approval": {"role": "finance", "mode": "all"}}]}],
}


@pytest.fixture
def office(install):
    install.registry.create("acme", "Acme Insurance")
    session = install.session("acme")
    session.apply_metadata(copy.deepcopy(DOC))
    storage = session.storage
    people = {name: auth.create_user(storage, f"{name}@acme.test", "member", roles=roles)
              for name, roles in (("ada", ("adjuster",)), ("fay", ("finance",)), ("fin", ("finance",)),
                                  ("mo", ()))}
    return session, people


def as_user(install, actor):
    return install.session("acme", actor)


def test_a_transition_for_a_tenant_role_is_taken_by_its_holders_only(install, office):
    session, people = office
    claim = as_user(install, people["ada"]).records.create("claim", {"title": "Flood"})
    with pytest.raises(Forbidden) as refused:
        transitions.perform(as_user(install, people["mo"]), "claim", claim["id"], "assess")
    assert refused.value.code == "role_not_allowed"
    transitions.perform(as_user(install, people["ada"]), "claim", claim["id"], "assess")
    assert session.records.get("claim", claim["id"])["status"] == "assessed"


def test_an_approval_by_a_tenant_role_counts_its_holders_and_refuses_others(install, office):
    session, people = office
    claim = as_user(install, people["ada"]).records.create("claim", {"title": "Fire"})
    transitions.perform(as_user(install, people["ada"]), "claim", claim["id"], "assess")
    with pytest.raises(Forbidden) as refused:
        transitions.perform(as_user(install, people["ada"]), "claim", claim["id"], "pay")
    assert refused.value.code == "approver_role"
    first = transitions.perform(as_user(install, people["fay"]), "claim", claim["id"], "pay")
    assert session.records.get("claim", claim["id"])["status"] == "assessed"  # 1 of the 2 holders
    assert first[0] != "performed"
    transitions.perform(as_user(install, people["fin"]), "claim", claim["id"], "pay")
    assert session.records.get("claim", claim["id"])["status"] == "paid"


def test_recipients_and_the_roster_find_the_holders_of_a_tenant_role(office):
    session, people = office
    found, skipped = resolve(session.storage, ["role:finance"], {})
    assert sorted(p.email for p in found) == ["fay@acme.test", "fin@acme.test"] and skipped == []
    assert resolve(session.storage, ["role:nobody"], {})[0] == []
    roster = People(session.storage, ("adjuster", "finance"))
    assert [p.email for p in roster.active("adjuster")] == ["ada@acme.test"]
    with pytest.raises(ValidationFailed):
        roster.active("surveyor")  # defined by no one


def test_a_workflow_may_name_only_roles_someone_defines(install, office):
    session, _people = office
    document = copy.deepcopy(DOC)
    document["workflows"][0]["transitions"][0]["roles"] = ["surveyor"]
    with pytest.raises(ValidationFailed) as refused:
        session.check_document(document)
    assert [d["code"] for d in refused.value.details] == ["unknown_role"]
    assert "roles: admin, member, adjuster, finance" in refused.value.details[0]["message"]
    session.check_document(copy.deepcopy(DOC))  # the roles the document defines are known
