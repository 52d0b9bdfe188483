"""The built-in named actions, as specifications, on real tenants (SQLite and PostgreSQL):
each action's effect in the database, idempotency under a retried job (same effect key),
sequences and cursors under concurrent workers, and every params problem `check` names.
The webhook talks to a real `http.server` on a free port."""
from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, update

from engine.actions import ActionContext, ActionFailed, ActionSpec
from engine.auth import create_user
from engine.plugin_session import PluginSession
from engine.records.service import RecordService
from engine.systables import loom_table
from engine import counters
from workflows.actions import builtin_actions
from workflows.calendar import business_time, save_calendar

ACTIONS = builtin_actions()
KEY = "evt-1/r/0"
DOC = {
    "entities": [
        {"name": "service_request", "fields": [
            {"name": "title", "type": "string"},
            {"name": "request_type", "type": "choice", "options": ["complaint", "repair", "inquiry"]},
            {"name": "city", "type": "string"},
            {"name": "tier", "type": "choice", "options": ["regular", "silver", "gold", "diamond"]},
            {"name": "ticket_no", "type": "string", "max_length": 20},
            {"name": "short_no", "type": "string", "max_length": 6},
            {"name": "seq_no", "type": "integer"},
            {"name": "assignee_id", "type": "integer"},
            {"name": "priority", "type": "choice", "options": ["low", "high"]},
            {"name": "opened_at", "type": "datetime"},
            {"name": "opened_on", "type": "date"},
            {"name": "status", "type": "choice", "options": ["new", "working", "resolved", "cancelled"],
             "default": "new"},
        ]},
        {"name": "service_task", "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "request", "type": "reference", "to": "service_request"},
            {"name": "assignee_id", "type": "integer"},
            {"name": "due_at", "type": "datetime"},
            {"name": "kind", "type": "string"},
            {"name": "state", "type": "choice", "options": ["todo", "done"], "default": "todo"},
        ]},
        {"name": "lead", "fields": [{"name": "name", "type": "string"},
                                    {"name": "owner_user", "type": "integer"}]},
    ],
    "workflows": [
        {"name": "service_flow", "entity": "service_request", "field": "status", "initial": "new",
         "states": [{"name": "new", "category": "open"}, {"name": "working", "category": "active"},
                    {"name": "resolved", "category": "done"}, {"name": "cancelled", "category": "cancelled"}],
         "transitions": [{"name": "start", "from": ["new"], "to": "working"},
                         {"name": "resolve", "from": ["new", "working"], "to": "resolved"},
                         {"name": "cancel", "from": "*", "to": "cancelled"}]},
        {"name": "task_flow", "entity": "service_task", "field": "state", "initial": "todo",
         "states": [{"name": "todo", "category": "open"}, {"name": "done", "category": "done"}],
         "transitions": [{"name": "finish", "from": ["todo"], "to": "done"}]},
    ],
    "templates": [{"name": "ack", "subject": {"en": "Ticket {{ record.title }}"},
                   "body": {"en": "Hello {{ recipient.name }}, we have your request."}}],
}


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture
def tenant(install):
    """Tenant `acme` with the service metadata; returns a function giving a fresh system session."""
    install.registry.create("acme", "Acme Service")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    return lambda: install.session("acme")


def add_user(session, email, role="member", territory=None, segments=None, active=True) -> int:
    user = create_user(session.storage, email, role)
    users = loom_table(session.storage.schema, "loom_users")
    with session.storage.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id)
                     .values(territory=territory, segments=segments, active=active))
    return user.id


def new(session, entity="service_request", **values) -> dict:
    return session.records.create(entity, values)


def run(session, action, record, params, key=KEY, entity="service_request"):
    context = ActionContext(session=session, entity=entity, record=record,
                            event={"event": "record.created", "entity": entity, "record_id": record.get("id")},
                            effect_key=key)
    return ACTIONS[action].run(context, params)


def get(session, record, entity="service_request") -> dict:
    return session.records.get(entity, record["id"])


def count(session, entity) -> int:
    table = session.metadata().tables[entity]
    with session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def crash_first_write(monkeypatch):
    """The first record update dies as a worker would (not a refusal: the job is retried)."""
    real, calls = RecordService.update, []

    def update_once(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("worker died")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RecordService, "update", update_once)


def test_the_builtin_actions_are_action_specs_with_descriptions():
    assert set(ACTIONS) == {"set_field", "create_record", "number", "assign", "create_plan",
                            "notify", "webhook", "transition"}
    for spec in ACTIONS.values():
        assert isinstance(spec, ActionSpec) and spec.description and callable(spec.check)


