"""GET /layouts and /layouts/<name> on SQLite and PostgreSQL: effective layouts (hidden fields
left out), a hidden field keeping its column and data, and layout-only changes as versions."""
import copy

import pytest
from openapi_spec_validator import validate

from tests.conftest import crm_document, token_for

BASE = "/api/v1/t/acme"
LAYOUTS = [
    {"name": "contact_form", "entity": "contact", "kind": "form", "label": {"en": "Contact", "zh-CN": "联系人"},
     "sections": [{"name": "who", "label": "Who", "columns": 2, "fields": ["full_name", "email", "birthday"]},
                  {"name": "value", "fields": ["tier", "lifetime_value"]}]},
    {"name": "contact_list", "entity": "contact", "kind": "list", "label": "Contacts",
     "columns": ["full_name", "tier", "birthday", "created_at"], "sort": "-lifetime_value,id", "page_size": 25},
    {"name": "account_list", "entity": "account", "kind": "list", "columns": ["name", "industry"]},
]


def with_layouts(hide=()):
    document = crm_document()
    document["layouts"] = copy.deepcopy(LAYOUTS)
    for field in document["entities"][1]["fields"]:
        if field["name"] in hide:
            field["hidden"] = True
    return document


@pytest.fixture
def member(install, acme):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'member@acme.example')}"}


def test_layouts_are_listed_and_read_by_name(acme, client, member):
    assert client.get(f"{BASE}/layouts", headers=member).get_json() == {"items": []}
    acme.apply_metadata(with_layouts())
    items = client.get(f"{BASE}/layouts", headers=member).get_json()["items"]
    assert [i["name"] for i in items] == ["contact_form", "contact_list", "account_list"]
    form = client.get(f"{BASE}/layouts/contact_form", headers=member).get_json()
    assert form["label"] == {"en": "Contact", "zh-CN": "联系人"}
    assert form["sections"] == [
        {"name": "who", "label": {"en": "Who"}, "columns": 2, "fields": ["full_name", "email", "birthday"]},
        {"name": "value", "label": {"en": "Value"}, "columns": 1, "fields": ["tier", "lifetime_value"]}]
    accounts = client.get(f"{BASE}/layouts?entity=account", headers=member).get_json()["items"]
    assert accounts == [{"name": "account_list", "entity": "account", "kind": "list", "label": {"en": "Account list"},
                         "columns": ["name", "industry"], "page_size": 50}]


def test_hidden_fields_leave_layouts_but_keep_their_data(acme, client, member):
    first = acme.apply_metadata(with_layouts())
    created = client.post(f"{BASE}/records/contact", headers=member,
                          json={"full_name": "Li Lei", "birthday": "1990-02-01", "tier": "gold"}).get_json()
    result = acme.apply_metadata(with_layouts(hide=("birthday", "lifetime_value")))
    assert result.applied and result.version == first.version + 1
    assert {c["kind"] for c in result.changes} == {"alter_hidden"} and not any(c["ddl"] for c in result.changes)
    form = client.get(f"{BASE}/layouts/contact_form", headers=member).get_json()
    assert form["sections"][0]["fields"] == ["full_name", "email"]
    assert form["sections"][1]["fields"] == ["tier"]
    listed = client.get(f"{BASE}/layouts/contact_list", headers=member).get_json()
    assert listed["columns"] == ["full_name", "tier", "created_at"] and listed["sort"] == "-lifetime_value,id"
    record = client.get(f"{BASE}/records/contact/{created['id']}", headers=member).get_json()
    assert record["birthday"] == "1990-02-01"  # the API still returns a hidden field
    patched = client.patch(f"{BASE}/records/contact/{created['id']}", headers=member,
                           json={"birthday": "1990-03-01", "version": record["version"]})
    assert patched.status_code == 200 and patched.get_json()["birthday"] == "1990-03-01"


def test_a_layout_only_change_is_a_new_version_and_a_dropped_layout_is_not_destructive(acme, client, member):
    first = acme.apply_metadata(with_layouts())
    assert [c["kind"] for c in first.changes] == ["add_layout"] * 3
    edited = with_layouts()
    edited["layouts"][1]["columns"] = ["full_name", "email"]
    del edited["layouts"][2]
    result = acme.apply_metadata(edited)
    assert result.applied and result.version == first.version + 1
    assert [c["kind"] for c in result.changes] == ["drop_layout", "change_layout"]
    assert client.get(f"{BASE}/layouts/account_list", headers=member).status_code == 404
    assert client.get(f"{BASE}/layouts/contact_list", headers=member).get_json()["columns"] == ["full_name", "email"]
    rolled = acme.rollback_metadata(first.version)
    assert rolled.applied
    assert client.get(f"{BASE}/layouts/account_list", headers=member).status_code == 200


def test_unknown_layouts_entities_and_parameters_are_json_errors(acme, client, member):
    acme.apply_metadata(with_layouts())
    response = client.get(f"{BASE}/layouts/nope", headers=member)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "layout_not_found"
    response = client.get(f"{BASE}/layouts?entity=nope", headers=member)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "entity_not_found"
    response = client.get(f"{BASE}/layouts?kind=form", headers=member)
    assert response.status_code == 400 and response.get_json()["error"]["details"][0]["field"] == "kind"
    assert client.get(f"{BASE}/layouts").status_code == 401


def test_an_invalid_layout_is_refused_with_its_path(acme, client, install):
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    document = with_layouts()
    document["layouts"][0]["sections"][1]["fields"].append("full_nam")
    response = client.put(f"{BASE}/metadata", json=document, headers=admin)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_metadata"
    assert [d["field"] for d in error["details"]] == ["/layouts/0/sections/1/fields/2"]


def test_the_openapi_document_describes_the_layout_paths(acme, client, member):
    acme.apply_metadata(with_layouts())
    spec = client.get(f"{BASE}/openapi.json", headers=member).get_json()
    validate(spec)
    assert {"/layouts", "/layouts/{name}"} <= set(spec["paths"])
    assert "Layout" in spec["components"]["schemas"]


def test_a_tenant_with_layouts_adds_an_entity_and_keeps_its_changes(acme, client, install):
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    assert client.put(f"{BASE}/metadata", json=with_layouts(), headers=admin).status_code == 200
    document = client.get(f"{BASE}/metadata", headers=admin).get_json()["document"]
    document["entities"].insert(0, {"name": "branch", "fields": [{"name": "city", "type": "string"}]})
    applied = client.put(f"{BASE}/metadata", json=document, headers=admin)
    assert applied.status_code == 200, applied.get_json()
    document["entities"].append({"name": "region", "fields": [{"name": "code", "type": "string"}]})
    assert client.put(f"{BASE}/metadata", json=document, headers=admin).status_code == 200
    current = client.get(f"{BASE}/metadata", headers=admin).get_json()
    assert [e["name"] for e in current["document"]["entities"]] == ["branch", "account", "contact", "region"]
    assert [la["name"] for la in current["document"]["layouts"]] == [la["name"] for la in LAYOUTS]
