"""What the plugin session offers beyond records, on SQLite and PostgreSQL: counters
(sequences, round-robin turns), people, counting records, and the services Loom's
workflows give it (transitions, notifications, business time) — each as a plugin's
code sees it."""
from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import update

from engine.auth import create_user
from engine.counters import read
from engine.plugin_api import ActionFailed, Conflict, PluginFailed, PluginSession, ValidationFailed, hookimpl
from engine.systables import loom_table
from workflows.calendar import business_time, save_calendar
from workflows.notify import inapp

DOC = {
    "entities": [{"name": "ticket", "fields": [
        {"name": "subject", "type": "string", "required": True},
        {"name": "status", "type": "choice", "options": ["new", "working", "closed"], "default": "new"}]}],
    "workflows": [{"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
                   "states": [{"name": "new", "category": "open"}, {"name": "working", "category": "active"},
                              {"name": "closed", "category": "done"}],
                   "transitions": [{"name": "start", "from": ["new"], "to": "working"},
                                   {"name": "close", "from": "*", "to": "closed"}]}],
    "templates": [{"name": "heads_up", "subject": {"en": "Ticket {{ record.subject }}", "zh-CN": "工单 {{ record.subject }}"},
                   "body": {"en": "Have a look, {{ recipient.name }}.", "zh-CN": "请查看。"}}],
}


@pytest.fixture
def desk(install):
    """Tenant `desk` with tickets; returns (engine session, its plugin session)."""
    install.registry.create("desk")
    install.session("desk").apply_metadata(copy.deepcopy(DOC))
    session = install.session("desk")
    return session, PluginSession(session)


def user(session, email, role="member", active=True, territory=None, locale="en") -> int:
    made = create_user(session.storage, email, role, locale=locale)
    users = loom_table(session.storage.schema, "loom_users")
    with session.storage.begin() as conn:
        conn.execute(update(users).where(users.c.id == made.id).values(active=active, territory=territory))
    return made.id


# -- counters ---------------------------------------------------------------------------------
def test_a_sequence_counts_up_holds_a_number_for_its_holder_and_takes_numbers_back(desk):
    session, plugin = desk
    sequence = plugin.counters.sequence("invoice")
    assert [sequence.next() for _ in range(3)] == [1, 2, 3]
    assert sequence.next(holder="inv-a") == 4
    assert sequence.next(holder="inv-a") == 4          # a retry of the same holder: the same number
    assert sequence.next(holder="inv-b") == 5
    sequence.give_back("inv-a", 4)                      # not the last one: handed out again first
    assert read(session.storage, "seq:invoice") == {"next": 6, "free": [4], "held": {"inv-b": 5}}
    sequence.give_back("inv-b", 5)                      # the last one: the sequence steps back
    assert read(session.storage, "seq:invoice") == {"next": 5, "free": [4]}
    sequence.give_back(None, 2)                         # 2 was used by nobody? it is free again
    assert [sequence.next(holder="inv-c"), sequence.next(), sequence.next(), sequence.next()] == [2, 4, 5, 6]
    sequence.release("inv-c")
    assert read(session.storage, "seq:invoice") == {"next": 7}
    assert plugin.counters.sequence("other").next() == 1  # each name its own sequence
    for bad in ("", None, "x" * 201):
        with pytest.raises(ValidationFailed, match="a counter's name is text") as refused:
            plugin.counters.sequence(bad)
        assert (refused.value.code, refused.value.status) == ("bad_counter_name", 400)


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(st.sets(st.integers(1, 50), min_size=1, max_size=6), min_size=1, max_size=8))
def test_turns_go_round_the_ids_given_in_ascending_order(desk, rounds):
    """Whatever ids each call offers, a turn is the first id above the last one given,
    wrapping to the lowest: the model below, kept by the database."""
    _, plugin = desk
    turns, last = plugin.counters.turns(f"desk:{uuid.uuid4().hex}"), None
    for ids in rounds:
        expected = next((i for i in sorted(ids) if last is not None and i > last), min(ids))
        assert turns.next(list(ids)) == expected
        last = expected


def test_a_held_turn_is_given_again_to_its_holder_until_released(desk):
    _, plugin = desk
    turns = plugin.counters.turns("desk:owner")
    assert turns.next([7, 3, 5], holder="evt-1") == 3
    assert turns.next([3, 5, 7], holder="evt-1") == 3
    assert turns.next([3, 5, 7], holder="evt-2") == 5
    turns.release("evt-1")
    assert turns.next([3, 5, 7], holder="evt-1") == 7
    for bad in ([], [1, "2"], [True]):
        with pytest.raises(ValidationFailed, match="non-empty list of ids") as refused:
            turns.next(bad)
        assert refused.value.code == "no_turn_ids"


