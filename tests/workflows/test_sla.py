"""SLA timers (workflows.sla) as specifications, on real databases: timers start with the
state, stop met or late, breach when swept, and every breach escalates exactly once —
also when sweeps run twice or from two threads at once."""

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.actions import ActionSpec
from engine.hookspecs import hookimpl
from engine.plugins import Plugins
from engine.systables import loom_table
from workflows import sla
from workflows.calendar import load_calendar, save_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
ESCALATE_NEW = [{"action": "set_field", "params": {"field": "priority", "value": "high"}},
                {"action": "notify", "params": {"role": "admin"}}]
DESK = {
    "entities": [{"name": "ticket", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "status", "type": "choice", "options": ["new", "open", "waiting", "resolved"]},
        {"name": "priority", "type": "choice", "options": ["low", "high"]},
    ]}],
    "workflows": [{
        "name": "support", "entity": "ticket", "field": "status", "initial": "new",
        "states": [
            {"name": "new", "category": "open",
             "sla": {"timer": "first_response", "within": "4h", "business_hours": True, "escalate": ESCALATE_NEW}},
            {"name": "open", "category": "active",
             "sla": {"timer": "resolution", "within": "2d", "escalate": [{"action": "notify", "params": {}}]}},
            {"name": "waiting", "category": "waiting"},
            {"name": "resolved", "category": "done"},
        ],
        "transitions": [{"name": "take", "from": ["new"], "to": "open"},
                        {"name": "resolve", "from": "*", "to": "resolved"}],
    }],
}


class DeskActions:
    """The two actions the workflow names (the built-in ones are not under test here)."""

    LOOM_PLUGIN_NAME = "test_actions"

    @staticmethod
    @hookimpl
    def loom_actions():
        return {"notify": ActionSpec(run=lambda context, params: {}),
                "set_field": ActionSpec(run=lambda context, params: {})}


@pytest.fixture
def plugins():
    return Plugins(load_entry_points=False, core_plugins=[DeskActions])


@pytest.fixture
def desk(install):
    install.registry.create("desk", "Help desk")
    session = install.session("desk")
    session.apply_metadata(DESK)
    save_calendar(session, {"timezone": "Asia/Shanghai"})
    return session


def workflow(session):
    return session.metadata().package.workflow_for("ticket")


def ticket(session, title="printer on fire"):
    return session.records.create("ticket", {"title": title})["id"]


def start(session, record_id, state, at):
    with session.storage.begin() as conn:
        return sla.start_timers(conn, session.storage.schema, workflow(session), "ticket", record_id,
                                state, at, load_calendar(session))


def stop(session, record_id, state, at):
    with session.storage.begin() as conn:
        return sla.stop_timers(conn, session.storage.schema, "ticket", record_id, state, at)


def rows(session):
    table = loom_table(session.storage.schema, "loom_sla_timers")
    with session.storage.connect() as conn:
        return conn.execute(table.select().order_by(table.c.id)).mappings().all()


class Escalations:
    """An `escalate` callback that remembers every call (thread-safe)."""

    def __init__(self, fail_for=()):
        self.calls, self.fail_for, self.lock = [], set(fail_for), threading.Lock()

    def __call__(self, session, timer, actions):
        if timer["record_id"] in self.fail_for:
            raise RuntimeError("mail server down")
        with self.lock:
            self.calls.append((timer["id"], timer["record_id"], timer["state"], actions))

    @property
    def ids(self):
        return sorted(c[0] for c in self.calls)


FRIDAY_4PM = datetime(2026, 3, 6, 16, 0, tzinfo=SHANGHAI)


# --- starting ----------------------------------------------------------------------------