@pytest.mark.parametrize("action, params", [
    ("set_field", {"field": "title", "value": "seen"}),
    ("create_record", {"entity": "service_task", "values": {"title": "follow up"}}),
    ("webhook", {"url": "http://127.0.0.1:9/hook"}),
    ("number", {"field": "ticket_no"}),
    ("assign", {"field": "assignee_id", "strategy": "round_robin"}),
    ("create_plan", {"entity": "service_task", "link_field": "request", "type_field": "request_type",
                     "plans": {"*": [{"title": "call back", "due_in": "1h"}]}}),
    ("notify", {"template": "ack", "to": "role:member", "channel": "in_app"}),
    ("transition", {"name": "start"}),
])
def test_every_builtin_runs_on_the_plugin_session_alone(tenant, monkeypatch, action, params):
    """Every built-in action runs on the documented plugin session, as a plugin's action
    does (its code reaches neither storage nor metadata tables: tests/test_plugin_imports.py)."""
    made, real_init = [], PluginSession.__init__

    def init(self, *args, **kwargs):
        made.append(self)
        real_init(self, *args, **kwargs)

    add_user(tenant(), "m@acme.example")
    monkeypatch.setattr(PluginSession, "__init__", init)
    with pytest.raises(ActionFailed) if action == "webhook" else contextlib.nullcontext():
        outcome = run(tenant().for_actions(), action, new(tenant(), title="t"), params)  # nothing listens on port 9
        assert not outcome.get("skipped") and outcome.get("performed", True) is True
    assert made, "the action ran on the engine's session"


def test_an_effect_remembered_through_the_plugin_session_is_done_once(tenant):
    effects = PluginSession(tenant()).effects
    assert effects.done("probe|webhook") is False
    effects.remember("probe|webhook")
    effects.remember("probe|webhook")
    assert effects.done("probe|webhook") is True
    assert PluginSession(tenant()).effects.done("probe|webhook") is True


# -- set_field ----------------------------------------------------------------------------------
def test_set_field_sets_a_value_and_a_retry_changes_nothing(tenant):
    session = tenant()
    record = new(session, title="Broken screen")
    assert run(session, "set_field", record, {"field": "priority", "value": "high"}) == \
        {"field": "priority", "value": "high", "updated": True}
    after = get(session, record)
    assert after["priority"] == "high" and after["version"] == 2
    again = run(session, "set_field", record, {"field": "priority", "value": "high"})
    assert again["updated"] is False and get(session, record)["version"] == 2


def test_set_field_copies_a_field_and_stamps_now(tenant):
    session = tenant()
    record = new(session, title="Noisy fan", city="Shanghai")
    run(session, "set_field", record, {"field": "title", "value": {"$record": "city"}}, key="k1")
    before = datetime.now(timezone.utc)
    run(session, "set_field", record, {"field": "opened_at", "value": {"$now": True}}, key="k2")
    run(session, "set_field", record, {"field": "opened_on", "value": {"$now": True}}, key="k3")
    after = get(session, record)
    assert after["title"] == "Shanghai"
    stamped = datetime.fromisoformat(after["opened_at"])
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(timezone.utc)
    assert after["opened_on"] == datetime.now(timezone.utc).date().isoformat()


@pytest.mark.parametrize("params, message", [
    ({"field": "nope", "value": 1}, "service_request has no field 'nope'"),
    ({"field": "priority", "value": "urgent"}, "set_field: invalid service_request record"),
    ({"field": "status", "value": "resolved"}, "changes only through a transition"),
    ({"field": "title", "value": {"$record": "nope"}}, "has no field 'nope' to copy"),
])
def test_set_field_failures_are_clear_and_change_nothing(tenant, params, message):
    session = tenant()
    record = new(session, title="x")
    with pytest.raises(ActionFailed, match=message):
        run(session, "set_field", record, params)
    assert get(session, record)["version"] == 1


# -- create_record ------------------------------------------------------------------------------
def test_create_record_links_to_the_triggering_record_once(tenant):
    session = tenant()
    record = new(session, title="Leaking tap")
    params = {"entity": "service_task",
              "values": {"title": {"$record": "title"}, "request": {"$record": "id"}, "kind": "visit"}}
    outcome = run(session, "create_record", record, params)
    assert outcome["created"] is True
    task = session.records.get("service_task", outcome["id"])
    assert (task["title"], task["request"], task["kind"], task["state"]) == \
        ("Leaking tap", record["id"], "visit", "todo")
    assert run(session, "create_record", record, params) == \
        {"entity": "service_task", "created": False, "skipped": "already done for this event"}
    assert count(session, "service_task") == 1


def test_create_record_refusals_are_action_failures(tenant):
    session = tenant()
    record = new(session, title="x")
    with pytest.raises(ActionFailed, match="there is no entity 'ghost'"):
        run(session, "create_record", record, {"entity": "ghost", "values": {}})
    with pytest.raises(ActionFailed, match="create_record: invalid service_task record"):
        run(session, "create_record", record, {"entity": "service_task", "values": {"kind": "x"}})
    assert count(session, "service_task") == 0


# -- number -----------------------------------------------------------------------------------
def seq(session, field="ticket_no"):
    return counters.read(session.storage, f"seq:service_request:{field}")


