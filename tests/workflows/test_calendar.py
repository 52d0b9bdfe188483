"""Business hours (workflows.calendar) as specifications: business-minute arithmetic over
nights, weekends, holidays and clock changes, and calendars refused with every problem."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import Forbidden, ValidationFailed
from workflows.calendar import BusinessCalendar, business_time, load_calendar, save_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def cal(**overrides):
    return BusinessCalendar.from_settings({"timezone": "Asia/Shanghai", **overrides})


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


# --- arithmetic -------------------------------------------------------------------------

def test_minutes_inside_one_day_stay_on_that_day():
    # Wednesday 2026-03-04 10:00 Shanghai + 4h = 14:00 Shanghai = 06:00 UTC.
    result = cal().add(local(SHANGHAI, 2026, 3, 4, 10, 0), 240)
    assert result == datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
    assert result.tzinfo == UTC


def test_overnight_carries_the_rest_to_the_next_opening():
    # Wednesday 16:00 + 4h: 2h today (to 18:00), 2h from Thursday 09:00 -> 11:00.
    assert cal().add(local(SHANGHAI, 2026, 3, 4, 16, 0), 240) == local(SHANGHAI, 2026, 3, 5, 11, 0)


def test_weekend_is_skipped():
    # Friday 17:00 + 2h: 1h Friday, 1h on Monday -> Monday 10:00.
    assert cal().add(local(SHANGHAI, 2026, 3, 6, 17, 0), 120) == local(SHANGHAI, 2026, 3, 9, 10, 0)


def test_holidays_are_skipped():
    # National day week: Thursday 1 and Friday 2 October are holidays.
    calendar = cal(holidays=["2026-10-01", "2026-10-02"])
    assert calendar.add(local(SHANGHAI, 2026, 9, 30, 17, 0), 120) == local(SHANGHAI, 2026, 10, 5, 10, 0)


def test_starting_outside_hours_counts_from_the_next_opening():
    calendar = cal()
    assert calendar.add(local(SHANGHAI, 2026, 3, 4, 6, 30), 60) == local(SHANGHAI, 2026, 3, 4, 10, 0)
    assert calendar.add(local(SHANGHAI, 2026, 3, 4, 20, 0), 60) == local(SHANGHAI, 2026, 3, 5, 10, 0)
    assert calendar.add(local(SHANGHAI, 2026, 3, 7, 12, 0), 60) == local(SHANGHAI, 2026, 3, 9, 10, 0)  # Saturday


def test_a_deadline_that_uses_up_the_day_ends_at_closing():
    assert cal().add(local(SHANGHAI, 2026, 3, 4, 14, 0), 240) == local(SHANGHAI, 2026, 3, 4, 18, 0)


def test_zero_minutes_is_the_start_itself_even_at_night():
    night = local(SHANGHAI, 2026, 3, 4, 23, 0)
    assert cal().add(night, 0) == night


def test_other_weekdays_and_hours():
    # A Saturday-to-Wednesday shop, 10:00-14:00.
    calendar = cal(days=[6, 7, 1, 2, 3], start="10:00", end="14:00")
    # Wednesday 13:00 + 3h: 1h Wednesday, then Saturday 10:00 + 2h.
    assert calendar.add(local(SHANGHAI, 2026, 3, 4, 13, 0), 180) == local(SHANGHAI, 2026, 3, 7, 12, 0)


def test_spring_forward_in_new_york():
    """Clocks jump from 02:00 to 03:00 on Sunday 8 March 2026: the UTC offset changes
    from -5 to -4 over the weekend, and the deadline is in Monday's local hours."""
    calendar = BusinessCalendar.from_settings({"timezone": "America/New_York"})
    friday = local(NEW_YORK, 2026, 3, 6, 16, 0)           # 21:00 UTC
    monday = calendar.add(friday, 240)                     # 2h Friday, 2h Monday
    assert monday == local(NEW_YORK, 2026, 3, 9, 11, 0)
    assert monday == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def test_hours_spanning_the_change_are_an_hour_shorter():
    """A 24/7-style calendar 00:00-23:59 on Sunday 8 March: that day has one hour less."""
    calendar = BusinessCalendar.from_settings({"timezone": "America/New_York", "days": [7],
                                               "start": "00:00", "end": "23:59"})
    sunday = local(NEW_YORK, 2026, 3, 8, 0, 0)
    assert calendar.add(sunday, 22 * 60 + 59) == local(NEW_YORK, 2026, 3, 8, 23, 59)
    assert calendar.add(sunday, 23 * 60) == local(NEW_YORK, 2026, 3, 15, 0, 1)