def test_a_business_hours_timer_is_due_in_business_minutes(desk):
    record_id = ticket(desk)
    timer_id = start(desk, record_id, "new", FRIDAY_4PM)
    [row] = rows(desk)
    assert row["id"] == timer_id and row["status"] == "running"
    assert (row["entity"], row["record_id"], row["state"], row["timer"]) == ("ticket", record_id, "new", "first_response")
    # 2h on Friday, 2h on Monday.
    assert sla.timers_for(desk.storage, "ticket", record_id) == [{
        "id": timer_id, "state": "new", "timer": "first_response", "status": "running",
        "started_at": "2026-03-06T08:00:00Z", "due_at": "2026-03-09T03:00:00Z", "finished_at": None}]


def test_a_calendar_timer_is_due_in_plain_minutes(desk):
    record_id = ticket(desk)
    start(desk, record_id, "open", FRIDAY_4PM)
    [timer] = sla.timers_for(desk.storage, "ticket", record_id)
    assert timer["due_at"] == "2026-03-08T08:00:00Z"     # 48 hours later, weekend or not


def test_a_state_without_sla_starts_nothing(desk):
    record_id = ticket(desk)
    assert start(desk, record_id, "waiting", FRIDAY_4PM) is None
    assert start(desk, record_id, "no_such_state", FRIDAY_4PM) is None
    assert rows(desk) == []


def test_starting_twice_keeps_one_running_timer(desk):
    record_id = ticket(desk)
    first = start(desk, record_id, "new", FRIDAY_4PM)
    assert start(desk, record_id, "new", FRIDAY_4PM + timedelta(minutes=5)) == first
    assert len(rows(desk)) == 1


def test_a_handled_again_event_does_not_restart_a_stopped_timer(desk):
    record_id = ticket(desk)
    start(desk, record_id, "new", FRIDAY_4PM)
    stop(desk, record_id, "new", FRIDAY_4PM + timedelta(minutes=30))
    start(desk, record_id, "new", FRIDAY_4PM)                    # the same event once more
    assert [r["status"] for r in rows(desk)] == ["met"]
    start(desk, record_id, "new", FRIDAY_4PM + timedelta(hours=1))  # re-entering the state later
    assert [r["status"] for r in rows(desk)] == ["met", "running"]


def test_a_business_timer_needs_the_calendar(desk):
    with pytest.raises(ValueError):
        with desk.storage.begin() as conn:
            sla.start_timers(conn, desk.storage.schema, workflow(desk), "ticket", 1, "new", FRIDAY_4PM, None)


# --- stopping ----------------------------------------------------------------------------

def test_leaving_by_the_deadline_is_met(desk):
    record_id = ticket(desk)
    start(desk, record_id, "new", FRIDAY_4PM)
    due = datetime(2026, 3, 9, 11, 0, tzinfo=SHANGHAI)
    assert stop(desk, record_id, "new", due) == {"met": 1, "late": 0, "breached": 0}
    [timer] = sla.timers_for(desk.storage, "ticket", record_id)
    assert (timer["status"], timer["finished_at"]) == ("met", "2026-03-09T03:00:00Z")


def test_leaving_after_the_deadline_before_a_sweep_is_late(desk):
    record_id = ticket(desk)
    start(desk, record_id, "new", FRIDAY_4PM)
    assert stop(desk, record_id, "new", datetime(2026, 3, 9, 11, 1, tzinfo=SHANGHAI))["late"] == 1
    assert sla.timers_for(desk.storage, "ticket", record_id)[0]["status"] == "late"


def test_leaving_after_a_breach_finishes_the_breached_timer(desk):
    record_id = ticket(desk)
    start(desk, record_id, "new", FRIDAY_4PM)
    sla.sweep(desk, datetime(2026, 3, 10, tzinfo=UTC), Escalations())
    left = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert stop(desk, record_id, "new", left) == {"met": 0, "late": 0, "breached": 1}
    assert stop(desk, record_id, "new", left + timedelta(hours=1))["breached"] == 0
    [timer] = sla.timers_for(desk.storage, "ticket", record_id)
    assert (timer["status"], timer["finished_at"]) == ("breached", "2026-03-10T12:00:00Z")


