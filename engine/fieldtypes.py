"""Field types: how a value of each metadata type is checked, and read from a query string.

One converter per type is the single source of truth for validation; the marshmallow
schemas (`engine.schemas`) and the fast batch loader (`engine.records.loader`) both
call it, so a value is judged the same way on every path. How each type is stored and
written out as JSON is `engine.fieldstorage`'s.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Context, Decimal
from functools import lru_cache
from typing import Callable

from engine.currencies import ISO_4217
from engine.normalise import phone_valid
from engine.problem_codes import check
from metadata.errors import Problem
from metadata.fieldtypes import INT64_MAX, INT64_MIN
from metadata.text_checks import UNSTORABLE
from metadata.regex import compile_pattern, pattern_problem
from metadata.web_address import is_http_url

INT64 = INT64_MAX  # a BIGINT's range: INT64_MIN to INT64_MAX (metadata.fieldtypes)
MAX_JSON_DEPTH = 32
# Patterns are used with fullmatch: `$` would let a trailing newline through.
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")
PHONE_RE = re.compile(r"\+?[0-9][0-9 ().\-]{1,30}[0-9]")
DECIMAL_RE = re.compile(r"[+-]?[0-9]{1,100}(\.[0-9]{1,100})?")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?")
_THREE_DIGITS = re.compile(r"(?:[^0-9]*[0-9]){3}")  # (a phone's digits are ASCII: PHONE_RE)
STRING_TYPES = {"string", "text", "email", "phone", "url", "choice"}


class FieldInvalid(ValueError):
    """A value that does not fit its field: the English message the API shows as is, and
    a `code` of `engine.problem_codes` with its details (default `invalid`: a plugin's
    words, with no code of their own)."""

    def __init__(self, message: str, code: str = "invalid", **details):
        check(code, details)
        super().__init__(message)
        self.code, self.details = code, details

    def problem(self, path: str) -> Problem:
        return Problem(path, self.code, str(self), self.details)


@dataclass(frozen=True)
class CustomFieldType:
    """A field type a plugin adds: stored and checked as `base`, then by `validate`.

    `validate(value)` returns the (possibly normalised) value or raises ValueError
    with a message for the user."""

    name: str
    base: str
    validate: Callable
    description: str = ""


# -- converters: JSON value -> Python value for the column --------------------------

def _string(field, value):
    if not isinstance(value, str):
        raise FieldInvalid("must be a string", "not_text")
    if field.max_length is not None and len(value) > field.max_length:
        raise FieldInvalid(f"must be at most {field.max_length} characters (got {len(value)})", "too_long",
                           max=field.max_length, length=len(value))
    if UNSTORABLE.search(value):
        raise FieldInvalid("must be text without NUL characters or unpaired surrogates", "unstorable_text")
    if getattr(field, "strict", False) and not phone_valid(value, field.region):  # a strict phone match
        raise FieldInvalid(f"{_short(value)} is not a phone number in use"
                           f"{' in ' + field.region if field.region else ''}", "not_phone")
    return value


def _email(field, value):
    value = _string(field, value)
    if not EMAIL_RE.fullmatch(value) or len(value) > 254:
        raise FieldInvalid(f"{_short(value)} is not a valid e-mail address", "not_email")
    return value


def _phone(field, value):
    value = _string(field, value)
    if not PHONE_RE.fullmatch(value) or not _THREE_DIGITS.match(value):
        raise FieldInvalid(f"{_short(value)} is not a valid phone number", "not_phone")
    return value


def _url(field, value):
    value = _string(field, value)
    if not is_http_url(value):
        raise FieldInvalid(f"{_short(value)} is not a valid http(s) URL", "not_url")
    return value


def _choice(field, value):
    if not isinstance(value, str) or value not in field.option_set:
        raise _not_option(field, value)
    return value


def _not_option(field, value) -> FieldInvalid:
    options = list(field.option_values())
    return FieldInvalid(f"{_short(value)} is not one of: {', '.join(options)}", "not_option", options=options)


def _multi_choice(field, value):
    if not isinstance(value, list):
        raise FieldInvalid("must be a list of options", "not_option_list")
    allowed = field.option_set
    bad = [v for v in value if not isinstance(v, str) or v not in allowed]
    if bad:
        raise _not_option(field, bad[0])
    if len(set(value)) != len(value):
        raise FieldInvalid("must not repeat an option", "repeated_option")
    return value


def _integer(field, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldInvalid("must be a whole number", "not_integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise FieldInvalid("is out of range for a whole number", "out_of_range")
    return _in_range(field, value)


def _to_decimal(field, value) -> Decimal:
    """A JSON number, a plain decimal string ('-12.50', no exponent) or a Decimal,
    with at most `scale` decimal places and `precision - scale` digits before the point."""
    if isinstance(value, bool):
        raise FieldInvalid("must be a number", "not_number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldInvalid("must be a finite number", "not_number")
        number = Decimal(repr(value))
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if not DECIMAL_RE.fullmatch(value):
            raise FieldInvalid(f"{_short(value)} is not a number such as '12.50'", "not_number")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        raise FieldInvalid("must be a number", "not_number")
    if not number.is_finite():
        raise FieldInvalid("must be a finite number", "not_number")
    precision, scale = field.precision or 18, field.scale if field.scale is not None else 2
    if number and number.adjusted() >= precision - scale:
        raise FieldInvalid(f"must have at most {precision - scale} digits before the decimal point",
                           "too_many_digits", digits=precision - scale)
    quantum, context = _quantizing(precision, scale)
    rounded = number.quantize(quantum, context=context)
    if rounded != number:
        raise FieldInvalid(f"must have at most {scale} decimal places", "too_many_decimals", places=scale)
    return abs(rounded) if not rounded else rounded  # no negative zero: the databases drop its sign


@lru_cache(maxsize=None)
def _quantizing(precision: int, scale: int) -> tuple[Decimal, Context]:
    """The quantum of `scale` places and a context with room for the digits a value may
    bring (built once per precision and scale: a value is checked in every row)."""
    return Decimal(1).scaleb(-scale), Context(prec=precision + scale + 2)


def _decimal(field, value):
    return _in_range(field, _to_decimal(field, value))


def _boolean(field, value):
    if not isinstance(value, bool):
        raise FieldInvalid("must be true or false", "not_boolean")
    return value


def _date(field, value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return _in_range(field, value)
    if not isinstance(value, str):
        raise FieldInvalid("must be a date as YYYY-MM-DD", "not_date")
    try:
        if not DATE_RE.fullmatch(value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        raise FieldInvalid(f"{_short(value)} is not a date as YYYY-MM-DD", "not_date") from None
    return _in_range(field, parsed)


def parse_datetime(value) -> datetime:
    """An aware datetime in UTC; a value without an offset is taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        invalid = FieldInvalid(f"{_short(value)} is not an ISO 8601 date and time such as '2024-05-01T09:30:00Z'",
                               "not_datetime")
        if not DATETIME_RE.fullmatch(value):
            raise invalid
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise invalid from None
    else:
        raise FieldInvalid("must be an ISO 8601 date and time", "not_datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise FieldInvalid(f"{_short(str(value))} is outside the years 1 to 9999 in UTC", "out_of_range") from None


def _datetime(field, value):
    return _in_range(field, parse_datetime(value))


def _reference(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > INT64:
        raise FieldInvalid(f"must be the id (a whole number) of a record in {field.to}", "not_reference",
                           entity=field.to)
    return value


def _currency(field, value):
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise FieldInvalid('must be {"amount": number, "currency": "ISO 4217 code"}', "not_money")
    code = value["currency"]
    if not isinstance(code, str) or code not in ISO_4217:
        raise FieldInvalid(f"{_short(code)} is not an ISO 4217 currency code such as 'EUR'", "not_currency")
    return {"amount": _in_range(field, _to_decimal(field, value["amount"])), "currency": code}


def _json(field, value):
    """Any JSON value both backends can store: finite numbers, text keys, no NUL."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise FieldInvalid(f"is nested more than {MAX_JSON_DEPTH} levels deep", "not_json")
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str) or UNSTORABLE.search(key):
                    raise FieldInvalid("must have text keys without NUL characters", "not_json")
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            if UNSTORABLE.search(item):
                raise FieldInvalid("must hold text without NUL characters or unpaired surrogates", "not_json")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise FieldInvalid("must hold only finite numbers", "not_json")
        elif item is not None and not isinstance(item, (bool, int)):
            raise FieldInvalid("must be a JSON value", "not_json")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _in_range(field, value):
    if field.min is None and field.max is None:
        return value
    low, high = _bound(field, field.min), _bound(field, field.max)
    if low is not None and value < low:
        raise FieldInvalid(f"must be at least {field.min}", "below_min", min=field.min)
    if high is not None and value > high:
        raise FieldInvalid(f"must be at most {field.max}", "above_max", max=field.max)
    return value


def _bound(field, bound):
    return None if bound is None else _parsed_bound(field.base_type or field.type, bound)


@lru_cache(maxsize=4096)
def _parsed_bound(base: str, bound):
    """A field's `min` or `max` as a value of its type (parsed once: every row is checked)."""
    if base == "date":
        return date.fromisoformat(bound)
    if base == "datetime":
        return parse_datetime(bound)
    if base in ("decimal", "currency"):
        return Decimal(str(bound))
    return bound


def _with_pattern(convert):
    def checked(field, value):
        value = convert(field, value)
        if field.pattern:
            problem = pattern_problem(field.pattern)  # stored before patterns had their dialect
            if problem:
                raise FieldInvalid(f"the field's pattern {field.pattern} cannot be checked ({problem}); "
                                   "an admin must change it", "broken_pattern", pattern=field.pattern)
            if not compile_pattern(field.pattern).fullmatch(value):
                raise FieldInvalid(f"{_short(value)} does not match the pattern {field.pattern}", "pattern_mismatch",
                                   pattern=field.pattern)
        return value
    checked.unchecked = convert
    return checked


def converter_of(field):
    """The converter of `field`'s type, without the pattern check's step when the field
    has no pattern (the batch loader looks it up once per field, then runs it per row)."""
    convert = CONVERTERS[field.base_type or field.type]
    return convert if field.pattern else getattr(convert, "unchecked", convert)


CONVERTERS = {
    "string": _with_pattern(_string),
    "text": _with_pattern(_string),
    "email": _with_pattern(_email),
    "phone": _with_pattern(_phone),
    "url": _with_pattern(_url),
    "choice": _choice,
    "multi_choice": _multi_choice,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "reference": _reference,
    "currency": _currency,
    "json": _json,
}


# -- query-string values ------------------------------------------------------------

def parse_query_value(field, raw: str):
    """A value from the query string, converted as the field's type wants it."""
    base = field.base_type or field.type
    if base in ("integer", "reference"):
        try:
            value = int(raw)
        except ValueError:
            raise FieldInvalid(f"{raw!r} is not a whole number", "not_integer") from None
        if not INT64_MIN <= value <= INT64_MAX:
            raise FieldInvalid(f"{raw!r} is out of range", "out_of_range")
        return value
    if base in ("decimal", "currency"):
        return _to_decimal(field, raw)
    if base == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise FieldInvalid(f"{raw!r} is not true or false", "not_boolean")
    if base == "date":
        return _date(_unbounded(field), raw)
    if base == "datetime":
        return parse_datetime(raw)
    if base in ("choice", "multi_choice"):  # one option: a misspelt one is an error, not "no match"
        return _choice(field, raw)
    if base == "json":
        raise FieldInvalid("cannot be filtered by value", "not_filterable")
    return raw


def _unbounded(field):
    return field.__class__(name=field.name, type=field.type, label={}, base_type=field.base_type)
