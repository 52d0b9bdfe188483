"""What each built-in field type allows, and whether a value fits a field.

Kept separate from the validator so the engine can check record values with
the very rules that checked the field's default (``value_problem``).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Mapping

from .model import BUILTIN_FIELD_TYPES, DECIMAL_TYPES, Field
from .regex import compile_pattern, pattern_problem
from .web_address import is_http_url

COMMON_PROPERTIES = frozenset(
    ("name", "type", "label", "help", "required", "unique", "indexed", "pii", "readonly", "hidden", "default",
     "visible_if", "required_if")
)
STRING_TYPES = ("string", "text", "email", "phone", "url")
_TEXT_PROPS = frozenset(("max_length", "pattern"))
_RANGE_PROPS = frozenset(("min", "max"))

# Type-specific properties each built-in type accepts on top of COMMON_PROPERTIES.
_MATCH_PROPS = frozenset(("match", "region", "strict"))  # match keys (metadata.match_checks)
TYPE_PROPERTIES: dict[str, frozenset] = {
    **{t: _TEXT_PROPS | (_MATCH_PROPS if t != "url" else frozenset()) for t in STRING_TYPES},
    "integer": _RANGE_PROPS,
    "decimal": _RANGE_PROPS | {"precision", "scale"},
    "currency": _RANGE_PROPS | {"precision", "scale"},
    "date": _RANGE_PROPS,
    "datetime": _RANGE_PROPS,
    "boolean": frozenset(),
    "json": frozenset(),
    "choice": frozenset(("options",)),
    "multi_choice": frozenset(("options",)),
    "reference": frozenset(("to", "on_delete")),
}
REQUIRED_PROPERTIES: dict[str, tuple] = {"choice": ("options",), "multi_choice": ("options",), "reference": ("to",)}
assert set(TYPE_PROPERTIES) == set(BUILTIN_FIELD_TYPES)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-]{1,30}[0-9]")
_CURRENCY = re.compile(r"[A-Z]{3}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")


def known_types(extra_types: Mapping[str, str] | None = None) -> dict[str, str]:
    """Type name -> base type, built-ins first; rejects a malformed plugin mapping.

    A bad ``extra_types`` is a programming error in a plugin, not a problem in
    the tenant's document, so it raises ``ValueError``.
    """
    types = {t: t for t in BUILTIN_FIELD_TYPES}
    for name, base in (extra_types or {}).items():
        if not isinstance(name, str) or base not in BUILTIN_FIELD_TYPES:
            raise ValueError(f"plugin type {name!r} must map to a built-in type, got {base!r}")
        if types.get(name, base) != base:
            raise ValueError(f"plugin type {name!r} would redefine the built-in type {name!r}")
        types[name] = base
    return types


def show(value, limit: int = 60) -> str:
    """A value as a tenant admin would recognise it, shortened."""
    if isinstance(value, str):
        text = "'" + value + "'"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_date(value) -> date | None:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def parse_datetime(value) -> datetime | None:
    """An ISO 8601 date and time; naive values are taken as UTC so all compare."""
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def parse_decimal(value) -> Decimal | None:
    """A finite number or a plain decimal string such as '-12.50' (no exponent)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex already guards
            return None
    return None


def decimal_digits(number: Decimal) -> tuple[int, int]:
    """(digits before the point, digits after it), ignoring trailing zeros."""
    _, digits, exp = number.as_tuple()
    digits = list(digits)
    if not any(digits):
        return 0, 0
    while exp < 0 and digits[-1] == 0:
        digits.pop()
        exp += 1
    return max(0, len(digits) + exp), max(0, -exp)


def parse_bound(base_type: str, value):
    """A min/max (or value) in comparable form for the type, or None if it does not fit."""
    if base_type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok else None
    if base_type in DECIMAL_TYPES:
        return parse_decimal(value)
    if base_type == "date":
        return parse_date(value)
    if base_type == "datetime":
        return parse_datetime(value)
    return None