def test_stopping_touches_only_that_record_and_state(desk):
    a, b = ticket(desk), ticket(desk)
    start(desk, a, "new", FRIDAY_4PM)
    start(desk, b, "new", FRIDAY_4PM)
    start(desk, a, "open", FRIDAY_4PM)
    stop(desk, a, "new", FRIDAY_4PM)
    assert [(r["record_id"], r["state"], r["status"]) for r in rows(desk)] == [
        (a, "new", "met"), (b, "new", "running"), (a, "open", "running")]


# --- sweeping ----------------------------------------------------------------------------

def test_sweep_breaches_what_is_due_and_escalates_with_the_state_actions(desk):
    due_early, due_now, not_due = ticket(desk), ticket(desk), ticket(desk)
    start(desk, due_early, "new", FRIDAY_4PM)                                   # due Mon 11:00
    start(desk, due_now, "new", FRIDAY_4PM + timedelta(hours=1))                 # due Mon 12:00
    start(desk, not_due, "open", datetime(2026, 3, 9, 11, 0, tzinfo=SHANGHAI))  # due Wed
    now = datetime(2026, 3, 9, 12, 0, tzinfo=SHANGHAI)
    escalate = Escalations()
    assert sla.sweep(desk, now, escalate) == {"breached": 2, "escalated": 2, "failed": 0}
    assert [(c[1], c[2], c[3]) for c in escalate.calls] == [(due_early, "new", ESCALATE_NEW),
                                                             (due_now, "new", ESCALATE_NEW)]
    assert [r["status"] for r in rows(desk)] == ["breached", "breached", "running"]
    assert sla.sweep(desk, now, escalate) == {"breached": 0, "escalated": 0, "failed": 0}
    assert len(escalate.calls) == 2


def test_the_timer_row_handed_to_escalate(desk):
    record_id = ticket(desk)
    timer_id = start(desk, record_id, "new", FRIDAY_4PM)
    seen = []
    sla.sweep(desk, datetime(2026, 3, 10, tzinfo=UTC), lambda s, timer, actions: seen.append(timer))
    [timer] = seen
    assert timer["id"] == timer_id and timer["status"] == "breached" and timer["finished_at"] is None
    assert timer["due_at"] == datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    assert timer["started_at"] == datetime(2026, 3, 6, 8, 0, tzinfo=UTC)


def test_sweep_works_in_batches(desk):
    with desk.storage.begin() as conn:
        for record_id in range(1, 26):
            sla.start_timers(conn, desk.storage.schema, workflow(desk), "ticket", record_id, "open",
                             FRIDAY_4PM, None)
    escalate = Escalations()
    counts = sla.sweep(desk, FRIDAY_4PM + timedelta(days=3), escalate, batch=10)
    assert counts == {"breached": 25, "escalated": 25, "failed": 0}
    assert sorted(c[1] for c in escalate.calls) == list(range(1, 26))


def test_a_failing_escalation_does_not_stop_the_others_and_is_tried_again(desk):
    a, b = ticket(desk), ticket(desk)
    start(desk, a, "new", FRIDAY_4PM)
    start(desk, b, "new", FRIDAY_4PM)
    now = datetime(2026, 3, 10, tzinfo=UTC)
    escalate = Escalations(fail_for=[a])
    assert sla.sweep(desk, now, escalate, batch=1) == {"breached": 2, "escalated": 1, "failed": 1}
    assert [c[1] for c in escalate.calls] == [b]
    assert [r["status"] for r in rows(desk)] == ["running", "breached"]
    escalate.fail_for.clear()
    assert sla.sweep(desk, now, escalate) == {"breached": 1, "escalated": 1, "failed": 0}
    assert [c[1] for c in escalate.calls] == [b, a]
    assert sla.sweep(desk, now, escalate)["breached"] == 0


