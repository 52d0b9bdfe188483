"""Workflow transitions through the HTTP API, as specifications, on SQLite and PostgreSQL:
the state field changes only by a transition; every refusal (404, 409, 403, 400, 412)
says why and changes nothing; every transition is logged (workflow history and audit);
approvals count up to N (or every holder) and reset when the state changes; a workflow
change never strands records in a removed state."""
from __future__ import annotations

import copy
import threading

import pytest
from sqlalchemy import func, select

from engine.errors import MigrationRefused
from engine.systables import loom_table
from tests.conftest import token_for
from workflows import transitions
from workflows.runtime import runtime_of

STATES = ["new", "in_progress", "waiting", "resolved", "closed", "cancelled"]
DOC = {
    "entities": [{"name": "service_request", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "status", "type": "choice", "options": STATES},
        {"name": "priority", "type": "choice", "options": ["low", "high", "blocked"]},
        {"name": "assignee", "type": "string"},
    ]}],
    "workflows": [{
        "name": "service_flow", "entity": "service_request", "field": "status", "initial": "new",
        "states": [{"name": "new", "category": "open"}, {"name": "in_progress", "category": "active"},
                   {"name": "waiting", "category": "waiting"}, {"name": "resolved", "category": "done"},
                   {"name": "closed", "category": "done"}, {"name": "cancelled", "category": "cancelled"}],
        "transitions": [
            {"name": "start", "from": ["new"], "to": "in_progress", "roles": ["admin", "member"],
             "requires": ["assignee"], "guard": {"field": "priority", "op": "ne", "value": "blocked"},
             "comment": "optional"},
            {"name": "wait", "from": ["in_progress"], "to": "waiting"},
            {"name": "resume", "from": ["waiting"], "to": "in_progress"},
            {"name": "resolve", "from": ["in_progress", "waiting"], "to": "resolved", "comment": "required"},
            {"name": "escalate", "from": ["new"], "to": "in_progress", "roles": ["admin"]},
            {"name": "cancel", "from": "*", "to": "cancelled",
             "approval": {"role": "admin", "count": 2, "mode": "any"}},
            {"name": "close", "from": ["resolved"], "to": "closed", "approval": {"role": "admin", "mode": "all"}},
        ],
    }],
}
URL = "/api/v1/t/acme/records/service_request"


@pytest.fixture
def desk(install):
    install.registry.create("acme", "Acme Service")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    return install.session("acme")


@pytest.fixture
def users(install, desk):
    """Bearer headers of three admins and two members."""
    people = {}
    for name, role in (("ann", "admin"), ("bob", "admin"), ("cid", "admin"), ("mia", "member"), ("max", "member")):
        people[name] = {"Authorization": f"Bearer {token_for(install, 'acme', f'{name}@acme.test', role)}"}
    return people


