"""A field's value in a form, both ways: what an input shows for a record's value, what a
submitted input holds, and the record value that stands for. The record form, the list's
bulk edit and the kanban's move dialog all read their inputs here.

Every input's value has one shape, its "input value": text, a list of options for a
multi-choice, `{"amount", "currency"}` for money, a bool for a checkbox. A date and time
is shown and typed in the tenant's time zone (the zone the screens display times in) and
handed to the engine in UTC. Converting and checking values stays the engine's: a text
this module cannot even read (a number that is not a number) goes to the engine as typed,
and its problem comes back from the record service like any other. Only JSON, which has
no typed text the engine could take, is refused here."""
from __future__ import annotations

import json
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import get_timezone, to_user_timezone, to_utc

from engine.whole import whole_number
from engine.jsontext import strict_loads

TEXTAREA_TYPES = ("text", "json")
CHECKED = ("on", "true")  # a checkbox's "on", a yes/no select's "true"
DEFAULT_CURRENCY = "CNY"


def input_value(field: dict, value):
    """What the field's input shows for the record's `value`."""
    base = field["base_type"]
    if base == "boolean":
        return bool(value)
    if base == "multi_choice":
        order = [c["value"] for c in field.get("choices", ())]
        return sorted(value or [], key=lambda v: order.index(v) if v in order else len(order))
    if base == "currency":
        value = value if isinstance(value, dict) else {}
        return {"amount": _text(value.get("amount")), "currency": _text(value.get("currency"))}
    if base == "datetime" and value:
        return _local_text(value)
    if base == "json" and value is not None:
        return json.dumps(value, ensure_ascii=False, indent=1)
    return _text(value)


def as_sent(field: dict, shown):
    """What a browser sends back for an input showing `shown` (an `input_value`) that the
    user left as it was, as `submitted` reads it: a text input's line breaks dropped (browsers
    do) and its outer spaces stripped; a text area's line breaks as LF. An untouched value is
    then never taken for a change."""
    base = field["base_type"]
    if not isinstance(shown, str) or base in ("boolean", "multi_choice", "currency"):
        return shown
    if base in TEXTAREA_TYPES:
        return shown.replace("\r\n", "\n").replace("\r", "\n")
    return shown.replace("\r", "").replace("\n", "").strip()


def submitted(field: dict, form, name: str | None = None) -> object:
    """The field's input value as the form sent it under `name` (the field's name by
    default), in the shape `input_value` gives. Money without a currency input (a dialog
    asking only the amount) is in the field's default currency."""
    name, base = name or field["name"], field["base_type"]
    if base == "boolean":
        return form.get(name) in CHECKED
    if base == "multi_choice":
        return form.getlist(name)
    if base == "currency":
        amount = form.get(name, "").strip()
        currency = form.get(f"{name}__currency") if f"{name}__currency" in form else default_currency(field)
        return {"amount": amount, "currency": currency.strip().upper() if amount else ""}
    if base in TEXTAREA_TYPES:  # browsers send a textarea's line breaks as CR LF
        return form.get(name, "").replace("\r\n", "\n")
    return form.get(name, "").strip()


def record_value(field: dict, raw):
    """The value the record service is given for an input value; `(value, problem)`."""
    base = field["base_type"]
    if raw in ("", None) or raw == []:
        return None, None
    if base == "currency":
        if not raw["amount"]:
            return None, None
        return {"amount": raw["amount"], "currency": raw["currency"] or None}, None
    if base == "integer":
        number = whole_number(raw)
        return (raw, None) if number is None else (number, None)
    if base == "reference":
        number = whole_number(raw, 1)
        return (raw, None) if number is None else (number, None)
    if base == "datetime":
        return _utc_text(raw), None
    if base == "json":
        try:
            return strict_loads(raw), None
        except ValueError:
            return None, _("Enter valid JSON.")
    return raw, None


def time_zone() -> str:
    """The name of the zone a date and time input is typed in (`Asia/Shanghai`)."""
    return str(get_timezone())


def default_currency(field: dict) -> str:
    default = field.get("default")
    return default.get("currency") or DEFAULT_CURRENCY if isinstance(default, dict) else DEFAULT_CURRENCY


def _text(value) -> str:
    return "" if value is None else str(value)


def _local_text(value) -> str:
    """A stored time (ISO 8601, UTC) as a datetime-local input's text in the tenant's zone."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return to_user_timezone(moment).replace(tzinfo=None).isoformat(timespec="minutes")
    except (ValueError, OverflowError):
        return _text(value)


def _utc_text(raw: str) -> str:
    """A typed local time (no offset: the tenant's zone) as the engine's UTC text; a text
    that is not a local time goes as typed, for the engine to report."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if moment.tzinfo is not None:
        return raw
    try:
        return to_utc(moment).isoformat(timespec="seconds") + "Z"
    except (ValueError, OverflowError):
        return raw