def test_number_gives_the_next_number_and_skips_numbered_records(tenant):
    session = tenant()
    records = [new(session, title=f"r{i}") for i in range(3)]
    params = {"field": "ticket_no", "prefix": "SR-", "width": 6}
    outcomes = [run(session, "number", r, params, key=f"evt-{i}") for i, r in enumerate(records)]
    assert [o["value"] for o in outcomes] == ["SR-000001", "SR-000002", "SR-000003"]
    assert [get(session, r)["ticket_no"] for r in records] == ["SR-000001", "SR-000002", "SR-000003"]
    assert run(session, "number", records[0], params, key="evt-other") == \
        {"skipped": "ticket_no already has a value", "value": "SR-000001"}
    assert seq(session) == {"next": 4}


def test_number_run_twice_with_one_key_changes_nothing(tenant):
    session = tenant()
    record = new(session, title="r")
    run(session, "number", record, {"field": "seq_no"})
    assert run(session, "number", record, {"field": "seq_no"})["skipped"] == "seq_no already has a value"
    after = get(session, record)
    assert (after["seq_no"], after["version"]) == (1, 2)
    assert seq(session, "seq_no") == {"next": 2}


def test_number_after_a_crash_reuses_the_held_number(tenant, monkeypatch):
    session = tenant()
    first, second = new(session, title="a"), new(session, title="b")
    crash_first_write(monkeypatch)
    with pytest.raises(RuntimeError):
        run(session, "number", first, {"field": "seq_no"}, key="evt-1")
    assert seq(session, "seq_no")["next"] == 2  # taken, held for the record
    assert run(session, "number", first, {"field": "seq_no"}, key="evt-1")["value"] == 1
    assert run(session, "number", second, {"field": "seq_no"}, key="evt-2")["value"] == 2
    assert seq(session, "seq_no") == {"next": 3}  # gapless, and nothing left held


def test_number_refused_by_the_field_gives_the_number_back(tenant):
    session = tenant()
    record = new(session, title="r")
    with pytest.raises(ActionFailed, match="could not set service_request.short_no to 'SR-000001'"):
        run(session, "number", record, {"field": "short_no", "prefix": "SR-", "width": 6})
    assert seq(session, "short_no") == {"next": 1}
    assert run(session, "number", record, {"field": "short_no", "prefix": "N", "width": 5},
               key="evt-2")["value"] == "N00001"


def test_number_needs_a_text_or_integer_field_and_no_prefix_on_integers(tenant):
    session = tenant()
    record = new(session, title="r")
    with pytest.raises(ActionFailed, match="service_request.opened_at is a datetime field"):
        run(session, "number", record, {"field": "opened_at"})
    with pytest.raises(ActionFailed, match="integer field; it takes no prefix"):
        run(session, "number", record, {"field": "seq_no", "prefix": "SR-"})


def test_number_is_unique_and_gapless_across_50_concurrent_workers(tenant):
    session = tenant()
    ids = session.records.create_many("service_request", [{"title": f"r{i}"} for i in range(50)])
    barrier, errors = threading.Barrier(50), []

    def worker(index, record_id):
        try:
            barrier.wait()
            run(tenant(), "number", {"id": record_id}, {"field": "ticket_no", "prefix": "SR-", "width": 4},
                key=f"evt-{index}")
        except Exception as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, rid)) for i, rid in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(session.records.get("service_request", rid)["ticket_no"] for rid in ids)
    assert numbers == [f"SR-{n:04d}" for n in range(1, 51)]
    assert seq(session) == {"next": 51}


def test_one_record_numbered_by_eight_workers_at_once_gets_one_number_and_leaves_no_gap(tenant):
    """Runs for one record (its event handled twice, say) race: the write is conditional on
    the version each read, so one number is written and the others are given back."""
    record = new(tenant(), title="raced")
    barrier, errors, outcomes = threading.Barrier(8), [], []

    def worker(index):
        try:
            barrier.wait()
            outcomes.append(run(tenant(), "number", record, {"field": "ticket_no", "prefix": "SR-", "width": 4},
                                key=f"evt-{index}"))
        except Exception as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert get(tenant(), record)["ticket_no"] == "SR-0001"
    assert sum(1 for o in outcomes if o.get("updated")) == 1
    assert seq(tenant()) == {"next": 2}
    assert run(tenant(), "number", new(tenant(), title="next"), {"field": "ticket_no", "prefix": "SR-",
                                                                 "width": 4}, key="evt-9")["value"] == "SR-0002"


# -- assign -------------------------------------------------------------------------------------
def assignees(session, records, field="assignee_id", entity="service_request"):
    return [session.records.get(entity, r["id"])[field] for r in records]


def test_round_robin_cycles_fairly_over_the_pool_in_id_order(tenant):
    session = tenant()
    a, b, c = (add_user(session, f"{n}@acme.example") for n in "abc")
    add_user(session, "boss@acme.example", "admin")
    add_user(session, "gone@acme.example", active=False)
    records = [new(session, title=f"r{i}") for i in range(7)]
    for i, record in enumerate(records):
        outcome = run(session, "assign", record, {"field": "assignee_id", "strategy": "round_robin",
                                                  "role": "member"}, key=f"evt-{i}")
        assert outcome["strategy"] == "round_robin" and outcome["updated"] is True
    assert assignees(session, records) == [a, b, c, a, b, c, a]
    assert counters.read(session.storage, "rr:service_request:assignee_id") == {"last": a}


