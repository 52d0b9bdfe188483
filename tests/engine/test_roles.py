"""Roles and permission sets as metadata, on SQLite and PostgreSQL, through the API: the
issue's acceptance 2 (a claims adjuster edits `claim.decision` and never sees
`policy.premium`), a hidden field absent from every output and unknown to every query,
entity rights refused with 403 (404 for an entity the role does not name), the built-in
roles unchanged, and people holding roles through the people API."""
from __future__ import annotations

import copy
import csv
import io

import pytest

from engine.auth import create_token, create_user, list_users, update_user

API = "/api/v1/t/acme"
DOC = {"entities": [
    {"name": "policy", "fields": [
        {"name": "number", "type": "string", "required": True},
        {"name": "premium", "type": "decimal", "precision": 12, "scale": 2},
        {"name": "notes", "type": "text"}]},
    {"name": "claim", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
        {"name": "decision", "type": "choice", "options": ["open", "paid", "refused"]},
        {"name": "policy", "type": "reference", "to": "policy"}]},
    {"name": "memo", "fields": [{"name": "text", "type": "string"}]}],
    "roles": [{"name": "claims_adjuster", "label": {"en": "Claims adjuster", "zh-CN": "理赔员"},
               "entities": {
                   "claim": {"rights": ["read", "update"], "other_fields": "read",
                             "fields": {"decision": "edit"}},
                   "policy": {"rights": ["read"], "fields": {"premium": "none"}}}}],
    "permission_sets": [{"name": "claim_export", "entities": {"claim": {"rights": ["export"]}}}]}


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme Insurance")
    session = install.session("acme")
    session.apply_metadata(copy.deepcopy(DOC))
    return session


@pytest.fixture
def world(acme):
    policy = acme.records.create("policy", {"number": "P-1", "premium": "1200.50", "notes": "n"})
    acme.records.update("policy", policy["id"], {"premium": "1300.00", "version": 1})
    claim = acme.records.create("claim", {"title": "Hail", "amount": "300", "decision": "open",
                                          "policy": policy["id"]})
    storage = acme.storage
    create_user(storage, "admin@acme.test", "admin")
    create_user(storage, "adj@acme.test", roles=["claims_adjuster"])
    create_user(storage, "mem@acme.test")
    heads = {n: {"Authorization": f"Bearer {create_token(storage, f'{n}@acme.test')}"}
             for n in ("admin", "adj", "mem")}
    return {"policy": policy["id"], "claim": claim["id"], **heads}


def test_a_claims_adjuster_edits_the_decision_and_never_sees_the_premium(client, world):
    adj = world["adj"]
    claim = client.get(f"{API}/records/claim/{world['claim']}", headers=adj)
    assert claim.status_code == 200 and claim.get_json()["decision"] == "open"
    changed = client.patch(f"{API}/records/claim/{world['claim']}", json={"decision": "paid", "version": 1},
                           headers=adj)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["decision"] == "paid"

    policy = client.get(f"{API}/records/policy/{world['policy']}", headers=adj).get_json()
    assert "premium" not in policy and policy["number"] == "P-1"
    listed = client.get(f"{API}/records/policy", headers=adj).get_json()["items"]
    assert listed and all("premium" not in item for item in listed)
    history = client.get(f"{API}/records/policy/{world['policy']}/history", headers=adj).get_json()
    assert history and not any("premium" in entry["changes"] for entry in history["items"]
                               if isinstance(entry.get("changes"), dict))
    # the admin and a member (no tenant role) still see it
    for who in ("admin", "mem"):
        assert client.get(f"{API}/records/policy/{world['policy']}", headers=world[who]).get_json()["premium"]


@pytest.mark.parametrize("query", ["premium=1300.00", "sort=premium", "fields=premium", "sort=-premium"])
def test_a_hidden_field_is_refused_in_a_query_exactly_as_an_unknown_one(client, world, query):
    hidden = client.get(f"{API}/records/policy?{query}", headers=world["adj"])
    unknown = client.get(f"{API}/records/policy?{query.replace('premium', 'nope')}", headers=world["adj"])
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.get_json()["error"]["details"][0]["message"].replace("premium", "X") == \
        unknown.get_json()["error"]["details"][0]["message"].replace("nope", "X")


