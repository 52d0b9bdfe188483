"""A record's form: which fields it shows in which sections, the text each input starts
with, and the values a submitted form hands the record service.

Every input's value is compared in one shape, its "input value" (`admin_ui.form_values`,
which converts it both ways): what the form showed and what came back are equal exactly
when the user left the field alone, so an edit sends only what the user changed and a
stale edit can tell the user's changes from the other person's."""
from __future__ import annotations

from admin_ui import form_layout
from admin_ui.form_values import as_sent, input_value, record_value, submitted
from admin_ui.view import screen_view

FALLBACK_COLUMNS = 2
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
        if before is not None and raw[name] == as_sent(field, input_value(field, before.get(name))):
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
