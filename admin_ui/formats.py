"""How a value looks on a screen, in the request's language: one function per field type,
shared by lists, record pages, kanban cards, calendars and search.

`display(field, value, labels)` takes a field of the screen view (`admin_ui.view`), the
record's value and the labels of referenced records (`reference_labels`, one query per
referenced entity per page, never one per row)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import g
from markupsafe import Markup, escape
from flask_babel import format_currency, format_date, format_datetime, format_decimal
from flask_babel import gettext as _

from admin_ui.view import entity_view

TITLE_FIELDS = ("name", "full_name", "title", "subject", "number", "code", "email")
TITLE_TYPES = ("string", "email", "phone")


def title_field(entity: dict) -> str | None:
    """The field that names a record of `entity` on screens (a reference's label, a card's
    title): the first of TITLE_FIELDS it has, otherwise its first short text field."""
    fields = entity["field_by_name"]
    for name in TITLE_FIELDS:
        if name in fields:
            return name
    for field in entity["fields"]:
        if field["base_type"] in TITLE_TYPES:
            return field["name"]
    return None


def record_title(entity: dict, record: dict) -> str:
    name = title_field(entity)
    value = record.get(name) if name else None
    if value in (None, ""):
        return f"{entity['label']} #{record.get('id')}"
    return str(value)


def reference_labels(records, entity: dict) -> dict:
    """`{(target entity, id): title}` for every reference in `records` that the user may
    read, one list query per referenced entity (ids the user cannot read stay out)."""
    wanted: dict = {}
    for field in entity["fields"]:
        if field["base_type"] == "reference":
            ids = {r.get(field["name"]) for r in records} - {None}
            if ids:
                wanted.setdefault(field["to"], set()).update(ids)
    labels = {}
    for target, ids in wanted.items():
        labels.update(titles_of(target, ids))
    return labels


def titles_of(target: str, ids) -> dict:
    """`{(target, id): title}` of the readable records among `ids` (in chunks of 100)."""
    target_view = entity_view(target)
    if target_view is None:
        return {}
    name = title_field(target_view)
    ids = sorted(ids)
    out = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        params = [("id__in", ",".join(map(str, chunk))), ("limit", str(len(chunk)))]
        if name:
            params.append(("fields", name))
        for record in g.session.records.list(target, params)["items"]:
            out[(target, record["id"])] = record_title(target_view, record)
    return out


def display(field: dict, value, labels=None) -> str:
    """The text of `value` for `field` (empty values are an empty string)."""
    if value is None or value == "" or value == []:
        return ""
    base = field["base_type"]
    if base == "boolean":
        return _("Yes") if value else _("No")
    if base in ("choice",):
        return _choice_label(field, value)
    if base == "multi_choice":
        return ", ".join(_choice_label(field, v) for v in value)
    if base == "reference":
        found = (labels or {}).get((field["to"], value))
        return found if found is not None else f"#{value}"
    if base == "currency" and isinstance(value, dict):
        return money(value.get("amount"), value.get("currency"))
    if base == "decimal":
        return number(value)
    if base == "integer":
        return format_decimal(value)
    if base == "date":
        return day(value)
    if base == "datetime":
        return moment(value)
    if base == "json":
        return str(value)
    return str(value)


def badged(field: dict, value, labels=None) -> Markup:
    """`display` as HTML: a choice whose option has a colour is a badge of that colour
    (`.badge-<colour>` keeps a readable contrast), each of a multi-choice's values its own."""
    colours = {c["value"]: c.get("color") for c in field.get("choices", ())}
    values = value if isinstance(value, list) else [value]
    if field["base_type"] not in ("choice", "multi_choice") or not any(colours.get(v) for v in values
                                                                           if isinstance(v, str)):
        return escape(display(field, value, labels))
    return Markup(" ").join(Markup('<span class="badge badge-{}">{}</span>').format(
        colours.get(v) or "grey", _choice_label(field, v)) for v in values)


def _choice_label(field, value) -> str:
    for choice in field.get("choices", ()):
        if choice["value"] == value:
            return choice["label"] or value
    return str(value)


def number(value) -> str:
    try:
        return format_decimal(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def money(amount, currency) -> str:
    try:
        return format_currency(Decimal(str(amount)), currency or "CNY")
    except (InvalidOperation, ValueError):
        return f"{amount} {currency or ''}".strip()


def day(value) -> str:
    try:
        return format_date(value if isinstance(value, date) else date.fromisoformat(str(value)), "medium")
    except ValueError:
        return str(value)


def moment(value) -> str:
    try:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return format_datetime(parsed, "medium")
    except ValueError:
        return str(value)
