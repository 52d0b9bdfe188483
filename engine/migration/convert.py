"""Converting stored values when a field changes type, so a change that would lose data
can be counted first and refused, and one that loses nothing can be carried out."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal

from engine.crypto.columns import HASH_SUFFIX
from engine.fieldstorage import CURRENCY_SUFFIX, dump_value
from engine.fieldtypes import CONVERTERS, FieldInvalid

INTEGER_RE = re.compile(r"^[+-]?\d+$")
STRINGY = {"string", "text", "email", "phone", "url", "choice"}


def base_of(field) -> str:
    return field.base_type or field.type


def stored_value(field, row) -> object:
    """The field's value as the old column(s) hold it, in its JSON form."""
    base = base_of(field)
    if base == "currency":
        amount = row[field.name]
        if amount is None:
            return None
        return {"amount": str(amount), "currency": row[field.name + CURRENCY_SUFFIX]}
    return dump_value(base, row[field.name])


def column_values(field, value) -> dict:
    """Column name -> value for a converted value of `field` (currency takes two columns)."""
    if base_of(field) == "currency":
        amount, code = (None, None) if value is None else (value["amount"], value["currency"])
        return {field.name: amount, field.name + CURRENCY_SUFFIX: code}
    if field.encrypted:  # the column types encrypt the value and hash it
        return {field.name: value, field.name + HASH_SUFFIX: value}
    return {field.name: value}


def convert(old_field, new_field, value):
    """The value for `new_field`, or FieldInvalid when it cannot be kept exactly."""
    if value is None:
        return None
    old, new = base_of(old_field), base_of(new_field)
    if old == "currency" or new == "currency":
        if old != new:
            raise FieldInvalid("a currency amount cannot be converted to or from another type")
        return CONVERTERS[new](new_field, value)
    return CONVERTERS[new](new_field, _coerce(new, value))


def _coerce(new: str, value):
    if new in STRINGY:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        return str(value)
    if new in ("integer", "reference"):
        if isinstance(value, str) and INTEGER_RE.match(value.strip()):
            return int(value.strip())
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (str, Decimal)):
            try:
                number = Decimal(value)
            except ArithmeticError:
                return value
            if number == number.to_integral_value():
                return int(number)
        return value
    if new == "decimal":
        return str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else value
    if new == "boolean":
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
        if value in (0, 1) and not isinstance(value, bool):
            return bool(value)
        return value
    if new == "datetime" and isinstance(value, str) and len(value) == 10:
        try:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc)
        except ValueError:
            return value
    if new == "multi_choice" and isinstance(value, str):
        return [value]
    return value