def create(client, headers, **values):
    response = client.post(URL, json={"title": "printer on fire", **values}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def take(client, headers, record_id, name, **body):
    return client.post(f"{URL}/{record_id}/transitions/{name}", json=body or None, headers=headers)


def snapshot(install, record_id) -> dict:
    """Everything a refused transition must leave untouched."""
    session = install.session("acme")
    schema = session.storage.schema
    with session.storage.connect() as conn:
        counts = {name: conn.execute(select(func.count()).select_from(loom_table(schema, name))).scalar_one()
                  for name in ("loom_transitions", "loom_audit", "loom_outbox", "loom_approvals", "loom_effects")}
    return {"record": session.records.get("service_request", record_id), **counts}


def error(response) -> dict:
    return response.get_json()["error"]


# -- the state field ----------------------------------------------------------------------------
def test_a_record_starts_in_the_initial_state_and_its_state_changes_only_by_transition(install, client, users):
    record = create(client, users["mia"])
    assert record["status"] == "new" and record["version"] == 1
    before = snapshot(install, record["id"])
    patched = client.patch(f"{URL}/{record['id']}", json={"status": "resolved"}, headers=users["ann"])
    assert patched.status_code == 409
    assert error(patched)["code"] == "state_by_transition"
    assert "transition" in error(patched)["message"] and error(patched)["details"][0]["field"] == "status"
    mixed = client.patch(f"{URL}/{record['id']}", json={"status": "resolved", "assignee": "x"}, headers=users["ann"])
    assert mixed.status_code == 409
    assert snapshot(install, record["id"]) == before
    refused = client.post(URL, json={"title": "t", "status": "resolved"}, headers=users["mia"])
    assert refused.status_code == 400 and error(refused)["details"][0]["field"] == "status"
    batch = client.post(f"{URL}/batch", json={"records": [{"title": "a"}, {"title": "b", "status": "closed"}]},
                        headers=users["mia"])
    assert batch.status_code == 400 and error(batch)["details"][0]["field"] == "/1/status"
    assert client.patch(f"{URL}/{record['id']}", json={"assignee": "Mia"}, headers=users["mia"]).status_code == 200


def test_a_transition_moves_the_record_and_is_logged_in_history_and_audit(install, client, users):
    record = create(client, users["mia"], assignee="Mia", priority="low")
    response = take(client, users["mia"], record["id"], "start", comment="  on it  ", version=1)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "done" and body["record"]["status"] == "in_progress" and body["record"]["version"] == 2
    assert take(client, users["ann"], record["id"], "resolve", comment="fixed the toner").status_code == 200
    history = client.get(f"{URL}/{record['id']}/workflow-history", headers=users["max"]).get_json()["items"]
    assert [(h["transition"], h["from"], h["to"], h["comment"]) for h in history] == [
        ("start", "new", "in_progress", "on it"), ("resolve", "in_progress", "resolved", "fixed the toner")]
    actor_ids = [h["actor_id"] for h in history]
    assert actor_ids[0] != actor_ids[1] and None not in actor_ids
    assert all(h["at"].endswith("Z") for h in history)
    audit = client.get(f"{URL}/{record['id']}/history", headers=users["max"]).get_json()["items"]
    assert [(a["action"], a["version"], a["changes"]) for a in audit] == [
        ("create", 1, audit[0]["changes"]),
        ("transition", 2, {"status": ["new", "in_progress"]}),
        ("transition", 3, {"status": ["in_progress", "resolved"]})]
    assert [a["actor_id"] for a in audit[1:]] == actor_ids


def test_no_body_and_if_match_both_work(install, client, users):
    record = create(client, users["mia"], assignee="Mia")
    before = snapshot(install, record["id"])
    disagree = client.post(f"{URL}/{record['id']}/transitions/start", json={"version": 1},
                           headers={**users["mia"], "If-Match": '"2"'})
    assert disagree.status_code == 400 and error(disagree)["details"][0]["field"] == "version"
    stale = client.post(f"{URL}/{record['id']}/transitions/start", headers={**users["mia"], "If-Match": '"3"'})
    assert stale.status_code == 412
    assert snapshot(install, record["id"]) == before
    response = client.post(f"{URL}/{record['id']}/transitions/start", headers={**users["mia"], "If-Match": '"1"'})
    assert response.status_code == 200 and response.get_json()["record"]["status"] == "in_progress"


@pytest.mark.parametrize("path,body,status,code", [
    ("nope", None, 404, "unknown_transition"),
    ("resolve", {"comment": "x"}, 409, "illegal_transition"),           # not from "new"
    ("escalate", None, 403, "role_not_allowed"),                         # admins only; mia is a member
    ("start", {"comment": 42}, 400, "validation_failed"),
    ("start", {"version": 7}, 412, "stale_version"),
    ("start", {"version": "seven"}, 400, "validation_failed"),
    ("start", {"whatever": 1}, 400, "validation_failed"),
    ("cancel", None, 403, "approver_role"),                               # approval by admins only
])
def test_every_refusal_says_why_and_changes_nothing(install, client, users, path, body, status, code):
    record = create(client, users["mia"], assignee="Mia")
    before = snapshot(install, record["id"])
    response = take(client, users["mia"], record["id"], path, **(body or {}))
    assert response.status_code == status, response.get_json()
    assert error(response)["code"] == code and error(response)["message"]
    assert snapshot(install, record["id"]) == before


def test_the_refusals_name_what_is_possible_and_what_is_missing(install, client, users):
    record = create(client, users["mia"], priority="blocked")
    before = snapshot(install, record["id"])
    illegal = take(client, users["mia"], record["id"], "resolve", comment="x")
    assert "'new'" in error(illegal)["message"]
    assert all(name in error(illegal)["message"] for name in ("start", "escalate", "cancel"))
    blocked = take(client, users["mia"], record["id"], "start")
    assert blocked.status_code == 409 and error(blocked)["code"] == "transition_blocked"
    fields = {d["field"]: d["message"] for d in error(blocked)["details"]}
    assert set(fields) == {"assignee", "priority"}
    assert "blocked" in fields["priority"] and "guard" in fields["priority"]
    assert sorted(error(blocked)["details"], key=lambda d: d["field"]) == [
        {"field": "assignee", "code": "required_for_step", "message": "must be filled before start",
         "transition": "start"},
        {"field": "priority", "code": "guard_failed", "message": fields["priority"],
         "op": "ne", "value": "blocked", "actual": "blocked", "passed": False}]
    assert error(illegal)["details"] == [{"field": "", "code": "illegal_transition", "message": error(illegal)["message"],
                                          "transition": "resolve", "state": "new"}]
    missing = client.post(f"{URL}/{record['id']}/transitions/%20", headers=users["mia"])
    assert missing.status_code == 404
    assert client.post(f"{URL}/999/transitions/start", headers=users["mia"]).status_code == 404
    assert client.post("/api/v1/t/acme/records/nothing/1/transitions/start", headers=users["mia"]).status_code == 404
    assert snapshot(install, record["id"]) == before


def test_a_required_comment(install, client, users):
    record = create(client, users["mia"], assignee="Mia")
    assert take(client, users["mia"], record["id"], "start").status_code == 200
    before = snapshot(install, record["id"])
    for body in ({}, {"comment": "   "}, {"comment": None}, {"comment": "x" * 4001}):
        response = take(client, users["mia"], record["id"], "resolve", **body)
        assert response.status_code == 400, body
        assert error(response)["details"][0]["field"] == "comment"
        assert error(response)["details"][0]["code"] == ("comment_too_long" if len(body.get("comment") or "") > 4000 else "comment_required")
    assert snapshot(install, record["id"]) == before


def test_a_stale_version_after_someone_else_moved_the_record(install, client, users):
    record = create(client, users["mia"], assignee="Mia")
    assert client.patch(f"{URL}/{record['id']}", json={"priority": "high"}, headers=users["max"]).status_code == 200
    before = snapshot(install, record["id"])
    response = take(client, users["mia"], record["id"], "start", version=1)
    assert response.status_code == 412 and "version 2" in error(response)["message"]
    assert snapshot(install, record["id"]) == before
    assert take(client, users["mia"], record["id"], "start", version=2).status_code == 200


def test_the_available_transitions_with_their_blockers(client, users):
    record = create(client, users["mia"], priority="blocked")
    listing = client.get(f"{URL}/{record['id']}/transitions", headers=users["mia"]).get_json()
    assert listing["state"] == "new" and listing["workflow"] == "service_flow"
    items = {i["name"]: i for i in listing["items"]}
    assert set(items) == {"start", "cancel"}                  # escalate is for admins
    assert items["start"]["allowed"] is False
    assert {b["field"] for b in items["start"]["blocked_by"]} == {"assignee", "priority"}
    assert items["start"]["refused"]["details"] == items["start"]["blocked_by"]
    assert items["cancel"]["approval"] == {"role": "admin", "mode": "any", "approvals": 0, "needed": 2,
                                           "approved_by_you": False, "you_may_approve": False}
    admin = {i["name"] for i in client.get(f"{URL}/{record['id']}/transitions",
                                           headers=users["ann"]).get_json()["items"]}
    assert admin == {"start", "escalate", "cancel"}
    client.patch(f"{URL}/{record['id']}", json={"priority": "low", "assignee": "Mia"}, headers=users["mia"])
    items = {i["name"]: i for i in client.get(f"{URL}/{record['id']}/transitions",
                                              headers=users["mia"]).get_json()["items"]}
    assert items["start"]["allowed"] is True and items["start"]["blocked_by"] == []
    assert client.get(f"{URL}/999/transitions", headers=users["mia"]).status_code == 404


# -- approvals ----------------------------------------------------------------------------------
def test_any_n_approvals_answer_202_until_enough_then_perform(install, client, users):
    record = create(client, users["mia"])
    first = take(client, users["ann"], record["id"], "cancel", comment="duplicate")
    assert first.status_code == 202, first.get_json()
    assert first.get_json()["status"] == "pending_approval"
    assert (first.get_json()["approvals"], first.get_json()["needed"]) == (1, 2)
    assert install.session("acme").records.get("service_request", record["id"])["status"] == "new"
    before = snapshot(install, record["id"])
    again = take(client, users["ann"], record["id"], "cancel")
    assert again.status_code == 409 and error(again)["code"] == "already_approved"
    outsider = take(client, users["max"], record["id"], "cancel")
    assert outsider.status_code == 403
    assert snapshot(install, record["id"]) == before
    listing = {i["name"]: i for i in client.get(f"{URL}/{record['id']}/transitions",
                                                headers=users["ann"]).get_json()["items"]}
    assert listing["cancel"]["approval"]["approvals"] == 1 and listing["cancel"]["approval"]["approved_by_you"]
    done = take(client, users["bob"], record["id"], "cancel")
    assert done.status_code == 200 and done.get_json()["record"]["status"] == "cancelled"
    history = client.get(f"{URL}/{record['id']}/workflow-history", headers=users["ann"]).get_json()["items"]
    assert [(h["transition"], h["to"]) for h in history] == [("cancel", "cancelled")]


def test_all_mode_needs_every_active_holder(install, client, users):
    record = create(client, users["mia"], assignee="Mia")
    take(client, users["mia"], record["id"], "start")
    take(client, users["mia"], record["id"], "resolve", comment="done")
    answers = [take(client, users[name], record["id"], "close") for name in ("ann", "bob")]
    assert [a.status_code for a in answers] == [202, 202]
    assert [(a.get_json()["approvals"], a.get_json()["needed"]) for a in answers] == [(1, 3), (2, 3)]
    assert take(client, users["cid"], record["id"], "close").get_json()["record"]["status"] == "closed"


def test_approvals_reset_when_the_state_changes(install, client, users):
    record = create(client, users["mia"], assignee="Mia")
    assert take(client, users["ann"], record["id"], "cancel").status_code == 202      # in "new"
    assert take(client, users["mia"], record["id"], "start").status_code == 200
    listing = {i["name"]: i for i in client.get(f"{URL}/{record['id']}/transitions",
                                                headers=users["ann"]).get_json()["items"]}
    assert listing["cancel"]["approval"]["approvals"] == 0
    assert take(client, users["ann"], record["id"], "cancel").status_code == 202      # counts anew
    assert take(client, users["mia"], record["id"], "wait").status_code == 200
    assert take(client, users["mia"], record["id"], "resume").status_code == 200      # back in in_progress
    again = take(client, users["bob"], record["id"], "cancel")
    assert again.status_code == 202 and again.get_json()["approvals"] == 1           # ann's no longer counts
    assert take(client, users["ann"], record["id"], "cancel").status_code == 200


def test_a_refused_approval_with_a_stale_version_records_nothing(install, client, users):
    record = create(client, users["mia"])
    before = snapshot(install, record["id"])
    response = take(client, users["ann"], record["id"], "cancel", version=5)
    assert response.status_code == 412
    assert snapshot(install, record["id"]) == before


# -- concurrency ------------------------------------------------------------------------------
def test_two_transitions_at_once_from_the_same_state_take_one(install, desk):
    """Two workers race 'start' and 'escalate', both only from 'new': the record takes
    exactly one, and the log never shows a move from a state it had left."""
    record = desk.records.create("service_request", {"title": "race", "assignee": "x"})
    barrier, outcomes = threading.Barrier(2), []

    def move(name):
        session = install.session("acme")
        barrier.wait()
        try:
            outcomes.append(transitions.perform(session, "service_request", record["id"], name, comment="c")[0])
        except Exception as exc:  # the loser is refused
            outcomes.append(getattr(exc, "status", repr(exc)))

    threads = [threading.Thread(target=move, args=(name,)) for name in ("start", "escalate")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log = transitions.history(install.session("acme"), "service_request", record["id"])
    assert sorted(outcomes, key=str) == [200, 409], (outcomes, log)
    assert [(h["from"], h["to"]) for h in log] == [("new", "in_progress")]
    assert desk.records.get("service_request", record["id"])["version"] == 2


# -- changing the published workflow ----------------------------------------------------------
def without_waiting() -> dict:
    doc = copy.deepcopy(DOC)
    doc["entities"][0]["fields"][1]["options"] = [s for s in STATES if s != "waiting"]
    flow = doc["workflows"][0]
    flow["states"] = [s for s in flow["states"] if s["name"] != "waiting"]
    flow["transitions"] = [t for t in flow["transitions"] if t["name"] not in ("wait", "resume")]
    next(t for t in flow["transitions"] if t["name"] == "resolve")["from"] = ["in_progress"]
    return doc


def test_removing_a_state_that_holds_records_is_refused_with_their_count(install, desk):
    ids = [desk.records.create("service_request", {"title": f"t{i}", "assignee": "x"})["id"] for i in range(3)]
    for record_id in ids[:2]:
        transitions.perform(desk, "service_request", record_id, "start")
        transitions.perform(desk, "service_request", record_id, "wait")
    with pytest.raises(MigrationRefused) as refused:
        install.session("acme").apply_metadata(without_waiting())
    assert "2 records" in str(refused.value) and "waiting" in str(refused.value)
    assert len(desk.metadata_history()) == 1
    assert [desk.records.get("service_request", i)["status"] for i in ids] == ["waiting", "waiting", "new"]


def test_records_in_a_removed_state_move_when_mapped(install, desk):
    record = desk.records.create("service_request", {"title": "t", "assignee": "x"})
    transitions.perform(desk, "service_request", record["id"], "start")
    transitions.perform(desk, "service_request", record["id"], "wait")
    install.session("acme").apply_metadata(without_waiting(), state_map={("service_request", "waiting"): "in_progress"})
    session = install.session("acme")
    assert session.records.get("service_request", record["id"])["status"] == "in_progress"
    status, _ = transitions.perform(session, "service_request", record["id"], "resolve", comment="ok")
    assert status == 200


def test_records_moved_by_a_state_map_leave_the_removed_states_timer_and_start_the_new_one(install, desk):
    from workflows.sla import timers_for

    timed = copy.deepcopy(DOC)
    states = {s["name"]: s for s in timed["workflows"][0]["states"]}
    states["waiting"]["sla"] = {"timer": "customer_reply", "within": "2d"}
    states["in_progress"]["sla"] = {"timer": "resolution", "within": "1d"}
    install.session("acme").apply_metadata(timed)
    session = install.session("acme")
    record = session.records.create("service_request", {"title": "t", "assignee": "x"})
    transitions.perform(session, "service_request", record["id"], "start")
    transitions.perform(session, "service_request", record["id"], "wait")
    target = without_waiting()
    next(s for s in target["workflows"][0]["states"] if s["name"] == "in_progress")["sla"] = \
        states["in_progress"]["sla"]
    install.session("acme").apply_metadata(target, state_map={("service_request", "waiting"): "in_progress"})
    runtime_of(install).jobs.drain("acme")
    timers = [(t["state"], t["status"]) for t in timers_for(session.storage, "service_request", record["id"])]
    assert timers == [("in_progress", "met"), ("waiting", "met"), ("in_progress", "running")]
    log = transitions.history(install.session("acme"), "service_request", record["id"])
    assert [(h["from"], h["to"]) for h in log][-1] == ("waiting", "in_progress")


def test_a_validation_rule_on_transitions_refuses_one_and_nothing_changes(install, client, users):
    doc = copy.deepcopy(DOC)
    doc["rulesets"] = [{"name": "checks", "kind": "validation", "entity": "service_request", "rules": [
        {"name": "no_cancel_when_high", "when": {"event": "record.transitioned", "to": "cancelled",
                                                 "condition": {"field": "priority", "op": "eq", "value": "high"}},
         "message": "high-priority requests are not cancelled"}]}]
    install.session("acme").apply_metadata(doc)
    record = create(client, users["mia"], priority="high")
    assert take(client, users["ann"], record["id"], "cancel").status_code == 202
    before = snapshot(install, record["id"])
    refused = take(client, users["bob"], record["id"], "cancel")        # the approval that would complete it
    assert refused.status_code == 400, refused.get_json()
    assert error(refused)["code"] == "rule_refused"
    assert error(refused)["message"] == "high-priority requests are not cancelled"
    assert snapshot(install, record["id"]) == before                   # bob's approval is not kept either
    client.patch(f"{URL}/{record['id']}", json={"priority": "low"}, headers=users["mia"])
    assert take(client, users["bob"], record["id"], "cancel").get_json()["record"]["status"] == "cancelled"


def test_one_approver_approving_twice_at_once_counts_once(install, desk):
    from engine.auth import create_user

    record = desk.records.create("service_request", {"title": "race"})
    ann = create_user(desk.storage, "ann@acme.test", "admin")
    barrier, outcomes = threading.Barrier(4), []

    def approve():
        session = install.session("acme", ann)
        barrier.wait()
        try:
            outcomes.append(transitions.perform(session, "service_request", record["id"], "cancel")[0])
        except Exception as exc:  # the duplicates are refused
            outcomes.append(getattr(exc, "status", repr(exc)))

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == [202, 409, 409, 409], outcomes
    assert desk.records.get("service_request", record["id"])["status"] == "new"


# -- the list of transitions agrees with what taking them does --------------------------------

SCENARIOS = {  # values of a new record, transitions taken by mia, then approvals given (by whom, what)
    "new, nothing filled": ({}, [], []),
    "new, blocked": ({"assignee": "Mia", "priority": "blocked"}, [], []),
    "new, ready, ann approved cancel": ({"assignee": "Mia"}, [], [("ann", "cancel")]),
    "resolved, ann and bob approved close": ({"assignee": "Mia"}, ["start", "resolve"],
                                             [("ann", "close"), ("bob", "close")]),
}


def build(client, users, scenario) -> int:
    values, path, approvals = SCENARIOS[scenario]
    record = create(client, users["mia"], **values)
    for name in path:
        assert take(client, users["mia"], record["id"], name, comment="c").status_code == 200
    for who, name in approvals:
        assert take(client, users[who], record["id"], name).status_code == 202
    return record["id"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_listed_transitions_agree_with_taking_them(install, client, users, scenario):
    """Each transition listed as allowed succeeds when taken (200, or 202 when it is stated
    that the approval is recorded and more are needed); each listed as not allowed is
    refused with the stated status, code and message — for members, approvers and
    approvers who already approved."""
    for actor in ("ann", "cid", "mia"):
        listing = client.get(f"{URL}/{build(client, users, scenario)}/transitions", headers=users[actor]).get_json()
        for item in listing["items"]:
            fresh = build(client, users, scenario)
            comment = "c" if item["comment"] == "required" else None
            response = take(client, users[actor], fresh, item["name"], **({"comment": comment} if comment else {}))
            where = (scenario, actor, item)
            if item["allowed"]:
                assert response.status_code == {"done": 200, "pending_approval": 202}[item["outcome"]], where
                assert "refused" not in item, where
            else:
                refused = item["refused"]
                assert response.status_code == refused["status"], where
                assert error(response)["code"] == refused["code"], where
                assert error(response)["message"] == refused["message"], where


def test_a_member_is_told_who_must_approve_instead_of_being_offered_the_transition(install, client, users):
    record = create(client, users["mia"])
    items = {i["name"]: i for i in client.get(f"{URL}/{record['id']}/transitions",
                                              headers=users["mia"]).get_json()["items"]}
    cancel = items["cancel"]
    assert cancel["allowed"] is False and cancel["refused"]["code"] == "approver_role"
    assert "admin" in cancel["refused"]["message"]
    assert cancel["refused"]["details"] == [{"field": "", "code": "approver_role", "message": cancel["refused"]["message"],
                                             "transition": "cancel", "role": "admin", "given": 0, "needed": 2,
                                             "your_role": "member"}]
    assert cancel["approval"]["you_may_approve"] is False
    assert take(client, users["mia"], record["id"], "cancel").status_code == 403


def test_fields_a_step_needs_are_checked_with_it_and_written_with_it_or_not_at_all(install, desk):
    """`perform(values=…)`: the screens' way to fill a step's required fields. The step is
    checked on the record with them; a refused step writes neither; a taken one writes both
    in one transaction."""
    from engine.errors import Conflict, LoomError, ValidationFailed

    blocked = desk.records.create("service_request", {"title": "jammed", "priority": "blocked"})
    before = snapshot(install, blocked["id"])
    with pytest.raises(LoomError) as refused:  # the guard refuses: the assignee is not saved either
        transitions.perform(desk, "service_request", blocked["id"], "start", values={"assignee": "ann"})
    assert "guard" in str(refused.value)
    assert snapshot(install, blocked["id"]) == before
    for bad in ({"assignee": ["not", "text"]}, {"nope": 1}, {"status": "closed"}):
        with pytest.raises((ValidationFailed, Conflict)):
            transitions.perform(desk, "service_request", blocked["id"], "start", values=bad)
        assert snapshot(install, blocked["id"]) == before
    from engine.auth import create_user

    admin = install.session("acme", create_user(desk.storage, "ann@acme.test", "admin"))
    with pytest.raises(ValidationFailed):  # an approval is of the record as it is
        transitions.perform(admin, "service_request", blocked["id"], "cancel", values={"assignee": "ann"})
    assert snapshot(install, blocked["id"]) == before

    ready = desk.records.create("service_request", {"title": "paper", "priority": "low"})
    status, body = transitions.perform(desk, "service_request", ready["id"], "start",
                                       expected_version=ready["version"], values={"assignee": "ann"})
    assert status == 200 and body["record"]["status"] == "in_progress" and body["record"]["assignee"] == "ann"
    actions = [entry["action"] for entry in desk.records.history("service_request", ready["id"])]
    assert actions[-2:] == ["update", "transition"]
