"""The workflow API around transitions, as specifications, on SQLite and PostgreSQL: who may
call it (tokens of the tenant only, admins for the dead-letter list), what it answers for
entities without a workflow and for unknown records, bad bodies, and the workflow's own
actions (entering the initial state, taking a transition) run after commit through the
job queue, exactly once."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import update

from engine.systables import loom_table
from tests.conftest import token_for
from workflows import transitions
from workflows.runtime import runtime_of

DOC = {
    "entities": [
        {"name": "account", "fields": [{"name": "name", "type": "string"}]},
        {"name": "ticket", "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "status", "type": "choice", "options": ["new", "open", "done"]},
            {"name": "priority", "type": "choice", "options": ["low", "high"]},
            {"name": "opened", "type": "boolean"},
            {"name": "closed_note", "type": "string"}]},
        {"name": "task", "fields": [{"name": "ticket", "type": "reference", "to": "ticket"},
                                    {"name": "kind", "type": "string"}]},
    ],
    "workflows": [{
        "name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
        "states": [
            {"name": "new", "category": "open",
             "on_enter": [{"action": "set_field", "params": {"field": "priority", "value": "low"}}],
             "sla": {"timer": "first_response", "within": "4h"}},
            {"name": "open", "category": "active",
             "on_enter": [{"action": "create_record",
                           "params": {"entity": "task", "values": {"ticket": {"$record": "id"}, "kind": "triage"}}}],
             "on_leave": [{"action": "set_field", "params": {"field": "closed_note", "value": "left open"}}]},
            {"name": "done", "category": "done"}],
        "transitions": [
            {"name": "open", "from": ["new"], "to": "open",
             "actions": [{"action": "set_field", "params": {"field": "opened", "value": True}}]},
            {"name": "finish", "from": ["open"], "to": "done"}],
    }],
}
BASE = "/api/v1/t/acme"


@pytest.fixture
def desk(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    return install.session("acme")


@pytest.fixture
def admin(install, desk):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'ann@acme.test', 'admin')}"}


@pytest.fixture
def member(install, desk):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'mia@acme.test')}"}


def ticket(client, headers, **values):
    response = client.post(f"{BASE}/records/ticket", json={"title": "broken", **values}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def tasks(session) -> list:
    return [(t["ticket"], t["kind"]) for t in session.records.list("task")["items"]]


def test_the_workflows_own_actions_run_after_commit_once(install, desk, client, member):
    record = ticket(client, member, priority="high")
    assert record["priority"] == "high"                               # nothing ran inside the request
    jobs = runtime_of(install).jobs
    jobs.drain("acme")
    after = desk.records.get("ticket", record["id"])
    assert after["priority"] == "low"                                  # on_enter of the initial state
    sla = client.get(f"{BASE}/records/ticket/{record['id']}/sla", headers=member).get_json()["items"]
    assert [(t["state"], t["timer"], t["status"]) for t in sla] == [("new", "first_response", "running")]

    moved = client.post(f"{BASE}/records/ticket/{record['id']}/transitions/open", headers=member)
    assert moved.status_code == 200 and moved.get_json()["record"]["opened"] is None
    jobs.drain("acme")
    after = install.session("acme").records.get("ticket", record["id"])
    assert (after["status"], after["opened"]) == ("open", True)
    assert tasks(desk) == [(record["id"], "triage")]
    client.post(f"{BASE}/records/ticket/{record['id']}/transitions/finish", headers=member)
    jobs.drain("acme")
    assert install.session("acme").records.get("ticket", record["id"])["closed_note"] == "left open"

    # every event handled again (a worker that died before marking them): nothing twice
    session = install.session("acme")
    version = session.records.get("ticket", record["id"])["version"]
    outbox = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.begin() as conn:
        conn.execute(update(outbox).values(status="pending", processed_at=None))
    jobs.drain("acme")
    assert tasks(desk) == [(record["id"], "triage")]
    assert install.session("acme").records.get("ticket", record["id"])["version"] == version


def test_only_the_tenants_tokens_reach_its_workflow_api(install, desk, client, member):
    record = ticket(client, member)
    install.registry.create("globex", "Globex")
    stranger = {"Authorization": f"Bearer {token_for(install, 'globex', 'eve@globex.test', 'admin')}"}
    paths = [("get", f"/records/ticket/{record['id']}/transitions"),
             ("post", f"/records/ticket/{record['id']}/transitions/open"),
             ("get", f"/records/ticket/{record['id']}/workflow-history"),
             ("get", f"/records/ticket/{record['id']}/rule-trace"),
             ("get", f"/records/ticket/{record['id']}/sla"),
             ("get", "/jobs/failed"), ("post", "/jobs/retry")]
    for method, path in paths:
        anonymous = getattr(client, method)(BASE + path)
        assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
        foreign = getattr(client, method)(BASE + path, headers=stranger)
        assert foreign.status_code == 404, path
        assert getattr(client, method)("/api/v1/t/nobody" + path, headers=member).status_code == 404
    assert install.session("acme").records.get("ticket", record["id"])["status"] == "new"


def test_entities_without_a_workflow_and_unknown_records(client, member):
    account = client.post(f"{BASE}/records/account", json={"name": "Acme"}, headers=member).get_json()
    for method, path in [("get", "transitions"), ("post", "transitions/open")]:
        response = getattr(client, method)(f"{BASE}/records/account/{account['id']}/{path}", headers=member)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "no_workflow"
    # the log outlives a workflow (one removed from the metadata keeps its records' past)
    history = client.get(f"{BASE}/records/account/{account['id']}/workflow-history", headers=member)
    assert history.status_code == 200 and history.get_json() == {"items": []}
    for record_id in ("999", "0", "-1", "abc", "9" * 30):
        for method, path in [("get", "transitions"), ("post", "transitions/open"), ("get", "workflow-history"),
                             ("get", "rule-trace"), ("get", "sla")]:
            response = getattr(client, method)(f"{BASE}/records/ticket/{record_id}/{path}", headers=member)
            assert response.status_code == 404, (record_id, path, response.get_json())
            assert response.get_json()["error"]["code"] == "record_not_found"
    assert client.get(f"{BASE}/records/ghost/1/transitions", headers=member).status_code == 404
    assert client.patch(f"{BASE}/records/account/{account['id']}", json={"name": "A"},
                        headers=member).status_code == 200


@pytest.mark.parametrize("body,content_type", [
    (b"[1, 2]", "application/json"), (b"{not json", "application/json"), (b'"open"', "application/json"),
    (b'{"comment": "x", "version": true}', "application/json"),
    (b'{"comment": "x", "force": true}', "application/json"),
])
def test_bad_transition_bodies_are_400_and_change_nothing(install, client, member, body, content_type):
    record = ticket(client, member)
    response = client.post(f"{BASE}/records/ticket/{record['id']}/transitions/open", data=body,
                           headers={**member, "Content-Type": content_type})
    assert response.status_code == 400, response.get_json()
    assert set(response.get_json()["error"]) >= {"code", "message"}
    assert install.session("acme").records.get("ticket", record["id"])["version"] == 1
    assert transitions.history(install.session("acme"), "ticket", record["id"]) == []


def test_an_empty_body_takes_the_transition(install, client, member):
    record = ticket(client, member)
    response = client.post(f"{BASE}/records/ticket/{record['id']}/transitions/open", data=b"",
                           headers={**member, "Content-Type": "application/json"})
    assert response.status_code == 200 and response.get_json()["record"]["status"] == "open"


def test_the_dead_letter_list_is_for_admins(client, admin, member):
    assert client.get(f"{BASE}/jobs/failed", headers=admin).get_json() == {"items": []}
    assert client.get(f"{BASE}/jobs/failed", headers=member).status_code == 403
    assert client.post(f"{BASE}/jobs/retry", headers=admin).get_json() == {"requeued": 0}
    for body in ({"ids": "all"}, {"ids": [1, "2"]}, {"ids": [True]}, {"ids": [2**70]}, {"ids": [0]},
                 {"ids": list(range(1, 5000))}):
        response = client.post(f"{BASE}/jobs/retry", json=body, headers=admin)
        assert response.status_code == 400 and response.get_json()["error"]["details"][0]["field"] == "ids"
    assert client.post(f"{BASE}/jobs/retry", data=b"[]", headers={**admin, "Content-Type": "application/json"}
                       ).status_code == 400


def test_explain_needs_a_known_rule(client, member):
    record = ticket(client, member)
    for target in ("nothing", "a.b", ".", "a."):
        response = client.get(f"{BASE}/records/ticket/{record['id']}/rule-trace?explain={target}", headers=member)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_rule"
    assert client.get(f"{BASE}/records/ticket/{record['id']}/rule-trace", headers=member).get_json() == {"items": []}


@pytest.mark.parametrize("comment", ["a\\u0000b", "x" * 4001, "\\ud800", "bell\\u0007"])
def test_comments_the_database_cannot_store_are_refused(install, client, member, comment):
    record = ticket(client, member)
    response = client.post(f"{BASE}/records/ticket/{record['id']}/transitions/open",
                           data=('{"comment": "%s"}' % comment).encode(),
                           headers={**member, "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"][0]["field"] == "comment"
    assert transitions.history(install.session("acme"), "ticket", record["id"]) == []


def test_a_multi_line_comment_in_any_language_is_kept(install, client, member):
    record = ticket(client, member)
    comment = "客户已确认\n\tline two — ✓"
    response = client.post(f"{BASE}/records/ticket/{record['id']}/transitions/open", json={"comment": comment},
                           headers=member)
    assert response.status_code == 200
    assert transitions.history(install.session("acme"), "ticket", record["id"])[0]["comment"] == comment


def test_business_hours_are_read_by_anyone_and_saved_by_admins(client, admin, member):
    defaults = client.get(f"{BASE}/settings/business-hours", headers=member)
    assert defaults.status_code == 200, defaults.get_json()
    assert defaults.get_json() == {"timezone": "UTC", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00",
                                   "holidays": []}
    saved = client.put(f"{BASE}/settings/business-hours", headers=admin,
                       json={"timezone": "Asia/Shanghai", "days": [5, 1], "holidays": ["2026-10-01"]})
    assert saved.status_code == 200, saved.get_json()
    expected = {"timezone": "Asia/Shanghai", "days": [1, 5], "start": "09:00", "end": "18:00",
                "holidays": ["2026-10-01"]}
    assert saved.get_json() == expected
    assert client.get(f"{BASE}/settings/business-hours", headers=member).get_json() == expected
    refused = client.put(f"{BASE}/settings/business-hours", headers=member, json={"start": "08:00"})
    assert refused.status_code == 403
    bad = client.put(f"{BASE}/settings/business-hours", headers=admin, json={"start": "25:00", "colour": "red"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_business_hours"
    assert client.get(f"{BASE}/settings/business-hours", headers=member).get_json() == expected
