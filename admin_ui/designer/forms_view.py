"""What the form layout editor shows of an entity's form in the draft: its tabs, its
sections (labels in English and Chinese, columns, the condition that shows them, in words)
with the fields each places (their conditions in words), the fields the form does not
show yet, and the draft's problems beside each of them (the engine's paths)."""
from __future__ import annotations

from admin_ui.condition_words import describe
from admin_ui.designer import edits
from admin_ui.designer.common import problems_at, shown
from admin_ui.i18n import language_of_request


def _texts(label) -> dict:
    return label if isinstance(label, dict) else {"en": label} if isinstance(label, str) else {}


def _names(value) -> list[str]:
    """The names a list holds (none when a malformed draft holds something else there)."""
    return [n for n in value if isinstance(n, str)] if isinstance(value, list) else []


def _words(condition, entity: dict) -> str | None:
    return None if condition is None else describe(condition, entity, language_of_request())


def editor(document: dict, problems: list, entity_name: str) -> dict | None:
    """The editor's view of the entity's form, or None when the draft has no such entity;
    `form` is None when the entity has no form layout."""
    found = [(i, e) for i, e in edits.indexed(document, "entities") if e.get("name") == entity_name]
    if not found:
        return None
    at, entity = found[0]
    fields = {f.get("name"): (j, f) for j, f in edits.indexed(entity, "fields")}
    out = {"entity": entity_name, "label": shown(entity.get("label"), entity_name), "form": None,
           "field_problems": {name: problems_at(problems, f"/entities/{at}/fields/{j}")
                              for name, (j, _f) in fields.items()}}
    forms = [(i, layout) for i, layout in edits.indexed(document, "layouts")
             if layout.get("entity") == entity_name and layout.get("kind") == "form"]
    if not forms:
        return out
    index, layout = forms[0]
    base = f"/layouts/{index}"
    sections = [_section(s, f"{base}/sections/{j}", problems, fields, entity, out["field_problems"])
                for j, s in edits.indexed(layout, "sections")]
    tabs = [_tab(t, f"{base}/tabs/{j}", problems) for j, t in edits.indexed(layout, "tabs")]
    placed = {name for s in sections for name in s["field_names"]}
    out["form"] = {
        "name": layout.get("name"), "sections": sections, "tabs": tabs,
        "groups": _grouped(sections, tabs),
        "unplaced": [_field(name, f, entity) for name, (_j, f) in fields.items()
                     if name not in placed and not f.get("hidden")],
        "problems": [p for p in problems_at(problems, base)
                     if not str(p["field"]).startswith((f"{base}/sections/", f"{base}/tabs/"))]}
    return out


def _field(name: str, field: dict, entity: dict) -> dict:
    return {"name": name, "label": shown(field.get("label"), name), "hidden": bool(field.get("hidden")),
            "visible_if": _words(field.get("visible_if"), entity),
            "required_if": _words(field.get("required_if"), entity)}


def _section(section: dict, path: str, problems: list, fields: dict, entity: dict, field_problems: dict) -> dict:
    names = _names(section.get("fields"))
    rows = []
    for position, name in enumerate(names):
        row = {**_field(name, fields[name][1], entity), "own": True} if name in fields else {
            "name": name, "label": name, "hidden": False, "visible_if": None, "required_if": None, "own": False}
        row["problems"] = problems_at(problems, f"{path}/fields/{position}") + field_problems.get(name, [])
        rows.append(row)
    columns = section.get("columns")
    return {"name": section.get("name"), "label": _texts(section.get("label")),
            "title": shown(section.get("label"), str(section.get("name"))),
            "columns": columns if isinstance(columns, int) else 1,
            "visible_if": _words(section.get("visible_if"), entity),
            "fields": rows, "field_names": names,
            "problems": [p for p in problems_at(problems, path) if not str(p["field"]).startswith(f"{path}/fields/")]}


def _tab(tab: dict, path: str, problems: list) -> dict:
    names = _names(tab.get("sections"))
    return {"name": tab.get("name"), "label": _texts(tab.get("label")),
            "title": shown(tab.get("label"), str(tab.get("name"))), "sections": names,
            "problems": problems_at(problems, path)}


def _grouped(sections: list, tabs: list) -> list[dict]:
    """The sections as the form groups them: per tab when it has tabs (sections outside
    every tab last, `tab` None), else one group of all."""
    if not tabs:
        return [{"tab": None, "sections": sections}]
    by_name = {s["name"]: s for s in sections}
    groups = [{"tab": t, "sections": [by_name[n] for n in t["sections"] if n in by_name]} for t in tabs]
    held = {n for t in tabs for n in t["sections"]}
    loose = [s for s in sections if s["name"] not in held]
    return groups + ([{"tab": None, "sections": loose}] if loose else [])
