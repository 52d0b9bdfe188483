"""How two values of a condition compare: as numbers (decimal text, JSON numbers and
currency amounts alike), as moments (dates at midnight UTC), as multisets (lists of
options), else exactly — typed by the field's base type, or inferred from the values
when it is unknown. The operators' meaning is `metadata.conditions`'; this is only the
comparing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, time, timezone

from .fieldtypes import parse_date, parse_datetime, parse_decimal

NUMERIC = ("integer", "decimal", "currency")
MOMENTS = ("date", "datetime")


def as_number(value):
    """A Decimal from a JSON number, decimal text or currency object (None otherwise)."""
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        value = value["amount"]
    return parse_decimal(value)  # None for booleans, NaN, infinities and other text


def as_moment(value) -> datetime | None:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        moment = datetime.combine(day, time(), tzinfo=timezone.utc) if day is not None else None
    return moment


def _canonical(value) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def _bag(items: list) -> Counter:
    return Counter(_canonical(i) for i in items)


def _coerced(a, b, base: str | None, ordering: bool):
    """``(a, b)`` converted to comparable values, or None when no conversion applies."""
    numeric = base in NUMERIC or (base is None and not isinstance(a, bool) and not isinstance(b, bool))
    if numeric and not (isinstance(a, dict) and isinstance(b, dict)):  # two currency values: compare whole
        x, y = as_number(a), as_number(b)
        literal = any(isinstance(v, (int, float, dict)) for v in (a, b))
        if x is not None and y is not None and (base is not None or ordering or literal):
            return x, y
    if base in MOMENTS or (base is None and isinstance(a, str) and isinstance(b, str)):
        x, y = as_moment(a), as_moment(b)
        if x is not None and y is not None:
            return x, y
    if base in ("multi_choice", None) and isinstance(a, list) and isinstance(b, list):
        return _bag(a), _bag(b)  # options are a set: order does not matter
    return None


def equal(a, b, base: str | None) -> bool:
    pair = _coerced(a, b, base, ordering=False)
    if pair is not None:
        try:
            return pair[0] == pair[1]
        except (OverflowError, TypeError, ValueError):
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b  # true is not 1
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return _canonical(a) == _canonical(b)
    return a == b


def compare(a, b, base: str | None) -> int | None:
    pair = _coerced(a, b, base, ordering=True)
    if pair is None or isinstance(pair[0], Counter):
        return None
    try:
        x, y = pair
        return (x > y) - (x < y)
    except (OverflowError, TypeError, ValueError):
        return None