BOUND_HINTS = {
    "integer": "a whole number",
    "decimal": "a number or a decimal string such as '12.50'",
    "currency": "a number or a decimal string such as '12.50'",
    "date": "a date 'YYYY-MM-DD'",
    "datetime": "an ISO 8601 date and time such as '2024-05-01T09:30:00Z'",
}


def _range_problem(field: Field, parsed, value) -> str | None:
    low = parse_bound(field.base_type, field.min) if field.min is not None else None
    high = parse_bound(field.base_type, field.max) if field.max is not None else None
    if low is not None and parsed < low:
        return f"{show(value)} is less than min {show(field.min)}"
    if high is not None and parsed > high:
        return f"{show(value)} is greater than max {show(field.max)}"
    return None


def _listing(field: Field) -> str:
    values = [show(v) for v in dict.fromkeys(field.option_values()) if v.strip()]
    return ", ".join(values) or "(none)"


def value_problem(field: Field, value) -> str | None:
    """Why ``value`` cannot be stored in ``field`` (plain words), or None if it fits.

    ``None`` fits unless the field is required.  References accept any
    non-empty id; whether the target row exists is the engine's business.
    """
    if value is None:
        return "a value is required" if field.required else None
    base = field.base_type
    if base in STRING_TYPES:
        if not isinstance(value, str):
            return f"expected text, got {show(value)}"
        if field.max_length is not None and len(value) > field.max_length:
            return f"{show(value)} is {len(value)} characters long, more than max_length {field.max_length}"
        if field.pattern is not None and pattern_problem(field.pattern) is None:
            if not compile_pattern(field.pattern).fullmatch(value):
                return f"{show(value)} does not match the pattern {show(field.pattern)}"
        if base == "email" and not _EMAIL.fullmatch(value):
            return f"{show(value)} is not a plausible email address"
        if base == "phone" and (not _PHONE.fullmatch(value) or sum(c.isdigit() for c in value) < 3):
            return f"{show(value)} is not a plausible phone number"
        if base == "url" and not is_http_url(value):
            return f"{show(value)} is not an http(s) URL"
        return None
    if base == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected a whole number, got {show(value)}"
        if not INT64_MIN <= value <= INT64_MAX:
            return f"{show(value)} does not fit in a 64-bit integer"
        return _range_problem(field, value, value)
    if base == "currency":
        if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
            return f'expected {{"amount": number, "currency": "ISO 4217 code"}}, got {show(value)}'
        if not isinstance(value["currency"], str) or not _CURRENCY.fullmatch(value["currency"]):
            return f"{show(value['currency'])} is not a three-letter ISO 4217 currency code"
        value = value["amount"]
    if base in DECIMAL_TYPES:
        number = parse_decimal(value)
        if number is None:
            return f"expected {BOUND_HINTS[base]}, got {show(value)}"
        if field.precision is not None and field.scale is not None:
            whole, frac = decimal_digits(number)
            if frac > field.scale:
                return f"{show(value)} has {frac} digits after the point; scale allows {field.scale}"
            if whole > field.precision - field.scale:
                return (f"{show(value)} has {whole} digits before the point; precision {field.precision} "
                        f"with scale {field.scale} allows {field.precision - field.scale}")
        return _range_problem(field, number, value)
    if base == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, got {show(value)}"
    if base in ("date", "datetime"):
        parsed = parse_bound(base, value)
        if parsed is None:
            return f"expected {BOUND_HINTS[base]}, got {show(value)}"
        return _range_problem(field, parsed, value)
    if base == "choice":
        if not isinstance(value, str) or value not in field.option_values():
            return f"{show(value)} is not one of the options: {_listing(field)}"
        return None
    if base == "multi_choice":
        if not isinstance(value, list):
            return f"expected a list of options, got {show(value)}"
        allowed = field.option_values()
        for item in value:
            if not isinstance(item, str) or item not in allowed:
                return f"{show(item)} is not one of the options: {_listing(field)}"
        if len(set(value)) != len(value):
            return f"{show(value)} lists an option more than once"
        return None
    if base == "reference":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value)
        return None if ok else f"expected the id of a {field.to or 'target'} record, got {show(value)}"
    return None  # json (and anything else) accepts any JSON value