def test_round_robin_over_a_list_of_users(tenant):
    session = tenant()
    a, _, c = (add_user(session, f"{n}@acme.example") for n in "abc")
    records = [new(session, title=f"r{i}") for i in range(3)]
    for i, record in enumerate(records):
        run(session, "assign", record, {"field": "assignee_id", "strategy": "round_robin",
                                        "users": ["C@acme.example", "a@acme.example"]}, key=f"evt-{i}")
    assert assignees(session, records) == [a, c, a]


def test_round_robin_retried_with_one_key_keeps_its_turn(tenant, monkeypatch):
    session = tenant()
    a, b = add_user(session, "a@acme.example"), add_user(session, "b@acme.example")
    first, second = new(session, title="1"), new(session, title="2")
    params = {"field": "assignee_id", "strategy": "round_robin", "reassign": True}
    crash_first_write(monkeypatch)
    with pytest.raises(RuntimeError):
        run(session, "assign", first, params, key="evt-1")
    assert run(session, "assign", first, params, key="evt-1")["user_id"] == a  # the held turn
    assert run(session, "assign", first, params, key="evt-1") == {"skipped": "already done for this event"}
    assert run(session, "assign", second, params, key="evt-2")["user_id"] == b
    assert counters.read(session.storage, "rr:service_request:assignee_id") == {"last": b}


def test_assign_skips_an_assigned_record_unless_reassign(tenant):
    session = tenant()
    a, b = add_user(session, "a@acme.example"), add_user(session, "b@acme.example")
    record = new(session, title="r", assignee_id=b)
    params = {"field": "assignee_id", "strategy": "least_loaded"}
    assert run(session, "assign", record, params) == {"skipped": f"assignee_id is already assigned (user {b})"}
    outcome = run(session, "assign", record, {**params, "users": ["a@acme.example"], "reassign": True}, key="k2")
    assert (outcome["user_id"], get(session, record)["assignee_id"]) == (a, a)


def test_least_loaded_counts_only_open_records_of_a_workflow(tenant):
    session = tenant()
    u1, u2, u3 = (add_user(session, f"u{n}@acme.example") for n in (1, 2, 3))
    new(session, title="open", assignee_id=u1)
    new(session, title="open", assignee_id=u3)
    for i in range(3):
        closed = new(session, title=f"closed {i}", assignee_id=u2)
        session.records.write_state("service_request", closed["id"], "resolved" if i else "cancelled")
    record = new(session, title="to assign")
    outcome = run(session, "assign", record, {"field": "assignee_id", "strategy": "least_loaded"})
    assert (outcome["user_id"], outcome["open_records"]) == (u2, 0)
    assert get(session, record)["assignee_id"] == u2


def test_least_loaded_without_a_workflow_counts_every_record_and_ties_go_to_the_lower_id(tenant):
    session = tenant()
    u1, u2, u3 = (add_user(session, f"u{n}@acme.example") for n in (1, 2, 3))
    for owner in (u1, u1, u2, u3):
        new(session, "lead", name="x", owner_user=owner)
    lead = new(session, "lead", name="new lead")
    outcome = run(session, "assign", lead, {"field": "owner_user", "strategy": "least_loaded"}, entity="lead")
    assert (outcome["user_id"], outcome["open_records"]) == (u2, 1)


def test_territory_picks_the_least_loaded_user_of_the_records_territory(tenant):
    session = tenant()
    sh1 = add_user(session, "sh1@acme.example", territory="Shanghai")
    sh2 = add_user(session, "sh2@acme.example", territory="shanghai")
    add_user(session, "bj@acme.example", territory="Beijing")
    new(session, title="busy", assignee_id=sh1)
    record = new(session, title="r", city=" SHANGHAI ")
    params = {"field": "assignee_id", "strategy": "territory", "territory_field": "city"}
    assert run(session, "assign", record, params)["user_id"] == sh2
    far = new(session, title="r", city="Shenzhen")
    with pytest.raises(ActionFailed, match=r"assign \(territory\): no active user whose territory is "
                                           r"'Shenzhen' \(the record's city\)"):
        run(session, "assign", far, params, key="k2")
    nowhere = new(session, title="r")
    with pytest.raises(ActionFailed, match=r"assign \(territory\): the record's city is empty"):
        run(session, "assign", nowhere, params, key="k3")


def test_segment_picks_a_user_serving_the_records_segment(tenant):
    session = tenant()
    add_user(session, "regular@acme.example", segments=["regular"])
    vip = add_user(session, "vip@acme.example", segments=["gold", "diamond"])
    params = {"field": "assignee_id", "strategy": "segment", "segment_field": "tier"}
    gold = new(session, title="r", tier="gold")
    assert run(session, "assign", gold, params)["user_id"] == vip
    silver = new(session, title="r", tier="silver")
    with pytest.raises(ActionFailed, match=r"assign \(segment\): no active user whose segments include 'silver'"):
        run(session, "assign", silver, params, key="k2")