def test_naive_start_and_negative_minutes_are_refused():
    with pytest.raises(ValueError):
        cal().add(datetime(2026, 3, 4, 10, 0), 60)
    with pytest.raises(ValueError):
        cal().add(local(SHANGHAI, 2026, 3, 4, 10, 0), -5)


ZONES = ["America/New_York", "Asia/Shanghai", "Europe/Berlin", "UTC"]
CALENDARS = st.builds(
    lambda tz, days, start, length, holidays: BusinessCalendar.from_settings(
        {"timezone": tz, "days": sorted(days), "start": f"{start // 60:02d}:{start % 60:02d}",
         "end": f"{(start + length) // 60:02d}:{(start + length) % 60:02d}",
         "holidays": [(datetime(2026, 1, 1) + timedelta(days=d)).date().isoformat() for d in holidays]}),
    st.sampled_from(ZONES), st.sets(st.integers(1, 7), min_size=1),
    st.integers(0, 12 * 60), st.integers(1, 11 * 60 + 59), st.lists(st.integers(0, 400), max_size=30))
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                       timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, MOMENTS, st.integers(0, 6000), st.integers(0, 6000))
def test_adding_in_two_steps_is_adding_once(calendar, start, m1, m2):
    once = calendar.add(start, m1 + m2)
    assert once == calendar.add(calendar.add(start, m1), m2)
    if m1 + m2 == 0:
        assert once == start
    else:
        assert calendar.is_open(once)
        assert once > start


# --- stored calendars ---------------------------------------------------------------------

def test_default_calendar_is_weekdays_nine_to_six_in_utc(acme):
    calendar = load_calendar(acme)
    assert calendar.to_settings() == {"timezone": "UTC", "days": [1, 2, 3, 4, 5], "start": "09:00",
                                      "end": "18:00", "holidays": []}


def test_default_timezone_comes_from_loom_timezone(backend, tmp_path):
    from engine.install import Install
    from engine.plugins import Plugins
    from tests.conftest import drop_prefixed_schemas, make_settings

    settings = replace(make_settings(backend, tmp_path), extra={"LOOM_TIMEZONE": "Asia/Shanghai"})
    install = Install(settings, Plugins(load_entry_points=False))
    try:
        install.registry.create("tz", "TZ")
        assert load_calendar(install.session("tz")).timezone == "Asia/Shanghai"
    finally:
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)


def test_saved_calendar_is_loaded_and_used(acme):
    saved = save_calendar(acme, {"timezone": "Asia/Shanghai", "holidays": ["2026-10-01"], "end": "17:30"})
    assert saved == {"timezone": "Asia/Shanghai", "days": [1, 2, 3, 4, 5], "start": "09:00",
                     "end": "17:30", "holidays": ["2026-10-01"]}
    assert load_calendar(acme).to_settings() == saved
    save_calendar(acme, {**saved, "end": "18:00"})   # saving again replaces it
    assert load_calendar(acme).end.hour == 18
    assert business_time(acme, local(SHANGHAI, 2026, 9, 30, 17, 0), 120) == local(SHANGHAI, 2026, 10, 2, 10, 0)


def test_bad_calendars_are_refused_with_every_problem(acme):
    bad = {"timezone": "Mars/Olympus", "days": [0, 3, "fri"], "start": "9am", "end": "25:00",
           "holidays": ["2026-02-30", "tomorrow"], "lunch": "12:00"}
    with pytest.raises(ValidationFailed) as caught:
        save_calendar(acme, bad)
    assert caught.value.code == "invalid_business_hours"
    assert sorted(d["field"] for d in caught.value.details) == [
        "days/0", "days/2", "end", "holidays/0", "holidays/1", "lunch", "start", "timezone"]
    assert load_calendar(acme).timezone == "UTC"       # nothing was stored


@pytest.mark.parametrize("value,field", [
    ({"start": "18:00", "end": "09:00"}, "end"),
    ({"start": "09:00", "end": "09:00"}, "end"),
    ({"days": []}, "days"),
    ({"days": [1, 1]}, "days"),
    ({"days": [True]}, "days/0"),
    ({"holidays": "2026-10-01"}, "holidays"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"timezone": 8}, "timezone"),
])
def test_each_bad_setting_is_named(value, field):
    with pytest.raises(ValidationFailed) as caught:
        BusinessCalendar.from_settings(value)
    assert [d["field"] for d in caught.value.details] == [field]


def test_a_non_object_is_refused():
    with pytest.raises(ValidationFailed):
        BusinessCalendar.from_settings(["09:00", "18:00"])


def test_only_admins_save_business_hours(install, acme):
    class Member:
        is_admin = False

    member = install.session("acme", actor=Member())
    with pytest.raises(Forbidden):
        save_calendar(member, {"timezone": "Asia/Shanghai"})