# -- people -------------------------------------------------------------------------------------
def test_people_are_the_active_users_by_role_or_email_in_id_order(desk):
    session, plugin = desk
    boss = user(session, "boss@desk.example", "admin")
    ann = user(session, "ann@desk.example", territory="上海")
    user(session, "gone@desk.example", active=False)
    bob = user(session, "bob@desk.example", locale="zh-CN")
    assert [p.id for p in plugin.people.active()] == [boss, ann, bob]
    assert [p.email for p in plugin.people.active(role="member")] == ["ann@desk.example", "bob@desk.example"]
    [found] = plugin.people.active(emails=[" BOB@desk.example ", "gone@desk.example"])
    assert (found.id, found.role, found.locale, found.name) == (bob, "member", "zh-CN", "bob@desk.example")
    assert plugin.people.active(role="admin", emails=["ann@desk.example"]) == []
    assert plugin.people.active(emails=["ann@desk.example"])[0].territory == "上海"
    with pytest.raises(ValidationFailed, match="'owner' is not a role") as refused:
        plugin.people.active(role="owner")
    assert refused.value.code == "not_role"
    with pytest.raises(ValidationFailed) as refused:
        plugin.people.active(emails=["x@desk.example"] * 501)
    assert refused.value.code == "too_many_emails"


# -- counting records ---------------------------------------------------------------------------
def test_records_count_matches_the_list_filters_up_to_the_cap(desk):
    _, plugin = desk
    for subject in ("printer", "printer", "scanner"):
        plugin.records.create("ticket", {"subject": subject})
    assert plugin.records.count("ticket") == 3
    assert plugin.records.count("ticket", [("subject", "printer")]) == 2
    assert plugin.records.count("ticket", cap=2) == 2
    assert plugin.records.count("ticket", [("subject__contains", "x")], cap=None) == 0


# -- transitions ------------------------------------------------------------------------------
def test_transitions_take_a_step_once_per_effect_key_and_refuse_illegal_ones(desk):
    session, plugin = desk
    ticket = plugin.records.create("ticket", {"subject": "printer"})["id"]
    assert plugin.transitions.take("ticket", ticket, "start", effect_key="evt-1/0") == \
        {"transition": "start", "performed": True, "state": "working"}
    assert plugin.transitions.take("ticket", ticket, "start", effect_key="evt-1/0") == \
        {"transition": "start", "performed": False, "skipped": "already done for this event"}
    with pytest.raises(Conflict, match="'start' cannot be taken from state 'working'"):
        plugin.transitions.take("ticket", ticket, "start")
    after = session.records.get("ticket", ticket)
    assert (after["status"], after["version"]) == ("working", 2)


# -- notifications ------------------------------------------------------------------------------
def test_notifications_reach_people_by_role_in_their_language_once_per_key(desk):
    session, plugin = desk
    ann = user(session, "ann@desk.example")
    wang = user(session, "wang@desk.example", locale="zh-CN")
    record = plugin.records.create("ticket", {"subject": "打印机"})
    sent = plugin.notifications.send("heads_up", "role:member", "ticket", record, channel="in_app",
                                     effect_key="evt-9/0")
    assert sent == {"sent": 0, "in_app": 2, "skipped": []}
    assert [n["title"] for n in inapp.list_for(session.storage, ann)] == ["Ticket 打印机"]
    assert [n["title"] for n in inapp.list_for(session.storage, wang)] == ["工单 打印机"]
    again = plugin.notifications.send("heads_up", "role:member", "ticket", record, channel="in_app",
                                      effect_key="evt-9/0")
    assert again["in_app"] == 0 and len(inapp.list_for(session.storage, ann)) == 1
    with pytest.raises(ActionFailed, match="no message template 'missing'"):
        plugin.notifications.send("missing", "owner", "ticket", record)


# -- business time ------------------------------------------------------------------------------
def test_calendar_adds_business_minutes_of_the_tenants_hours(desk):
    session, plugin = desk
    start = datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc)   # a Friday, 30 minutes before closing
    assert plugin.calendar.add(start, 60) == datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)
    save_calendar(session, {"timezone": "UTC", "days": [1, 2, 3, 4, 5, 6, 7], "start": "08:00", "end": "20:00"})
    assert plugin.calendar.add(start, 60) == business_time(session, start, 60) == \
        datetime(2026, 12, 4, 18, 30, tzinfo=timezone.utc)


# -- inside a write under way ---------------------------------------------------------------------
class EagerStarter:
    """Tries to take a transition from inside the write of the record (not allowed)."""

    @hookimpl
    def loom_record_before_write(self, event, session):
        if event.entity == "ticket" and event.action == "created":
            session.transitions.take("ticket", 1, "start")


def test_the_workflow_services_refuse_to_run_inside_a_write_under_way(install, plugins):
    plugins.pm.register(EagerStarter(), name="eager")
    install.registry.create("desk", plugins=["eager"])
    install.session("desk").apply_metadata(copy.deepcopy(DOC))
    session = install.session("desk")
    with pytest.raises(PluginFailed, match="session.transitions works outside a write under way") as refused:
        session.records.create("ticket", {"subject": "printer"})
    assert refused.value.code == "service_in_write"
    assert session.records.list("ticket")["items"] == []
