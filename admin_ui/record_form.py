"""A record's form: which fields it shows in which sections, the text each input starts
with, and the values a submitted form hands the record service.

Every input's value is compared in one shape, its "input value" (text, a list of options
for a multi-choice, `{"amount", "currency"}` for money, a bool for a checkbox): what the
form showed and what came back are equal exactly when the user left the field alone, so an
edit sends only what the user changed and a stale edit can tell the user's changes from
the other person's. Converting and checking values stays the engine's: a value this module
cannot even read (a date that is not a date) goes to the engine as typed, and its problem
comes back from the record service like any other."""
from __future__ import annotations

import json

from flask_babel import gettext as _

from admin_ui import form_layout
from admin_ui.inputs import whole_number
from admin_ui.view import screen_view

FALLBACK_COLUMNS = 2
TEXTAREA_TYPES = ("text", "json")
SHOWN = "_shown"  # a hidden input per field the form drew: a field it did not draw is left as it is
INPUT_TYPES = {"email": "email", "phone": "tel", "url": "url", "date": "date",
               "datetime": "datetime-local", "integer": "number", "decimal": "number"}


def layout_of(entity: dict, kind: str) -> dict | None:
    """The entity's first layout of `kind` (`form` or `list`), as the screen view has it."""
    return next((item for item in screen_view()["layouts"]
                 if item["entity"] == entity["name"] and item["kind"] == kind), None)


def summary_fields(entity: dict, skip, count: int) -> list[dict]:
    """The first `count` fields that sum a record up (a header, a related list's row): its
    list layout's columns, else its fields, without the field names in `skip`."""
    layout = layout_of(entity, "list")
    names = [c["name"] for c in layout["columns"]] if layout else [f["name"] for f in entity["fields"]]
    fields = entity["field_by_name"]
    return [fields[n] for n in names if n in fields and n not in skip][:count]


def sections(entity: dict) -> list[dict]:
    """The entity's form layout's sections (`label`, `columns`, `visible_if`, `fields` as
    field views), or one section of every field when the entity has no form layout. Every
    section and field, whatever the conditions: `arranged` says which show."""
    layout = layout_of(entity, "form")
    if layout is None:
        return [{"name": "main", "label": entity["label"], "columns": FALLBACK_COLUMNS,
                 "fields": list(entity["fields"])}]
    fields = entity["field_by_name"]
    return [{"name": section["name"], "label": section["label"], "columns": section["columns"],
             "visible_if": section.get("visible_if"),
             "fields": [fields.get(item["name"]) or _system_field(item) for item in section["fields"]]}
            for section in layout["sections"]]


def arranged(entity: dict, record: dict, chosen: str | None = None, problems=None) -> dict:
    """The form as it shows on `record` (a record in JSON form, saved or not): `sections`,
    `tabs` (see `form_layout.arranged`), the `label` of its tab list and `refresh`, the
    fields whose change asks the server to draw it again."""
    layout = layout_of(entity, "form") or {}
    every = sections(entity)
    out = form_layout.arranged(entity, every, layout.get("tabs", []), record, chosen, problems)
    out.update(label=layout.get("label") or entity["label"], refresh=form_layout.condition_fields(entity, every))
    return out


def unsaved(entity: dict, record: dict | None, inputs: dict) -> dict:
    """`record` (JSON form; None for a new one) with the form's input values in its place, as
    the record service would read them: what the form's conditions are judged on."""
    fields = entity["field_by_name"]
    return {**(record or {}), **{name: as_value(fields[name], raw) for name, raw in inputs.items() if name in fields}}


def _system_field(item: dict) -> dict:
    """A system column placed in a layout (created_at, owner_id…): shown, never edited."""
    base = "datetime" if item["name"].endswith("_at") else "integer"
    return {"name": item["name"], "label": item["label"], "type": base, "base_type": base,
            "readonly": True, "required": False, "system": True}


def state_field(entity: dict) -> str | None:
    workflow = screen_view()["workflow_by_entity"].get(entity["name"])
    return workflow["field"] if workflow else None


