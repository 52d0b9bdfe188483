"""What a record's form shows for the values it holds: the sections and fields whose
`visible_if` holds, the fields a `required_if` makes required, and the form's tabs — each
judged on the server by the engine's own rule (`engine.records.conditional`), on the saved
record (view mode) or on the unsaved values of the form (edit mode, asked again as the user
changes a field a condition mentions). No condition is evaluated in the browser."""
from __future__ import annotations

from flask import g

from engine.records.conditional import required, visible
from metadata.condition_checks import leaves
from metadata.conditions import evaluate_condition


def _model(entity: dict):
    """The metadata Entity behind the screen view's `entity` (types the comparisons): of the
    package the view was made from — a designer draft's while it is previewed (`g.ui_package`)."""
    return (g.get("ui_package") or g.session.metadata().package).entity(entity["name"])


def shown_sections(entity: dict, sections: list[dict], record: dict) -> list[dict]:
    """`sections` (as `record_form.sections` gives them) that show on `record`, each with the
    fields that show; a field a required_if makes required is a copy with `required` true."""
    model = _model(entity)
    out = []
    for section in sections:
        condition = section.get("visible_if")
        if condition is not None and not evaluate_condition(condition, record, model):
            continue
        fields = []
        for view in section["fields"]:
            field = model.field(view["name"]) if model is not None else None
            if field is None:  # a system column
                fields.append(view)
            elif visible(model, field, record):
                needed = required(model, field, record) and not view["required"]
                fields.append({**view, "required": True} if needed else view)
        if fields:
            out.append({**section, "fields": fields})
    return out


def showing(entity: dict, sections: list[dict], fields: list[dict], record: dict) -> list[dict]:
    """`fields` (views) without those the form hides on `record` (a header's key fields): a
    field whose visible_if is false, or placed only in a section that does not show."""
    placed = {f["name"] for section in sections for f in section["fields"]}
    shown = shown_names(entity, sections, record)
    model = _model(entity)
    return [view for view in fields if view["name"] in shown or (
        view["name"] not in placed and (model is None or model.field(view["name"]) is None
                                        or visible(model, model.field(view["name"]), record)))]


def shown_names(entity: dict, sections: list[dict], record: dict) -> set[str]:
    """The names of the fields the form shows on `record`."""
    return {f["name"] for section in shown_sections(entity, sections, record) for f in section["fields"]}


def arranged(entity: dict, sections: list[dict], tabs: list[dict], record: dict, chosen: str | None = None,
             problems=None) -> dict:
    """The form as drawn for `record`: `sections` that show and, when the layout has tabs,
    `tabs` (`name`, `label`, `sections`, `selected`) holding them, tabs left empty left out.
    The selected tab is the one holding the first field with a problem, else `chosen` (the
    tab the user had open), else the first."""
    shown = shown_sections(entity, sections, record)
    by_name = {s["name"]: s for s in shown}
    drawn = [{"name": t["name"], "label": t["label"], "sections": [by_name[n] for n in t["sections"] if n in by_name]}
             for t in tabs]
    drawn = [t for t in drawn if t["sections"]]
    if drawn:
        names = [t["name"] for t in drawn]
        bad = next((t["name"] for t in drawn for s in t["sections"] for f in s["fields"]
                    if (problems or {}).get(f["name"])), None)
        selected = bad or (chosen if chosen in names else names[0])
        for tab in drawn:
            tab["selected"] = tab["name"] == selected
    return {"sections": shown, "tabs": drawn}


def condition_fields(entity: dict, sections: list[dict]) -> set[str]:
    """The fields some condition of the form mentions: changing one asks the server to draw
    the form again."""
    conditions = [s["visible_if"] for s in sections if s.get("visible_if") is not None]
    conditions += [f[key] for f in entity["fields"] for key in ("visible_if", "required_if") if f.get(key)]
    return {name for condition in conditions for _, name in leaves(condition) if isinstance(name, str)}
