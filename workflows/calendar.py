"""Business hours of a tenant, and arithmetic in business minutes.

Kept in `loom_settings` under the key `business_hours`:
`{"timezone": "Asia/Shanghai", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00",
"holidays": ["2026-10-01"]}` (ISO weekdays, local wall-clock times, local dates). Without
one, a tenant works Monday to Friday, 09:00-18:00, in `LOOM_TIMEZONE` or UTC.

Each business day is the real interval from its local opening to its local closing, so
a day that changes clocks inside the hours is an hour shorter or longer. The calendar's
timezone is the tenant's local time (scheduled rules use it too).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.errors import ValidationFailed
from engine.systables import loom_table

SETTINGS_KEY = "business_hours"
DEFAULTS = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00", "holidays": []}
KEYS = ("timezone", "days", "start", "end", "holidays")
MAX_HOLIDAYS = 2000
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_clock(text) -> time | None:
    """`"09:30"` -> time(9, 30); None unless it is HH:MM (00:00-23:59)."""
    if not isinstance(text, str) or not CLOCK.fullmatch(text):
        return None
    return time(int(text[:2]), int(text[3:]))


def zone(name) -> ZoneInfo | None:
    """The IANA timezone called `name`, or None."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business time needs an aware datetime")
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    days: frozenset
    start: time
    end: time
    holidays: frozenset

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, value, default_timezone: str = "UTC") -> "BusinessCalendar":
        """A calendar from its settings document; keys left out take the defaults.
        ValidationFailed (with a detail per problem) when anything is wrong."""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ValidationFailed("business hours must be an object", code="invalid_business_hours",
                                   details=[{"field": "", "message": "expected an object such as "
                                                                     '{"days": [1, 2, 3, 4, 5], "start": "09:00"}'}])
        problems = [{"field": k, "message": f"unknown setting; expected one of: {', '.join(KEYS)}"}
                    for k in value if k not in KEYS]
        merged = {"timezone": default_timezone, **DEFAULTS, **value}
        problems += _problems(merged)
        if problems:
            raise ValidationFailed(f"the business hours have {len(problems)} problem(s)",
                                   details=problems, code="invalid_business_hours")
        return cls(timezone=merged["timezone"], days=frozenset(merged["days"]),
                   start=parse_clock(merged["start"]), end=parse_clock(merged["end"]),
                   holidays=frozenset(date.fromisoformat(d) for d in merged["holidays"]))

    def to_settings(self) -> dict:
        return {"timezone": self.timezone, "days": sorted(self.days), "start": self.start.strftime("%H:%M"),
                "end": self.end.strftime("%H:%M"), "holidays": sorted(d.isoformat() for d in self.holidays)}

    def is_business_day(self, day: date) -> bool:
        return day.isoweekday() in self.days and day not in self.holidays

    def hours_of(self, day: date) -> tuple[datetime, datetime]:
        """The opening and closing of `day` (a local date) as UTC moments."""
        tz = self.tz
        opening = datetime.combine(day, self.start, tzinfo=tz).astimezone(timezone.utc)
        closing = datetime.combine(day, self.end, tzinfo=tz).astimezone(timezone.utc)
        return opening, closing

    def is_open(self, moment: datetime) -> bool:
        """Within business hours (opening and closing included)."""
        moment = _utc(moment)
        day = moment.astimezone(self.tz).date()
        if not self.is_business_day(day):
            return False
        opening, closing = self.hours_of(day)
        return opening <= moment <= closing

    def add(self, start: datetime, minutes: int) -> datetime:
        """`start` + `minutes` business minutes, as an aware UTC datetime.

        Nights, non-working days and holidays are skipped; starting outside the hours
        counts from the next opening. A deadline that uses up a day ends at its closing
        (not the next opening), so add(a, m1 + m2) == add(add(a, m1), m2). Zero minutes
        return `start` itself.
        """
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise ValueError("minutes must be a whole number >= 0")
        cursor = _utc(start)
        if not self.days:
            raise ValueError("a calendar without working days has no business time")
        if minutes == 0:
            return cursor
        left = timedelta(minutes=minutes)
        day = cursor.astimezone(self.tz).date()
        while True:
            if self.is_business_day(day):
                opening, closing = self.hours_of(day)
                cursor = max(cursor, opening)
                if cursor < closing:
                    if left <= closing - cursor:
                        return cursor + left
                    left -= closing - cursor
            day += timedelta(days=1)


def _problems(value: dict) -> list[dict]:
    problems = []
    if zone(value["timezone"]) is None:
        problems.append({"field": "timezone", "message": f"{value['timezone']!r} is not an IANA timezone "
                                                         "such as 'Asia/Shanghai'"})
    days = value["days"]
    if not isinstance(days, list) or not days:
        problems.append({"field": "days", "message": "expected a non-empty list of ISO weekdays (1 = Monday ... 7 = Sunday)"})
    else:
        bad = [{"field": f"days/{i}", "message": f"{d!r} is not an ISO weekday 1-7"}
               for i, d in enumerate(days) if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7]
        if not bad and len(set(days)) != len(days):
            bad.append({"field": "days", "message": "a weekday is listed twice"})
        problems += bad
    start, end = parse_clock(value["start"]), parse_clock(value["end"])
    for key, parsed in (("start", start), ("end", end)):
        if parsed is None:
            problems.append({"field": key, "message": f"{value[key]!r} is not a time as HH:MM (00:00-23:59)"})
    if start is not None and end is not None and start >= end:
        problems.append({"field": "end", "message": f"closing ({value['end']}) must come after opening "
                                                    f"({value['start']}) on the same day"})
    holidays = value["holidays"]
    if not isinstance(holidays, list):
        problems.append({"field": "holidays", "message": "expected a list of dates as YYYY-MM-DD"})
    elif len(holidays) > MAX_HOLIDAYS:
        problems.append({"field": "holidays", "message": f"at most {MAX_HOLIDAYS} holidays"})
    else:
        problems += [{"field": f"holidays/{i}", "message": f"{h!r} is not a date as YYYY-MM-DD"}
                     for i, h in enumerate(holidays) if not _is_date(h)]
    return problems


def _is_date(text) -> bool:
    if not isinstance(text, str) or not ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def default_timezone(session) -> str:
    return session.install.settings.extra.get("LOOM_TIMEZONE") or "UTC"


def load_calendar(session) -> BusinessCalendar:
    """The tenant's business hours (the defaults when it never saved any)."""
    table = loom_table(session.storage.schema, "loom_settings")
    with session.storage.connect() as conn:
        stored = conn.execute(select(table.c.value).where(table.c.key == SETTINGS_KEY)).scalar()
    return BusinessCalendar.from_settings(stored, default_timezone(session))


def save_calendar(session, value) -> dict:
    """Validate and store the tenant's business hours (admins only); returns them in full."""
    session.require_admin(to="change the business hours")
    calendar = BusinessCalendar.from_settings(value, default_timezone(session))
    document = calendar.to_settings()
    table = loom_table(session.storage.schema, "loom_settings")
    with session.storage.begin() as conn:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(table).values(key=SETTINGS_KEY, value=document)
                     .on_conflict_do_update(index_elements=["key"], set_={"value": document}))
    return document


def business_time(session, start: datetime, minutes: int) -> datetime:
    """`start` + `minutes` business minutes of the session's tenant (aware UTC)."""
    return load_calendar(session).add(start, minutes)
