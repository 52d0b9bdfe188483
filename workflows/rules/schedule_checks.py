"""Schedules of timer rules: the parts of `when.schedule` a JSON Schema cannot check
(which keys go together, the date field's type, the offset's range, `on` for each
recurrence) and their parsing, shared by the checker and the scheduler."""
from __future__ import annotations

import re
from datetime import date

from .wording import problem as _problem, show as _show

MAX_OFFSET_DAYS = 36600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DATE_TYPES = ("date", "datetime")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_OFFSET = re.compile(r"^-?[0-9]+d$")
_DAY_OF_MONTH = re.compile(r"^(0?[1-9]|[12][0-9]|3[01])$")
_ON_EXAMPLES = {"week": "a weekday: mon, tue, wed, thu, fri, sat or sun",
                "month": "a day of the month, 1 to 31 (a shorter month fires on its last day)",
                "year": "a month and day as MM-DD, e.g. 01-01 (02-29 fires on 02-28 in other years)"}


def schedule_on(every, on):
    """The parsed `on` of a recurring schedule: a weekday 1-7 (week), a day 1-31 (month),
    (month, day) (year), None for every day; ValueError when it does not fit `every`."""
    if every == "day":
        if on is not None:
            raise ValueError("every day needs no 'on'")
        return None
    if every not in _ON_EXAMPLES:
        raise ValueError("every is day, week, month or year")
    if on is None:
        raise ValueError(f"every {every} needs 'on': {_ON_EXAMPLES[every]}")
    text = on if isinstance(on, str) else ""
    if every == "week" and text in WEEKDAYS:
        return WEEKDAYS.index(text) + 1
    if every == "month" and _DAY_OF_MONTH.fullmatch(text):
        return int(text)
    if every == "year" and _MONTH_DAY.fullmatch(text) and _is_month_day(int(text[:2]), int(text[3:])):
        return int(text[:2]), int(text[3:])
    raise ValueError(f"{_show(on)} does not fit every {every}; expected {_ON_EXAMPLES[every]}")


def _is_month_day(month: int, day: int) -> bool:
    try:
        date(2024, month, day)   # a leap year: 02-29 is a day
    except ValueError:
        return False
    return True


def offset_days(offset) -> int | None:
    """`"-30d"` -> -30; None when malformed or beyond MAX_OFFSET_DAYS."""
    if not isinstance(offset, str) or not _OFFSET.fullmatch(offset):
        return None
    days = int(offset[:-1])
    return days if abs(days) <= MAX_OFFSET_DAYS else None


def schedule_problems(schedule: dict, path: str, fields) -> list[dict]:
    """What the schema cannot say of a schedule: which keys go together, the field's type,
    the offset's range and `on`."""
    dated, recurring = "field" in schedule, "every" in schedule
    if dated == recurring:
        why = "is date-based (field + offset) or recurring (every), not both" if dated else \
            'needs a date field and offset, e.g. {"field": "expiry_date", "offset": "-30d"}, ' \
            'or a recurrence, e.g. {"every": "year", "on": "01-01"}'
        return [_problem(path, "invalid_schedule", f"a schedule {why}")]
    own = ("field", "offset", "yearly") if dated else ("every", "on")
    problems = [_problem(f"{path}/{key}", "not_allowed_here",
                         f"{key!r} belongs to {'recurring' if dated else 'date-based'} schedules")
                for key in ("offset", "yearly", "on") if key in schedule and key not in own]
    if recurring:
        every, on = schedule["every"], schedule.get("on")
        if every in ("day", *_ON_EXAMPLES) and (on is None or isinstance(on, str)):
            try:
                schedule_on(every, on)
            except ValueError as exc:
                problems.append(_problem(f"{path}/on", "missing" if on is None else "invalid_on", str(exc)))
        return problems
    offset = schedule.get("offset")
    if offset is None:
        problems.append(_problem(f"{path}/offset", "missing", "a date-based schedule needs an offset such as -30d or 0d"))
    elif offset_days(offset) is None and isinstance(offset, str) and _OFFSET.fullmatch(offset):
        problems.append(_problem(f"{path}/offset", "invalid_offset", f"an offset is at most {MAX_OFFSET_DAYS} days"))
    name = schedule["field"]
    if fields is not None and isinstance(name, str):
        if name not in fields:
            problems.append(_problem(f"{path}/field", "unknown_field", f"unknown field {name!r}"))
        elif fields[name] not in DATE_TYPES:
            problems.append(_problem(f"{path}/field", "not_a_date",
                                     f"{name!r} is a {fields[name]} field; a schedule needs a date or datetime field"))
    return problems