def editable(entity: dict, field: dict) -> bool:
    """Whether the form offers an input for `field`: not readonly, not a system column, not
    the workflow's state (which only transitions change)."""
    return not (field.get("readonly") or field.get("system") or field["name"] == state_field(entity))


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
    if base == "datetime" and isinstance(value, str):
        return value[:16]  # YYYY-MM-DDTHH:MM, in UTC as stored
    if base == "json" and value is not None:
        return json.dumps(value, ensure_ascii=False, indent=1)
    return _text(value)


def _text(value) -> str:
    return "" if value is None else str(value)


def submitted(field: dict, form) -> object:
    """The field's input value as the form sent it (same shape as `input_value`)."""
    name, base = field["name"], field["base_type"]
    if base == "boolean":
        return form.get(name) == "on"
    if base == "multi_choice":
        return form.getlist(name)
    if base == "currency":
        amount = form.get(name, "").strip()
        return {"amount": amount, "currency": form.get(f"{name}__currency", "").strip().upper() if amount else ""}
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
    if base == "datetime" and len(raw) == 16:
        return f"{raw}:00Z", None
    if base == "json":
        try:
            return json.loads(raw), None
        except ValueError:
            return None, _("Enter valid JSON.")
    return raw, None


def read_form(entity: dict, form, before: dict | None = None) -> tuple[dict, dict, dict]:
    """`(values, raw, problems)` of a submitted form: the record service's values of the
    editable fields the user changed from `before` (every filled one for a new record),
    each editable field's input value as sent, and the problems found reading them.

    Only fields the form drew (its `_shown` inputs, when it sent them) and that still show
    on the values sent are read: a field hidden by its condition keeps its value."""
    values, raw, problems = {}, {}, {}
    drawn = set(form.getlist(SHOWN)) or None
    editable_fields = [f for section in sections(entity) for f in section["fields"] if editable(entity, f)]
    for field in editable_fields:
        name = field["name"]
        if drawn is None or name in drawn:
            raw[name] = submitted(field, form)
        elif before is not None:
            raw[name] = input_value(field, before.get(name))
    starting = starting_values(entity) if before is None else {}
    shown = form_layout.shown_names(entity, sections(entity), unsaved(entity, before, {**starting, **raw}))
    for field in editable_fields:
        name = field["name"]
        if name not in raw or name not in shown or (drawn is not None and name not in drawn):
            continue
        if before is not None and raw[name] == input_value(field, before.get(name)):
            continue
        value, problem = record_value(field, raw[name])
        if problem:
            problems[name] = [problem]
        elif before is not None or value is not None:
            values[name] = value
    return values, raw, problems


def prefill(entity: dict, args) -> dict:
    """The starting values of a new record from the query (`?party=12`, editable fields
    only), else the fields' defaults; each as its input value."""
    out = starting_values(entity)
    for section in sections(entity):
        for field in section["fields"]:
            if field["name"] in args and editable(entity, field):
                out[field["name"]] = submitted(field, args)
    return out


def starting_values(entity: dict) -> dict:
    """A new record's input values before anyone types: the fields' defaults, and the
    workflow's first state in its state field (which the record service will set)."""
    out = {name: input_value(field, field["default"])
           for name, field in entity["field_by_name"].items() if "default" in field}
    workflow = screen_view()["workflow_by_entity"].get(entity["name"])
    if workflow is not None:
        out[workflow["field"]] = workflow["initial"]
    return out


def input_type(field: dict) -> str:
    return INPUT_TYPES.get(field["base_type"], "text")


def step(field: dict) -> str:
    if field["base_type"] == "integer":
        return "1"
    scale = field.get("scale")
    return "any" if scale is None else ("1" if scale == 0 else "0." + "0" * (scale - 1) + "1")


def as_value(field: dict, raw):
    """The record value an input value stands for (to show it as text), or None."""
    return record_value(field, raw)[0]