def test_writes_outside_the_role_are_refused_with_clear_problems_and_change_nothing(client, world, acme):
    adj, claim, policy = world["adj"], world["claim"], world["policy"]
    read_only = client.patch(f"{API}/records/claim/{claim}", json={"amount": "1", "version": 1}, headers=adj)
    assert read_only.status_code == 403
    assert read_only.get_json()["error"]["code"] == "field_not_editable"
    assert read_only.get_json()["error"]["details"][0]["field"] == "amount"
    no_update = client.patch(f"{API}/records/policy/{policy}", json={"notes": "x", "version": 2}, headers=adj)
    assert no_update.status_code == 403 and no_update.get_json()["error"]["code"] == "permission_denied"
    for method, url, body in (("post", f"{API}/records/claim", {"title": "New"}),
                              ("delete", f"{API}/records/claim/{claim}", None),
                              ("post", f"{API}/records/claim/batch", {"records": [{"title": "A"}]})):
        response = getattr(client, method)(url, json=body, headers=adj)
        assert response.status_code == 403, (url, response.get_json())
        assert response.get_json()["error"]["code"] == "permission_denied"
    assert client.get(f"{API}/records/policy/export", headers=adj).status_code == 403
    assert client.get(f"{API}/records/memo", headers=adj).get_json()["error"]["code"] == "entity_not_found"
    assert acme.records.get("claim", claim)["amount"] == "300.00"
    assert acme.records.get("policy", policy)["notes"] == "n"


def test_a_permission_set_adds_rights_on_top_of_the_role(client, world, acme):
    assert client.get(f"{API}/records/claim/export?format=csv", headers=world["adj"]).status_code == 403
    update_user(acme.storage, "adj@acme.test", permission_sets=["claim_export"])
    response = client.get(f"{API}/records/claim/export?format=csv", headers=world["adj"])
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0]["decision"] == "open"
    assert client.get(f"{API}/records/policy/export", headers=world["adj"]).status_code == 403


def test_an_admin_gives_and_takes_roles_through_the_people_api(client, world, acme):
    users = client.get(f"{API}/users", headers=world["admin"]).get_json()
    assert users["tenant_roles"] == ["claims_adjuster"] and users["permission_sets"] == ["claim_export"]
    mem = next(u for u in users["items"] if u["email"] == "mem@acme.test")
    bad = client.patch(f"{API}/users/{mem['id']}", json={"roles": ["claims_adjuster", "pilot"]},
                       headers=world["admin"])
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "roles/1"
    assert client.get(f"{API}/records/policy/{world['policy']}", headers=world["mem"]).get_json()["premium"]
    good = client.patch(f"{API}/users/{mem['id']}", json={"roles": ["claims_adjuster"]}, headers=world["admin"])
    assert good.status_code == 200 and good.get_json()["roles"] == ["claims_adjuster"]
    assert "premium" not in client.get(f"{API}/records/policy/{world['policy']}", headers=world["mem"]).get_json()
    refused = client.patch(f"{API}/users/{mem['id']}", json={"roles": []}, headers=world["mem"])
    assert refused.status_code == 403


def test_a_role_naming_unknown_entities_fields_or_rights_is_refused_with_paths(acme):
    from metadata import check_package

    doc = copy.deepcopy(DOC)
    doc["roles"].append({"name": "bad", "entities": {
        "clam": {"rights": ["read"]}, "claim": {"rights": ["read", "fly"], "fields": {"verdict": "edit"}},
        "policy": {"fields": {"premium": "hidden"}}}})
    doc["roles"].append({"name": "member"})
    paths = {p.path for p in check_package(doc)}
    assert paths == {"/roles/1/entities/clam", "/roles/1/entities/claim/rights/1",
                     "/roles/1/entities/claim/fields/verdict", "/roles/1/entities/policy/fields/premium",
                     "/roles/2/name"}