def test_assign_without_candidates_names_the_strategy_and_why(tenant):
    session = tenant()
    add_user(session, "a@acme.example")
    add_user(session, "old@acme.example", "admin", active=False)
    record = new(session, title="r")
    with pytest.raises(ActionFailed, match=r"assign \(round_robin\): no active user with role 'admin' to choose"):
        run(session, "assign", record, {"field": "assignee_id", "strategy": "round_robin", "role": "admin"})
    with pytest.raises(ActionFailed, match=r"assign \(least_loaded\): no active user among old@acme.example"):
        run(session, "assign", record, {"field": "assignee_id", "strategy": "least_loaded",
                                        "users": ["old@acme.example"]})
    with pytest.raises(ActionFailed, match="service_request.title is a string field; it must be integer"):
        run(session, "assign", record, {"field": "title", "strategy": "least_loaded"})
    assert get(session, record)["version"] == 1


# -- create_plan ----------------------------------------------------------------------------------
PLAN = {
    "entity": "service_task", "link_field": "request", "type_field": "request_type",
    "plans": {
        "complaint": [{"title": "Call the customer back", "due_in": "4h", "role": "member",
                       "values": {"kind": "call"}},
                      {"title": "Visit on site", "due_in": "2d", "role": "member"},
                      {"title": "Approve the goodwill refund", "due_in": "30m", "role": "admin"}],
        "*": [{"title": "Answer the question", "due_in": "1d"}],
    },
    "assign": "least_loaded", "assignee_field": "assignee_id", "due_field": "due_at", "title_field": "title",
}


def tasks_of(session, record) -> list[dict]:
    return session.records.list("service_task", [("request", str(record["id"])), ("sort", "id")])["items"]


def due_between(session, before, after, minutes):
    """The business-time bounds of a task due `minutes` after a moment in [before, after]."""
    return (business_time(session, before, minutes) - timedelta(seconds=1),
            business_time(session, after, minutes))


def test_create_plan_builds_the_types_tasks_with_people_and_times(tenant):
    session = tenant()
    m1, m2 = add_user(session, "m1@acme.example"), add_user(session, "m2@acme.example")
    boss = add_user(session, "boss@acme.example", "admin")
    new(session, "service_task", title="earlier open task", assignee_id=m1)
    for i in range(2):
        done = new(session, "service_task", title=f"done {i}", assignee_id=m2)
        session.records.write_state("service_task", done["id"], "done")
    request = new(session, title="Car won't start", request_type="complaint")
    before = datetime.now(timezone.utc)
    outcome = run(session, "create_plan", request, PLAN)
    after = datetime.now(timezone.utc)
    assert (outcome["plan"], outcome["clock"], outcome["created"]) == ("complaint", "business hours", 3)
    tasks = tasks_of(session, request)
    assert [(t["title"], t["assignee_id"], t["state"]) for t in tasks] == [
        ("Call the customer back", m2, "todo"), ("Visit on site", m1, "todo"),
        ("Approve the goodwill refund", boss, "todo")]
    assert tasks[0]["kind"] == "call"
    for task, minutes in zip(tasks, (240, 2880, 30)):
        earliest, latest = due_between(session, before, after, minutes)
        assert earliest <= datetime.fromisoformat(task["due_at"]) <= latest


def test_create_plan_counts_business_hours_of_the_tenants_calendar(tenant):
    session = tenant()
    save_calendar(session, {"timezone": "Asia/Shanghai", "days": [1, 2, 3, 4, 5, 6, 7],
                            "start": "00:00", "end": "23:59"})
    add_user(session, "m1@acme.example")
    request = new(session, title="Where is my order?", request_type="inquiry")
    before = datetime.now(timezone.utc)
    outcome = run(session, "create_plan", request, PLAN)
    after = datetime.now(timezone.utc)
    assert (outcome["plan"], outcome["clock"]) == ("*", "business hours")
    [task] = tasks_of(session, request)
    earliest, latest = due_between(session, before, after, 1440)
    assert earliest <= datetime.fromisoformat(task["due_at"]) <= latest
    assert latest - before > timedelta(minutes=1440)  # a minute a day is closed: more than a calendar day


def test_create_plan_retried_creates_only_the_missing_tasks(tenant):
    session = tenant()
    add_user(session, "m1@acme.example")
    request = new(session, title="Refund please", request_type="complaint")
    with pytest.raises(ActionFailed, match=r"create_plan step 2 \(least_loaded\): no active user with role 'admin'"):
        run(session, "create_plan", request, PLAN)
    assert len(tasks_of(session, request)) == 2
    boss = add_user(session, "boss@acme.example", "admin")
    outcome = run(session, "create_plan", request, PLAN)
    assert outcome["created"] == 1
    assert [t["skipped"] for t in outcome["tasks"][:2]] == ["already created", "already created"]
    assert outcome["tasks"][2]["assignee"] == boss
    assert run(session, "create_plan", request, PLAN)["created"] == 0
    assert [t["title"] for t in tasks_of(session, request)] == [s["title"] for s in PLAN["plans"]["complaint"]]


