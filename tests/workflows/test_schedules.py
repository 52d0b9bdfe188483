"""Scheduled rules (workflows.schedules) as specifications, on real databases: date-based
triggers ("30 days before expiry", birthdays), recurring ones ("every year on 01-01" with a
condition), the tenant-local `at` time, once per record per day, and the checks of the
`schedule` a rule set may carry."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine import effects
from engine.actions import ActionSpec
from engine.hookspecs import hookimpl
from engine.plugins import Plugins
from workflows.calendar import save_calendar
from workflows.rules import check_ruleset
from workflows.schedules import due_rules, recurs_on, run_schedules

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTIFY = [{"action": "notify", "params": {"template": "greeting"}}]
POLICY_RULES = {"name": "policy_reminders", "kind": "automation", "entity": "policy", "rules": [
    {"name": "renewal_notice", "actions": NOTIFY,
     "when": {"event": "timer", "schedule": {"field": "expiry_date", "offset": "-30d"},
              "condition": {"field": "status", "op": "eq", "value": "active"}}},
]}
GREETINGS = {"name": "greetings", "kind": "automation", "entity": "customer", "rules": [
    {"name": "birthday", "actions": NOTIFY,
     "when": {"event": "timer", "schedule": {"field": "birthday", "offset": "0d", "yearly": True}}},
    {"name": "new_year", "actions": NOTIFY,
     "when": {"event": "timer", "schedule": {"every": "year", "on": "01-01", "at": "08:00"},
              "condition": {"field": "consent_marketing", "op": "eq", "value": True}}},
    {"name": "welcome_week", "actions": NOTIFY,
     "when": {"event": "timer", "schedule": {"field": "joined_at", "offset": "7d", "at": "07:00"}}},
    {"name": "monday_digest", "actions": NOTIFY,
     "when": {"event": "timer", "schedule": {"every": "week", "on": "mon", "at": "10:30"}}},
]}
SHOP = {
    "entities": [
        {"name": "policy", "fields": [
            {"name": "holder", "type": "string", "required": True},
            {"name": "expiry_date", "type": "date"},
            {"name": "status", "type": "choice", "options": ["active", "lapsed"]}]},
        {"name": "customer", "fields": [
            {"name": "name", "type": "string", "required": True},
            {"name": "birthday", "type": "date"},
            {"name": "joined_at", "type": "datetime"},
            {"name": "consent_marketing", "type": "boolean", "default": False}]},
    ],
    "rulesets": [POLICY_RULES, GREETINGS],
}
FIELDS = {"policy": {"holder": "string", "expiry_date": "date", "status": "choice"},
          "customer": {"name": "string", "birthday": "date", "joined_at": "datetime",
                       "consent_marketing": "boolean"}}


class ShopActions:
    LOOM_PLUGIN_NAME = "test_actions"

    @staticmethod
    @hookimpl
    def loom_actions():
        return {"notify": ActionSpec(run=lambda context, params: {})}


@pytest.fixture
def plugins():
    return Plugins(load_entry_points=False, core_plugins=[ShopActions])


@pytest.fixture
def shop(install):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(SHOP)
    save_calendar(session, {"timezone": "Asia/Shanghai"})
    return session


class Fire:
    """A `fire` callback that remembers what fired; raises for the records in `fail_for`."""

    def __init__(self, fail_for=()):
        self.calls, self.fail_for = [], set(fail_for)

    def __call__(self, session, ruleset, rule, record, effect_key):
        if record["id"] in self.fail_for:
            raise RuntimeError("SMS gateway down")
        self.calls.append((ruleset["name"], rule["name"], record["id"], effect_key))

    def of(self, rule):
        return sorted(c[2] for c in self.calls if c[1] == rule)


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def add(session, entity, **values):
    return session.records.create(entity, values)["id"]


def backdate(session, entity):
    """As if every record of `entity` was last written yesterday."""
    table = session.metadata().tables[entity]
    with session.storage.begin() as conn:
        conn.execute(table.update().values(updated_at=datetime.now(timezone.utc) - timedelta(days=1)))


def due_names(session, now):
    return sorted(rule["name"] for _, rule, _ in due_rules(session, now))


# --- date-based -----------------------------------------------------------------------------

def test_thirty_days_before_expiry_fires_for_exactly_the_right_records(shop):
    due = add(shop, "policy", holder="Wang", expiry_date="2026-04-01", status="active")
    add(shop, "policy", holder="Li", expiry_date="2026-03-31", status="active")
    add(shop, "policy", holder="Zhao", expiry_date="2026-04-02", status="active")
    lapsed = add(shop, "policy", holder="Sun", expiry_date="2026-04-01", status="lapsed")
    add(shop, "policy", holder="Zhou", status="active")
    fire = Fire()
    counts = run_schedules(shop, at(2026, 3, 2, 9, 5), fire)
    assert [c for c in fire.calls if c[1] == "renewal_notice"] == [
        ("policy_reminders", "renewal_notice", due, f"sched:policy_reminders:renewal_notice:{due}:2026-03-02")]
    assert counts["failed"] == 0
    # The query selects by date in SQL; the condition (status) is applied per record.
    [query] = [q for _, rule, q in due_rules(shop, at(2026, 3, 2, 9, 5)) if rule["name"] == "renewal_notice"]
    with shop.storage.connect() as conn:
        assert sorted(r.id for r in conn.execute(query)) == [due, lapsed]


def test_the_record_handed_to_fire_is_its_json(shop):
    policy = add(shop, "policy", holder="Wang", expiry_date="2026-04-01", status="active")
    seen = []
    run_schedules(shop, at(2026, 3, 2, 9, 5), lambda s, rs, rule, record, key: seen.append(record))
    [record] = [r for r in seen if r.get("holder")]
    assert record["id"] == policy and record["expiry_date"] == "2026-04-01" and record["version"] == 1


def test_today_is_the_tenant_local_date(shop):
    # 2026-03-01T23:30Z is already Monday 2 March, 07:30 in Shanghai.
    local_feb_23 = add(shop, "customer", name="X", joined_at="2026-02-22T20:00:00Z")   # 23 Feb 04:00 local
    add(shop, "customer", name="Y", joined_at="2026-02-23T17:00:00Z")                  # 24 Feb 01:00 local
    add(shop, "customer", name="Z", joined_at="2026-02-22T15:00:00Z")                  # 22 Feb 23:00 local
    fire = Fire()
    run_schedules(shop, datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc), fire)
    assert fire.of("welcome_week") == [local_feb_23]
    assert fire.calls[0][3].endswith(":2026-03-02")


def test_birthdays_fire_every_year_on_month_and_day(shop):
    born = [add(shop, "customer", name="A", birthday="1990-03-02"),
            add(shop, "customer", name="B", birthday="2001-03-02")]
    add(shop, "customer", name="C", birthday="1990-03-03")
    add(shop, "customer", name="D", birthday="1990-02-02")
    add(shop, "customer", name="E")
    fire = Fire()
    run_schedules(shop, at(2026, 3, 2, 9, 0), fire)
    assert fire.of("birthday") == sorted(born)
    fire = Fire()
    run_schedules(shop, at(2027, 3, 2, 9, 0), fire)
    assert fire.of("birthday") == sorted(born)


def test_leap_day_birthdays_fire_on_28_february_in_other_years(shop):
    leap = add(shop, "customer", name="Leap", birthday="1992-02-29")
    feb_28 = add(shop, "customer", name="Feb28", birthday="1990-02-28")
    march_1 = add(shop, "customer", name="Mar1", birthday="1990-03-01")
    expected = {(2027, 2, 28): [leap, feb_28], (2028, 2, 28): [feb_28], (2028, 2, 29): [leap],
                (2027, 3, 1): [march_1]}
    for day, ids in expected.items():
        fire = Fire()
        run_schedules(shop, at(*day, 9, 0), fire)
        assert fire.of("birthday") == sorted(ids), day


# --- recurring -------------------------------------------------------------------------------

def test_new_year_greetings_go_to_every_consenting_customer(shop):
    yes = [add(shop, "customer", name=f"Yes {n}", consent_marketing=True) for n in range(3)]
    add(shop, "customer", name="No", consent_marketing=False)
    add(shop, "customer", name="Default")
    fire = Fire()
    run_schedules(shop, at(2027, 1, 1, 8, 0), fire)
    assert fire.of("new_year") == sorted(yes)
    fire = Fire()
    run_schedules(shop, at(2027, 1, 2, 8, 0), fire)
    assert fire.of("new_year") == []


def test_recurrences_fall_on_their_days():
    assert recurs_on("day", None, date(2026, 3, 2))
    assert recurs_on("week", 1, date(2026, 3, 2)) and not recurs_on("week", 1, date(2026, 3, 3))
    assert recurs_on("month", 15, date(2026, 4, 15)) and not recurs_on("month", 15, date(2026, 4, 16))
    # 31 falls on the last day of a shorter month, and only there.
    assert recurs_on("month", 31, date(2026, 2, 28)) and recurs_on("month", 31, date(2026, 4, 30))
    assert not recurs_on("month", 31, date(2026, 3, 30)) and recurs_on("month", 31, date(2026, 3, 31))
    assert recurs_on("year", (1, 1), date(2027, 1, 1)) and not recurs_on("year", (1, 1), date(2027, 1, 2))
    assert recurs_on("year", (2, 29), date(2027, 2, 28)) and not recurs_on("year", (2, 29), date(2028, 2, 28))


# --- when, and how often ---------------------------------------------------------------------

def test_the_at_time_is_respected_in_tenant_local_time(shop):
    assert "new_year" not in due_names(shop, at(2027, 1, 1, 7, 59))
    assert "new_year" in due_names(shop, at(2027, 1, 1, 8, 0))
    assert due_names(shop, at(2026, 3, 2, 6, 59)) == []
    assert due_names(shop, at(2026, 3, 2, 8, 59)) == ["welcome_week"]
    assert due_names(shop, at(2026, 3, 2, 10, 29)) == ["birthday", "renewal_notice", "welcome_week"]
    assert due_names(shop, at(2026, 3, 2, 23, 59)) == ["birthday", "monday_digest", "renewal_notice",
                                                        "welcome_week"]
    assert "monday_digest" not in due_names(shop, at(2026, 3, 3, 23, 59))      # a Tuesday


def test_repeated_runs_fire_once_per_record_per_day(shop):
    first = add(shop, "customer", name="First", consent_marketing=True)
    fire = Fire()
    run_schedules(shop, at(2027, 1, 1, 8, 0), fire)
    counts = run_schedules(shop, at(2027, 1, 1, 8, 1), fire)
    assert counts["skipped"] == 1 and counts["fired"] == 0
    later = add(shop, "customer", name="Joined at noon", consent_marketing=True)
    run_schedules(shop, at(2027, 1, 1, 12, 0), fire)
    run_schedules(shop, at(2027, 1, 1, 23, 59), fire)
    assert sorted(fire.of("new_year")) == sorted([first, later])
    with shop.storage.connect() as conn:
        assert effects.done(conn, shop.storage.schema, f"sched:greetings:new_year:{first}:2027-01-01")
    run_schedules(shop, at(2028, 1, 1, 8, 0), fire)     # next year: once more each
    assert sorted(fire.of("new_year")) == sorted([first, first, later, later])


def test_a_failing_fire_is_tried_again_on_the_next_run(shop):
    flaky = add(shop, "customer", name="Flaky", consent_marketing=True)
    fine = add(shop, "customer", name="Fine", consent_marketing=True)
    backdate(shop, "customer")
    failing = Fire(fail_for=[flaky])
    counts = run_schedules(shop, at(2027, 1, 1, 8, 0), failing)
    assert (counts["fired"], counts["failed"]) == (1, 1) and failing.of("new_year") == [fine]
    fire = Fire()
    run_schedules(shop, at(2027, 1, 1, 8, 1), fire)
    assert fire.of("new_year") == [flaky]


def test_later_runs_of_the_day_read_only_records_written_since(shop):
    loyal = add(shop, "customer", name="Loyal", consent_marketing=True)
    shy = add(shop, "customer", name="Shy", consent_marketing=False)
    backdate(shop, "customer")
    fire = Fire()
    assert run_schedules(shop, at(2027, 1, 1, 8, 0), fire)["matched"] == 1
    assert run_schedules(shop, at(2027, 1, 1, 8, 1), fire)["matched"] == 0    # nothing written since
    shop.records.update("customer", shy, {"consent_marketing": True})
    assert run_schedules(shop, at(2027, 1, 1, 8, 2), fire)["fired"] == 1
    assert fire.of("new_year") == sorted([loyal, shy])
    # A changed rule reads every record again (and fires nothing twice).
    greetings = {**GREETINGS, "rules": [dict(GREETINGS["rules"][1], description="reworded")]}
    shop.apply_metadata({**SHOP, "rulesets": [POLICY_RULES, greetings]})
    counts = run_schedules(shop, at(2027, 1, 1, 8, 3), fire)
    assert (counts["matched"], counts["skipped"], counts["fired"]) == (2, 2, 0)


def test_naive_now_is_refused(shop):
    with pytest.raises(ValueError):
        run_schedules(shop, datetime(2027, 1, 1, 8, 0), Fire())


# --- checks of the rule set format -----------------------------------------------------------

def test_the_schedules_here_pass_check_ruleset():
    assert check_ruleset(POLICY_RULES, FIELDS["policy"]) == []
    assert check_ruleset(GREETINGS, FIELDS["customer"]) == []


def timer_rule(when):
    return {"name": "rs", "kind": "automation", "entity": "customer",
            "rules": [{"name": "r", "when": when, "actions": NOTIFY}]}


@pytest.mark.parametrize("when,expected", [
    ({"event": "timer"}, [("/rules/0/when/schedule", "missing_schedule")]),
    ({"event": "record.created", "schedule": {"every": "day"}}, [("/rules/0/when/schedule", "schedule_not_allowed")]),
    ({"event": "timer", "schedule": {}}, [("/rules/0/when/schedule", "invalid_schedule")]),
    ({"event": "timer", "schedule": {"field": "birthday", "offset": "-30d", "every": "day"}},
     [("/rules/0/when/schedule", "invalid_schedule")]),
    ({"event": "timer", "schedule": {"field": "name", "offset": "0d"}}, [("/rules/0/when/schedule/field", "not_a_date")]),
    ({"event": "timer", "schedule": {"field": "nope", "offset": "0d"}}, [("/rules/0/when/schedule/field", "unknown_field")]),
    ({"event": "timer", "schedule": {"field": "birthday"}}, [("/rules/0/when/schedule/offset", "missing")]),
    ({"event": "timer", "schedule": {"field": "birthday", "offset": "30"}}, [("/rules/0/when/schedule/offset", "invalid_offset")]),
    ({"event": "timer", "schedule": {"field": "birthday", "offset": "-99999d"}}, [("/rules/0/when/schedule/offset", "invalid_offset")]),
    ({"event": "timer", "schedule": {"field": "birthday", "offset": "0d", "on": "mon"}},
     [("/rules/0/when/schedule/on", "not_allowed_here")]),
    ({"event": "timer", "schedule": {"every": "day", "yearly": True}}, [("/rules/0/when/schedule/yearly", "not_allowed_here")]),
    ({"event": "timer", "schedule": {"every": "day", "on": "mon"}}, [("/rules/0/when/schedule/on", "invalid_on")]),
    ({"event": "timer", "schedule": {"every": "week"}}, [("/rules/0/when/schedule/on", "missing")]),
    ({"event": "timer", "schedule": {"every": "week", "on": "monday"}}, [("/rules/0/when/schedule/on", "invalid_on")]),
    ({"event": "timer", "schedule": {"every": "month", "on": "32"}}, [("/rules/0/when/schedule/on", "invalid_on")]),
    ({"event": "timer", "schedule": {"every": "year", "on": "02-30"}}, [("/rules/0/when/schedule/on", "invalid_on")]),
    ({"event": "timer", "schedule": {"every": "hour"}}, [("/rules/0/when/schedule/every", "invalid_value")]),
    ({"event": "timer", "schedule": {"every": "day", "at": "9:00"}}, [("/rules/0/when/schedule/at", "invalid_time")]),
    ({"event": "timer", "schedule": {"every": "day", "at": "24:00"}}, [("/rules/0/when/schedule/at", "invalid_time")]),
    ({"event": "timer", "schedule": {"every": "day", "when": "now"}}, [("/rules/0/when/schedule/when", "unknown_property")]),
])
def test_check_ruleset_reports_bad_schedules_at_their_path(when, expected):
    problems = check_ruleset(timer_rule(when), FIELDS["customer"])
    assert [(p["field"], p["code"]) for p in problems] == expected, problems


def test_valid_schedules_of_every_kind_pass():
    for schedule in ({"every": "day"}, {"every": "week", "on": "sun", "at": "18:30"}, {"every": "month", "on": "1"},
                     {"every": "month", "on": "31"}, {"every": "year", "on": "02-29"},
                     {"field": "joined_at", "offset": "365d", "yearly": True}, {"field": "created_at", "offset": "-1d"}):
        assert check_ruleset(timer_rule({"event": "timer", "schedule": schedule}), FIELDS["customer"]) == [], schedule


def test_yearly_on_a_datetime_field_uses_the_local_month_and_day(shop):
    document = {**SHOP, "rulesets": [POLICY_RULES, {**GREETINGS, "rules": [
        {"name": "joined", "actions": NOTIFY,
         "when": {"event": "timer", "schedule": {"field": "joined_at", "offset": "0d", "yearly": True}}}]}]}
    shop.apply_metadata(document)
    local_march_2 = add(shop, "customer", name="X", joined_at="2025-03-01T20:00:00Z")   # 2 March 04:00 local
    add(shop, "customer", name="Y", joined_at="2025-03-02T17:00:00Z")                  # 3 March 01:00 local
    add(shop, "customer", name="Z", joined_at="2025-03-01T15:00:00Z")                  # 1 March 23:00 local
    fire = Fire()
    run_schedules(shop, at(2026, 3, 2, 9, 0), fire)
    assert fire.of("joined") == [local_march_2]