def test_a_failed_escalation_of_a_record_that_left_the_state_is_not_retried(desk):
    record_id = ticket(desk)
    start(desk, record_id, "new", FRIDAY_4PM)

    def escalate_while_leaving(session, timer, actions):
        stop(session, record_id, "new", datetime(2026, 3, 10, tzinfo=UTC))
        raise RuntimeError("mail server down")

    assert sla.sweep(desk, datetime(2026, 3, 10, tzinfo=UTC), escalate_while_leaving)["failed"] == 1
    assert [r["status"] for r in rows(desk)] == ["breached"]


def test_escalation_reads_the_current_metadata(desk):
    record_id = ticket(desk)
    start(desk, record_id, "new", FRIDAY_4PM)
    changed = {**DESK, "workflows": [dict(DESK["workflows"][0], states=[
        {"name": "new", "category": "open"}, *DESK["workflows"][0]["states"][1:]])]}
    desk.apply_metadata(changed)
    escalate = Escalations()
    sla.sweep(desk, datetime(2026, 3, 10, tzinfo=UTC), escalate)
    assert [(c[1], c[3]) for c in escalate.calls] == [(record_id, [])]


def test_two_concurrent_sweeps_escalate_each_timer_once(install, desk):
    with desk.storage.begin() as conn:
        for record_id in range(1, 301):
            sla.start_timers(conn, desk.storage.schema, workflow(desk), "ticket", record_id, "open",
                             FRIDAY_4PM, None)
    escalate, barrier, results = Escalations(), threading.Barrier(2), []

    def sweeper():
        session = install.session("desk")
        barrier.wait()
        results.append(sla.sweep(session, FRIDAY_4PM + timedelta(days=3), escalate, batch=7))

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["breached"] for r in results) == 300
    assert len(escalate.ids) == 300 and len(set(escalate.ids)) == 300
    assert sla.sweep(desk, FRIDAY_4PM + timedelta(days=3), escalate)["breached"] == 0


def test_naive_moments_are_refused(desk):
    with pytest.raises(ValueError):
        sla.sweep(desk, datetime(2026, 3, 10), Escalations())


# --- overdue -------------------------------------------------------------------------------

def test_overdue_lists_timers_past_due_still_in_their_state_most_overdue_first_in_batches(desk):
    late, breached, met, not_due = ticket(desk), ticket(desk), ticket(desk), ticket(desk)
    start(desk, breached, "new", FRIDAY_4PM)                                    # due Mon 11:00
    start(desk, late, "new", FRIDAY_4PM + timedelta(hours=1))                   # due Mon 12:00
    start(desk, met, "new", FRIDAY_4PM)
    stop(desk, met, "new", FRIDAY_4PM + timedelta(hours=1))                     # left in time
    start(desk, not_due, "open", datetime(2026, 3, 9, 11, 0, tzinfo=SHANGHAI))  # due Wed
    sla.sweep(desk, datetime(2026, 3, 9, 11, 30, tzinfo=SHANGHAI), Escalations())  # breaches `breached`
    now = datetime(2026, 3, 9, 13, 0, tzinfo=SHANGHAI)
    found = sla.overdue(desk.storage, now)
    assert [(t["record_id"], t["status"]) for t in found] == [(breached, "breached"), (late, "running")]
    assert found[0]["due_at"] == "2026-03-09T03:00:00Z" and found[0]["timer"] == "first_response"
    first = sla.overdue(desk.storage, now, limit=1)
    rest = sla.overdue(desk.storage, now, limit=1, after=(first[0]["due_at"], first[0]["id"]))
    assert [t["record_id"] for t in first + rest] == [breached, late]
    assert sla.overdue(desk.storage, now, after=(rest[0]["due_at"], rest[0]["id"])) == []
    stop(desk, breached, "new", now)  # a breached timer ends when its record leaves the state
    assert [t["record_id"] for t in sla.overdue(desk.storage, now)] == [late]