def test_create_plan_round_robin_spreads_the_steps(tenant):
    session = tenant()
    a, b = add_user(session, "a@acme.example"), add_user(session, "b@acme.example")
    request = new(session, title="r", request_type="repair")
    steps = [{"title": f"step {i}", "due_in": "1h"} for i in range(3)]
    run(session, "create_plan", request, {**PLAN, "plans": {"repair": steps}, "assign": "round_robin"})
    assert [t["assignee_id"] for t in tasks_of(session, request)] == [a, b, a]


def test_create_plan_without_a_plan_for_the_type_fails_clearly(tenant):
    session = tenant()
    request = new(session, title="r", request_type="repair")
    with pytest.raises(ActionFailed, match="no plan for request_type 'repair' and no default"):
        run(session, "create_plan", request, {**PLAN, "plans": {"complaint": PLAN["plans"]["complaint"]}})
    with pytest.raises(ActionFailed, match="service_task.title is a string field; it must be datetime or date"):
        run(session, "create_plan", request, {**PLAN, "due_field": "title"})
    assert count(session, "service_task") == 0


# -- notify ---------------------------------------------------------------------------------------
def test_notify_uses_the_tenants_templates_once_per_event(tenant):
    session = tenant()
    ann = add_user(session, "ann@acme.example")
    record = new(session, title="Broken screen")
    params = {"template": "ack", "to": "user:ann@acme.example", "channel": "in_app"}
    assert run(session, "notify", record, params)["in_app"] == 1
    assert run(session, "notify", record, params)["in_app"] == 0
    notes = loom_table(session.storage.schema, "loom_notifications")
    with session.storage.connect() as conn:
        rows = conn.execute(select(notes.c.user_id, notes.c.title)).all()
    assert [tuple(r) for r in rows] == [(ann, "Ticket Broken screen")]
    with pytest.raises(ActionFailed, match="no message template 'missing'"):
        run(session, "notify", record, {**params, "template": "missing"}, key="k2")


