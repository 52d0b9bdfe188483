"""A transition tried on a record (`workflows.trial`), on SQLite and PostgreSQL: the trial
answers what the real transition answers (the same outcome, status, code and problem
codes, whatever the record, role, comment and approvals), says what it wrote and what
would run after commit (the workflow's actions and the automation rules it fires), and
leaves the database as it was; a draft whose tables differ from the live ones is refused
naming the difference, and a draft's workflow and rules are the ones tried."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.auth import create_user
from engine.errors import LoomError
from engine.systables import loom_table
from metadata import Package
from workflows import transitions
from workflows.trial import trial_transition

STATES = ["new", "open", "waiting", "closed"]
DOC = {
    "entities": [{"name": "ticket", "fields": [
        {"name": "subject", "type": "string", "required": True},
        {"name": "priority", "type": "choice", "options": ["low", "high", "blocked"]},
        {"name": "resolution", "type": "text"},
        {"name": "status", "type": "choice", "options": STATES}]}],
    "workflows": [{"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
                   "states": [{"name": "new", "category": "open"}, {"name": "open", "category": "active"},
                              {"name": "waiting", "category": "waiting",
                               "on_enter": [{"action": "set_field", "params": {"field": "resolution",
                                                                               "value": "parked"}}]},
                              {"name": "closed", "category": "done"}],
                   "transitions": [
                       {"name": "start", "from": ["new"], "to": "open", "roles": ["admin", "member"]},
                       {"name": "park", "from": ["open"], "to": "waiting", "comment": "required"},
                       {"name": "close", "from": ["open", "waiting"], "to": "closed", "requires": ["resolution"],
                        "guard": {"field": "priority", "op": "ne", "value": "blocked"}, "roles": ["admin"],
                        "actions": [{"action": "set_field", "params": {"field": "priority", "value": "low"}}]},
                       {"name": "cancel", "from": "*", "to": "closed",
                        "approval": {"role": "admin", "count": 2, "mode": "any"}}]}],
    "rulesets": [
        {"name": "checks", "kind": "validation", "entity": "ticket", "rules": [
            {"name": "no_closing_high", "when": {"event": "record.transitioned", "to": ["closed"],
                                                 "condition": {"field": "priority", "op": "eq", "value": "high"}},
             "message": "a high ticket is not closed"}]},
        {"name": "care", "kind": "automation", "entity": "ticket", "rules": [
            {"name": "on_wait", "when": {"event": "record.transitioned", "to": ["waiting"]},
             "actions": [{"action": "set_field", "params": {"field": "priority", "value": "high"}}]}]}]}
TABLES = ("loom_audit", "loom_outbox", "loom_transitions", "loom_approvals", "loom_sla_timers",
          "loom_correlations", "loom_effects")


@pytest.fixture
def desk(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    storage = install.session("acme").storage
    people = {name: create_user(storage, f"{name}@acme.test", role)
              for name, role in (("ann", "admin"), ("bob", "admin"), ("mia", "member"))}
    return install, people


def stored(install) -> dict:
    """Every row a transition could write, counted, and the tickets as stored."""
    session = install.session("acme")
    with session.storage.connect() as conn:
        counts = {name: conn.execute(select(func.count()).select_from(loom_table(session.storage.schema, name)))
                  .scalar_one() for name in TABLES}
    return {"counts": counts, "tickets": session.records.list("ticket", [])["items"]}


def ticket(install, actor, state="new", **values) -> dict:
    """A ticket taken to `state`, then given `values`."""
    session = install.session("acme", actor)
    record = session.records.create("ticket", {"subject": "printer", "resolution": "fixed"})
    steps = {"new": [], "open": ["start"], "waiting": ["start", "park"], "closed": ["start", "close"]}[state]
    for step in steps:
        transitions.perform(session, "ticket", record["id"], step, comment="ok")
    session.records.update("ticket", record["id"], {"resolution": None, **values})
    return session.records.get("ticket", record["id"])


def real(install, actor, record_id, name, comment) -> tuple[int, str | None, list]:
    """What taking the transition for real answers: (status, code, problem codes)."""
    try:
        status, _body = transitions.perform(install.session("acme", actor), "ticket", record_id, name, comment)
    except LoomError as exc:
        return exc.status, exc.code, sorted(p.code for p in exc.problems)
    return status, None, []


def tried(result) -> tuple[int, str | None, list]:
    refusal = result["refusal"]
    if refusal is None:
        return result["status"], None, []
    return refusal["status"], refusal["code"], sorted(d["code"] for d in refusal["details"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.sampled_from(STATES), priority=st.sampled_from(["low", "high", "blocked", None]),
       resolution=st.sampled_from([None, "fixed"]), who=st.sampled_from(["ann", "bob", "mia"]),
       name=st.sampled_from(["start", "park", "close", "cancel"]),
       comment=st.sampled_from([None, "", "ok", 7, "x" * 4001]), approved_by_ann=st.booleans())
def test_a_trial_answers_what_the_real_transition_answers_and_changes_nothing(
        desk, state, priority, resolution, who, name, comment, approved_by_ann):
    install, people = desk
    record = ticket(install, people["ann"], state, priority=priority, resolution=resolution)
    if approved_by_ann and state != "closed":
        transitions.perform(install.session("acme", people["ann"]), "ticket", record["id"], "cancel")
    before = stored(install)
    result = trial_transition(install.session("acme", people[who]), "ticket", record["id"], name, comment=comment)
    assert stored(install) == before, "a trial changes nothing"
    first = next((c for c in result["checks"] if not c["passed"]), None)
    if first is not None:
        assert result["refusal"] == first["refusal"], "the first failing check is the refusal perform answers"
    assert tried(result) == real(install, people[who], record["id"], name, comment)


def test_a_trial_says_what_was_written_and_what_would_run_after_commit(desk):
    install, people = desk
    record = ticket(install, people["ann"], "open", priority="low")
    before = stored(install)
    result = trial_transition(install.session("acme", people["ann"]), "ticket", record["id"], "park", comment="ok")
    assert result["outcome"] == "done" and result["status"] == 200
    assert result["changes"] == {"status": ["open", "waiting"]}
    assert [w["action"] for w in result["written"]] == ["transition"]
    assert [e["event"] for e in result["events"]] == ["record.transitioned"]
    assert [(a["by"], a["rule"], a["action"], a["params"]) for a in result["actions"]] == [
        ("workflow", None, "set_field", {"field": "resolution", "value": "parked"}),
        ("rule", "care.on_wait", "set_field", {"field": "priority", "value": "high"})]
    assert all(c["passed"] for c in result["checks"])
    assert stored(install) == before


def test_a_validation_rule_refuses_the_trial_as_it_refuses_the_step(desk):
    install, people = desk
    record = ticket(install, people["ann"], "open", priority="high", resolution="fixed")
    result = trial_transition(install.session("acme", people["ann"]), "ticket", record["id"], "close")
    assert all(c["passed"] for c in result["checks"]), "every check of the step passes"
    assert result["outcome"] == "refused" and result["refusal"]["code"] == "rule_refused"
    assert tried(result) == real(install, people["ann"], record["id"], "close", None)


def test_an_approval_is_counted_and_rolled_back(desk):
    install, people = desk
    record = ticket(install, people["ann"], "open")
    before = stored(install)
    result = trial_transition(install.session("acme", people["ann"]), "ticket", record["id"], "cancel")
    assert result["outcome"] == "pending_approval" and result["status"] == 202
    assert result["approval"]["needed"] == 2 and result["approval"]["approvals"] == 0
    assert stored(install) == before
    as_member = trial_transition(install.session("acme", people["ann"]), "ticket", record["id"], "cancel",
                                 role="member")
    assert as_member["refusal"]["code"] == "approver_role"


def test_a_drafts_workflow_and_rules_are_the_ones_tried(desk):
    install, people = desk
    record = ticket(install, people["ann"], "open", priority="high", resolution="fixed")
    session = install.session("acme", people["ann"])
    document = copy.deepcopy(DOC)
    document["rulesets"] = document["rulesets"][1:]  # the draft drops the validation rule
    document["workflows"][0]["transitions"][2]["roles"] = ["member"]
    package = Package.from_document(document)
    as_admin = trial_transition(session, "ticket", record["id"], "close", package=package)
    assert as_admin["refusal"]["code"] == "role_not_allowed"
    as_member = trial_transition(session, "ticket", record["id"], "close", role="member", package=package)
    assert as_member["outcome"] == "done" and as_member["changes"]["status"] == ["open", "closed"]


def test_a_draft_whose_tables_differ_is_refused_naming_the_difference(desk):
    install, people = desk
    record = ticket(install, people["ann"], "open")
    document = copy.deepcopy(DOC)
    document["entities"][0]["fields"].append({"name": "wechat_id", "type": "string"})
    with pytest.raises(LoomError) as refused:
        trial_transition(install.session("acme", people["ann"]), "ticket", record["id"], "park", comment="ok",
                         package=Package.from_document(document))
    assert refused.value.code == "draft_not_published" and refused.value.status == 409
    assert [(p.path, p.details.get("column")) for p in refused.value.problems] == [
        ("/entities/ticket/fields/wechat_id", "wechat_id")]
    assert "adds the field ticket.wechat_id" in refused.value.message
