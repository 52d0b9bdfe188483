"""A request names only what its endpoint reads, on SQLite and PostgreSQL: a single
record's GET applies `fields=` as the list does, an unknown query parameter is a 400 on
every endpoint that does not take filters, and so is an unknown key in a fixed-shape body."""
from __future__ import annotations

import pytest

from tests.conftest import token_for

BASE = "/api/v1/t/acme"
DOC = {
    "entities": [{"name": "ticket", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "status", "type": "choice", "options": ["new", "done"]},
        {"name": "note", "type": "string"}]}],
    "workflows": [{
        "name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
        "states": [{"name": "new", "category": "open"}, {"name": "done", "category": "done"}],
        "transitions": [{"name": "finish", "from": ["new"], "to": "done"}]}],
}
SINGLE_GETS = ["/records/ticket/1", "/records/ticket/1/history", "/records/ticket/1/transitions",
               "/records/ticket/1/workflow-history", "/records/ticket/1/sla", "/records/ticket/1/rule-trace",
               "/metadata", "/metadata/history", "/layouts", "/layouts/ticket_form", "/openapi.json",
               "/settings/business-hours", "/jobs/failed", "/notifications"]


@pytest.fixture
def admin(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(DOC)
    headers = {"Authorization": f"Bearer {token_for(install, 'acme', 'ann@acme.test', 'admin')}"}
    install.session("acme").records.create("ticket", {"title": "broken", "note": "n"})
    return headers


def refused(response, status, code, field):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and field in [d["field"] for d in error["details"]], error
    return error


def test_a_single_get_answers_only_the_fields_asked_for(client, admin):
    response = client.get(f"{BASE}/records/ticket/1?fields=title", headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {"id": 1, "version": 1, "title": "broken"}
    assert response.headers["ETag"] == '"1"'
    error = refused(client.get(f"{BASE}/records/ticket/1?fields=title,nope", headers=admin), 400, "bad_query", "fields")
    assert "'nope'" in error["details"][0]["message"]


@pytest.mark.parametrize("path", SINGLE_GETS)
def test_an_unknown_query_parameter_is_refused(client, admin, path):
    error = refused(client.get(f"{BASE}{path}?bogus=1", headers=admin), 400, "bad_query", "bogus")
    assert "bogus" in error["message"]


def test_parameters_an_endpoint_reads_are_still_accepted(client, admin):
    for path in ("/records/ticket/1/rule-trace?explain=", "/metadata?layer=tenant", "/layouts?entity=ticket",
                 "/notifications?unread=true&limit=5", "/records/ticket?title=broken",
                 "/records/ticket/export?format=csv&title=broken"):
        assert client.get(f"{BASE}{path}", headers=admin).status_code == 200, path


@pytest.mark.parametrize("path, field", [
    ("/records/ticket/1?fields=title&fields=note", "fields"),
    ("/records/ticket/export?format=csv&format=xml", "format"),
    ("/records/ticket/export?format=xml&format=csv", "format"),
    ("/openapi.json?lang=zh-CN&lang=en", "lang"),
    ("/notifications?limit=5&limit=500", "limit"),
])
def test_a_parameter_given_twice_is_refused_not_read_as_its_first_value(client, admin, path, field):
    error = refused(client.get(f"{BASE}{path}", headers=admin), 400, "bad_query", field)
    assert "only once" in error["message"]


def test_a_write_with_a_parameter_given_twice_is_refused_and_changes_nothing(client, admin):
    refused(client.post(f"{BASE}/records/ticket?allow_duplicates=true&allow_duplicates=false", json={"title": "t"},
                        headers=admin), 400, "bad_query", "allow_duplicates")
    assert [r["id"] for r in client.get(f"{BASE}/records/ticket", headers=admin).get_json()["items"]] == [1]


def test_a_write_refuses_unknown_query_parameters_and_changes_nothing(client, admin):
    refused(client.patch(f"{BASE}/records/ticket/1?force=true", json={"note": "x"}, headers=admin),
            400, "bad_query", "force")
    assert client.get(f"{BASE}/records/ticket/1", headers=admin).get_json()["note"] == "n"


@pytest.mark.parametrize("path, body, key", [
    ("/jobs/retry", {"ids": [1], "everything": True}, "everything"),
    ("/notifications/read", {"ids": [], "all": True}, "all"),
    ("/records/ticket/batch", {"records": [{"title": "x"}], "atomic": False}, "atomic"),
    ("/records/ticket/1/transitions/finish", {"comment": "ok", "force": True}, "force"),
])
def test_a_fixed_shape_body_refuses_unknown_keys_and_changes_nothing(install, client, admin, path, body, key):
    refused(client.post(f"{BASE}{path}", json=body, headers=admin), 400, "validation_failed", key)
    records = install.session("acme").records.list("ticket")["items"]
    assert [(r["id"], r["status"]) for r in records] == [(1, "new")]