# -- webhook --------------------------------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    """/ok answers 200, /fail 500 "boom", /moved a redirect; every request is kept."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers), "body": self.rfile.read(length)})
        status, body, extra = {"/ok": (200, b'{"ok": true}', {}), "/fail": (500, b"boom", {}),
                               "/moved": (302, b"", {"Location": "/ok"})}.get(self.path.split("?")[0], (404, b"", {}))
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_PATCH = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(install):
    install.settings.extra["LOOM_WEBHOOK_ALLOW_PRIVATE"] = "1"  # the test receiver is on loopback
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_posts_the_event_and_record_with_the_effect_key(tenant, receiver):
    session = tenant()
    record = new(session, title="网站下单失败")
    params = {"url": receiver.url + "/ok", "headers": {"Authorization": "Bearer s3cret"}}
    assert run(session, "webhook", record, params) == {"url": receiver.url + "/ok", "delivered": True, "status": 200}
    [got] = receiver.received
    assert (got["method"], got["path"]) == ("POST", "/ok")
    assert got["headers"]["X-Loom-Effect"] == KEY
    assert got["headers"]["Authorization"] == "Bearer s3cret"
    assert got["headers"]["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(got["body"])
    assert body["record"] == record and body["event"]["event"] == "record.created"
    assert run(session, "webhook", record, params)["skipped"] == "already delivered for this event"
    assert len(receiver.received) == 1


def test_webhook_uses_the_method_given(tenant, receiver):
    session = tenant()
    run(session, "webhook", new(session, title="r"), {"url": receiver.url + "/ok", "method": "PUT"})
    assert receiver.received[0]["method"] == "PUT"


@pytest.mark.parametrize("path, message", [
    ("/fail", r"webhook: http://127.0.0.1:\d+/fail answered 500 .*: boom"),
    ("/moved", r"answered 302"),
])
def test_webhook_non_2xx_answers_are_action_failures(tenant, receiver, path, message):
    session = tenant()
    with pytest.raises(ActionFailed, match=message):
        run(session, "webhook", new(session, title="r"), {"url": receiver.url + path + "?token=hidden"})
    with pytest.raises(ActionFailed) as failed:
        run(session, "webhook", new(session, title="r"), {"url": receiver.url + path + "?token=hidden"})
    assert "hidden" not in str(failed.value)


def test_webhook_to_a_private_address_is_refused_unless_allowed(tenant):
    session = tenant()
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://10.0.0.8/x"):
        with pytest.raises(ActionFailed, match="private or local address"):
            run(session, "webhook", new(session, title="r"), {"url": url, "timeout": 2})


def test_webhook_refused_connection_is_an_action_failure(tenant, install):
    install.settings.extra["LOOM_WEBHOOK_ALLOW_PRIVATE"] = "1"
    session = tenant()
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(ActionFailed, match=rf"webhook: could not reach {url}: .*refused"):
        run(session, "webhook", new(session, title="r"), {"url": url, "timeout": 2})


# -- transition ----------------------------------------------------------------------------------
def test_transition_takes_the_workflow_transition_once(tenant):
    pytest.importorskip("workflows.transitions", reason="workflows.transitions is being written")
    session = tenant()
    record = new(session, title="r")
    assert run(session, "transition", record, {"name": "start"}) == \
        {"transition": "start", "performed": True, "state": "working"}
    assert run(session, "transition", record, {"name": "start"})["skipped"] == "already done for this event"
    after = get(session, record)
    assert (after["status"], after["version"]) == ("working", 2)
    with pytest.raises(ActionFailed, match="transition: 'start' cannot be taken from state 'working'"):
        run(session, "transition", record, {"name": "start"}, key="k2")
    with pytest.raises(ActionFailed, match="has no transition 'fly'"):
        run(session, "transition", record, {"name": "fly"}, key="k3")


# -- check ---------------------------------------------------------------------------------------
GOOD = {
    "set_field": {"field": "priority", "value": {"$record": "tier"}},
    "create_record": {"entity": "service_task", "values": {"request": {"$record": "id"}, "due_at": {"$now": True}}},
    "number": {"field": "ticket_no", "prefix": "SR-", "width": 6},
    "assign": {"field": "assignee_id", "strategy": "territory", "territory_field": "city", "role": "member",
               "users": ["a@acme.example"], "reassign": True},
    "create_plan": PLAN,
    "notify": {"template": "ack", "to": ["role:admin"]},
    "webhook": {"url": "https://hooks.example.com/loom?k=1", "method": "PATCH",
                "headers": {"Authorization": "Bearer x"}, "timeout": 2.5},
    "transition": {"name": "start", "comment": "auto"},
}


@pytest.mark.parametrize("action", sorted(GOOD))
def test_check_accepts_good_params(action):
    assert ACTIONS[action].check(GOOD[action]) == []


def test_a_webhook_to_an_international_host_name_is_accepted_it_is_sent_in_its_xn_form():
    assert ACTIONS["webhook"].check({"url": "https://例子.测试/hook?k=%E8%AE%A2%E5%8D%95"}) == []


def step(**changes):
    return {**PLAN, "plans": {"*": [{"title": "t", "due_in": "1h", **changes}]}}


@pytest.mark.parametrize("action, params, problem", [
    ("set_field", None, "set_field: params must be an object (required keys: field, value)"),
    ("set_field", {"value": 1}, "set_field: field is required"),
    ("set_field", {"field": "x"}, "set_field: value is required"),
    ("set_field", {"field": "Bad Name", "value": 1}, "set_field: field must be an entity or field name"),
    ("set_field", {"field": "x", "value": 1, "extra": 2}, "set_field: unknown parameter 'extra'"),
    ("set_field", {"field": "x", "value": {"$record": 5}}, "set_field: value $record must be an entity or field name"),
    ("set_field", {"field": "x", "value": {"$now": False}}, "set_field: value is not a value expression"),
    ("set_field", {"field": "x", "value": {"$eval": "1+1"}}, "set_field: value is not a value expression"),
    ("create_record", {"values": {}}, "create_record: entity is required"),
    ("create_record", {"entity": "x", "values": []}, "create_record: values must be an object"),
    ("create_record", {"entity": "x", "values": {"Bad": 1}}, "create_record: values: 'Bad' is not a field name"),
    ("create_record", {"entity": "x", "values": {"a": {"$record": "A!"}}},
     "create_record: values.a $record must be an entity or field name"),
    ("number", {}, "number: field is required"),
    ("number", {"field": "n", "width": 0}, "number: width must be a whole number from 1 to 18"),
    ("number", {"field": "n", "width": "6"}, "number: width must be a whole number"),
    ("number", {"field": "n", "width": True}, "number: width must be a whole number"),
    ("number", {"field": "n", "width": 19}, "number: width must be a whole number"),
    ("number", {"field": "n", "prefix": 5}, "number: prefix must be text"),
    ("number", {"field": "n", "prefix": "a\nb"}, "number: prefix must be text"),
    ("assign", {"field": "a", "strategy": "random"},
     "assign: unknown strategy 'random'; use one of round_robin, least_loaded, territory, segment"),
    ("assign", {"strategy": "least_loaded"}, "assign: field is required"),
    ("assign", {"field": "a"}, "assign: strategy is required"),
    ("assign", {"field": "a", "strategy": "territory"}, "assign: the territory strategy needs territory_field"),
    ("assign", {"field": "a", "strategy": "segment"}, "assign: the segment strategy needs segment_field"),
    ("assign", {"field": "a", "strategy": "segment", "segment_field": "Tier!"}, "assign: segment_field must be"),
    ("assign", {"field": "a", "strategy": "round_robin", "role": "boss"}, "assign: role 'boss' is not a role"),
    ("assign", {"field": "a", "strategy": "round_robin", "users": []}, "assign: users must be a list of 1 to"),
    ("assign", {"field": "a", "strategy": "round_robin", "users": ["bob"]},
     "assign: users: 'bob' is not an e-mail address"),
    ("assign", {"field": "a", "strategy": "round_robin", "reassign": "yes"}, "assign: reassign must be true or false"),
    ("create_plan", {k: v for k, v in PLAN.items() if k != "plans"}, "create_plan: plans is required"),
    ("create_plan", {**PLAN, "plans": {}}, "create_plan: plans must be an object of request type"),
    ("create_plan", {**PLAN, "plans": {"*": []}}, "create_plan: plans.* must be a list of 1 to 50 steps"),
    ("create_plan", {**PLAN, "plans": {"*": ["call"]}}, "create_plan: plans.*[0] must be an object"),
    ("create_plan", step(due_in="4 hours"), "create_plan: plans.*[0].due_in must be a duration like"),
    ("create_plan", step(due_in="0h"), "create_plan: plans.*[0].due_in must be a duration like"),
    ("create_plan", step(title=""), "create_plan: plans.*[0].title must be text"),
    ("create_plan", step(owner="x"), "create_plan: plans.*[0]: unknown key 'owner'"),
    ("create_plan", step(role="boss"), "create_plan: plans.*[0].role 'boss' is not a role"),
    ("create_plan", step(values={"kind": {"$now": 1}}), "create_plan: plans.*[0].values.kind is not a value"),
    ("create_plan", {**PLAN, "assign": "random"}, "create_plan: unknown assign strategy 'random'"),
    ("create_plan", {**PLAN, "assign": "territory"}, "create_plan: the territory strategy needs territory_field"),
    ("create_plan", {**PLAN, "due_field": "Due"}, "create_plan: due_field must be an entity or field name"),
    ("notify", {"template": "ack"}, "notify: to is required"),
    ("webhook", {}, "webhook: url is required"),
    ("webhook", {"url": "ftp://example.com/x"}, "webhook: url must use http or https, not 'ftp'"),
    ("webhook", {"url": "file:///etc/passwd"}, "webhook: url must use http or https, not 'file'"),
    ("webhook", {"url": "http://"}, "webhook: url 'http://' names no host"),
    ("webhook", {"url": "http://a b/"}, "webhook: url must be an http:// or https:// address"),
    ("webhook", {"url": "http://example.com:99999/"},
     "webhook: url 'http://example.com:99999/' is not a valid address"),
    ("webhook", {"url": "http://u:p@example.com/"}, "webhook: url must not hold a user name or password"),
    ("webhook", {"url": "http://x.org", "method": "GET"}, "webhook: method must be one of POST, PUT, PATCH"),
    ("webhook", {"url": "http://x.org", "headers": {"X-A": "1\r\nX-Evil: 1"}},
     "webhook: header X-A holds a line break or control character (header injection refused)"),
    ("webhook", {"url": "http://x.org", "headers": {"Bad Name": "x"}}, "webhook: header name 'Bad Name' is not"),
    ("webhook", {"url": "http://x.org", "headers": {"Authorization": "Bearer 令牌"}},
     "webhook: header Authorization holds characters other than ASCII"),
    ("webhook", {"url": "http://x.org/订单"}, "webhook: url 'http://x.org/订单' holds characters other than ASCII"),
    ("webhook", {"url": "http://x.org/?q=订单"}, "webhook: url 'http://x.org/?q=订单' holds characters other than"),
    ("webhook", {"url": "http://faß.de/hook"}, "webhook: url 'http://faß.de/hook' names a host that would be sent as"),
    ("webhook", {"url": "http://ex\u200bample.com/"}, "webhook: url 'http://ex\\u200bample.com/' names a host that"),
    ("webhook", {"url": "http://x.org", "headers": {"x-loom-effect": "k"}},
     "webhook: header x-loom-effect is set by Loom"),
    ("webhook", {"url": "http://x.org", "headers": {"Host": "evil"}}, "webhook: header Host is set by Loom"),
    ("webhook", {"url": "http://x.org", "headers": {"X-N": 5}}, "webhook: header X-N must be text"),
    ("webhook", {"url": "http://x.org", "headers": ["X-A: 1"]}, "webhook: headers must be an object"),
    ("webhook", {"url": "http://x.org", "timeout": 0}, "webhook: timeout must be a number of seconds"),
    ("webhook", {"url": "http://x.org", "timeout": 61}, "webhook: timeout must be a number of seconds"),
    ("webhook", {"url": "http://x.org", "timeout": "10"}, "webhook: timeout must be a number of seconds"),
    ("transition", {"name": 3}, "transition: name must be an entity or field name"),
    ("transition", {"name": "start", "comment": 5}, "transition: comment must be text"),
])
def test_check_names_each_problem(action, params, problem):
    problems = ACTIONS[action].check(params)
    assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.parametrize("action", sorted(GOOD))
def test_run_refuses_params_that_do_not_check(tenant, action):
    session = tenant()
    record = new(session, title="r")
    with pytest.raises(ActionFailed, match=f"^{action}: "):
        run(session, action, record, {"nonsense": True})
    assert get(session, record)["version"] == 1 and count(session, "service_task") == 0