def test_an_admin_asks_why_a_user_sees_a_field_and_a_record(client, world, acme):
    users = {u["email"]: u["id"] for u in client.get(f"{API}/users", headers=world["admin"]).get_json()["items"]}
    why = client.get(f"{API}/users/{users['adj@acme.test']}/why?entity=policy&field=premium&record={world['policy']}",
                     headers=world["admin"])
    assert why.status_code == 200, why.get_json()
    body = why.get_json()
    assert body["rights"]["read"] == [{"kind": "role", "name": "claims_adjuster"}] and "update" not in body["rights"]
    assert body["field"]["access"] == "none"
    assert body["record"]["may_read"] and not body["record"]["may_edit"]
    member = client.get(f"{API}/users/{users['mem@acme.test']}/why?entity=claim&field=amount",
                        headers=world["admin"]).get_json()
    assert member["field"]["access"] == "edit" and member["sources"] == [{"kind": "built-in role", "name": "member"}]
    for query, status in (("entity=nope", 404), ("entity=policy&field=nope", 400), ("", 400),
                          (f"entity=policy&record=999", 404)):
        assert client.get(f"{API}/users/{users['adj@acme.test']}/why?{query}",
                          headers=world["admin"]).status_code == status, query
    assert client.get(f"{API}/users/{users['adj@acme.test']}/why?entity=policy",
                      headers=world["adj"]).status_code == 403


def test_an_admin_hands_a_departed_users_records_to_another_audited(client, world, acme):
    from engine import people

    users = {u["email"]: u["id"] for u in client.get(f"{API}/users", headers=world["admin"]).get_json()["items"]}
    mem = world["mem"]
    made = [client.post(f"{API}/records/memo", json={"text": f"m{i}"}, headers=mem).get_json()["id"] for i in range(3)]
    client.post(f"{API}/records/policy", json={"number": "P-9"}, headers=mem)
    people.change(acme.storage, users["mem@acme.test"], active=False)
    refused = client.post(f"{API}/users/{users['mem@acme.test']}/transfer",
                          json={"to": users["mem@acme.test"]}, headers=world["admin"])
    assert refused.status_code == 400  # not an active user
    moved = client.post(f"{API}/users/{users['mem@acme.test']}/transfer",
                        json={"to": users["adj@acme.test"], "entity": "memo"}, headers=world["admin"])
    assert moved.status_code == 200 and moved.get_json() == {"transferred": {"memo": 3}, "total": 3}
    assert {acme.records.get("memo", i)["owner_id"] for i in made} == {users["adj@acme.test"]}
    history = acme.records.history("memo", made[0])
    assert history[-1]["action"] == "assign" and history[-1]["actor_id"] == users["admin@acme.test"]
    rest = client.post(f"{API}/users/{users['mem@acme.test']}/transfer", json={"to": users["admin@acme.test"]},
                       headers=world["admin"]).get_json()
    assert rest == {"transferred": {"policy": 1}, "total": 1}
    assert client.post(f"{API}/users/{users['admin@acme.test']}/transfer", json={"to": users["adj@acme.test"]},
                       headers=world["adj"]).status_code == 403
    one = client.post(f"{API}/users/{users['adj@acme.test']}/transfer",
                      json={"to": users["admin@acme.test"], "entity": "memo", "record": made[0]}, headers=world["admin"])
    assert one.status_code == 200 and acme.records.get("memo", made[0])["owner_id"] == users["admin@acme.test"]
    again = client.post(f"{API}/users/{users['adj@acme.test']}/transfer",
                        json={"to": users["admin@acme.test"], "entity": "memo", "record": made[0]}, headers=world["admin"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_owner"


def test_the_command_line_gives_roles_and_transfers_records(install, world, acme):
    from click.testing import CliRunner

    from engine.cli import cli

    def run(*args):
        return CliRunner().invoke(cli, list(args), obj=install)

    given = run("user", "roles", "acme", "mem@acme.test", "--role", "claims_adjuster",
                "--permission-set", "claim_export")
    assert given.exit_code == 0, given.output
    assert "roles: claims_adjuster; permission sets: claim_export" in given.output
    bad = run("user", "roles", "acme", "mem@acme.test", "--role", "pilot")
    assert bad.exit_code != 0 and "pilot" in bad.output and "Traceback" not in bad.output
    assert next(a for a in list_users(acme.storage)
                if a.email == "mem@acme.test").roles == ("claims_adjuster",)
    acme.records.assign("claim", world["claim"], next(a.id for a in list_users(
        acme.storage) if a.email == "mem@acme.test"))
    moved = run("records", "transfer", "acme", "mem@acme.test", "adj@acme.test", "--entity", "claim")
    assert moved.exit_code == 0, moved.output
    assert "claim\t1" in moved.output and "transferred 1 records" in moved.output
    unknown = run("records", "transfer", "acme", "ghost@acme.test", "adj@acme.test")
    assert unknown.exit_code != 0 and "ghost@acme.test" in unknown.output
