"""The form layout editor's edits of a draft document: an entity's form — its tabs, its
sections (label, columns, visible_if) and where each field sits — and the fields'
`visible_if` / `required_if`. Plain functions from a document to a new one that write what
the admin asked for and nothing more (a section left empty, say); whether the result is
valid is the engine's check, shown beside the control."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import EditRefused, dicts, editable_list, entity_of, field_index, form_layouts, named

FIELD_CONDITIONS = ("visible_if", "required_if")


# -- finding ----------------------------------------------------------------------------
def form_of(document: dict, entity_name: str) -> dict:
    """The entity's form layout (its first, the one the screens draw)."""
    found = form_layouts(document, entity_name)
    if not found:
        raise EditRefused(f"the draft has no form layout of {entity_name!r}")
    return found[0]


def section_of(layout: dict, name: str) -> dict:
    return named(layout, "sections", name, f"the form {layout.get('name')!r} has no section {name!r}")


def tab_of(layout: dict, name: str) -> dict:
    return named(layout, "tabs", name, f"the form {layout.get('name')!r} has no tab {name!r}")


def placed(layout: dict) -> list[str]:
    """The field names the form's sections place, in order."""
    return [name for section in dicts(layout, "sections") if isinstance(section.get("fields"), list)
            for name in section["fields"]]


def _moved(items: list, index: int, step: int) -> None:
    """`items[index]` moved `step` places, staying put at either end."""
    target = index + step
    if 0 <= target < len(items):
        items.insert(target, items.pop(index))


def _edited(document: dict, entity_name: str):
    """(a copy of the document, the copy's form layout of the entity)."""
    out = copy.deepcopy(document)
    return out, form_of(out, entity_name)


# -- the form -----------------------------------------------------------------------------
def create_form(document: dict, entity_name: str) -> dict:
    """A form layout for an entity that has none: one section holding its shown fields, as
    the screens draw such an entity today."""
    out = copy.deepcopy(document)
    entity = entity_of(out, entity_name)
    if form_layouts(out, entity_name):
        return out
    taken = {layout.get("name") for layout in dicts(out, "layouts")}
    name, n = f"{entity_name}_form", 2
    while name in taken:
        name, n = f"{entity_name}_form_{n}", n + 1
    fields = [f.get("name") for f in dicts(entity, "fields") if not f.get("hidden")]
    editable_list(out, "layouts").append({"name": name, "entity": entity_name, "kind": "form",
                                  "sections": [{"name": "main", "fields": fields}]})
    return out


# -- fields on the form ---------------------------------------------------------------
def _known_field(document: dict, entity_name: str, layout: dict, field: str) -> None:
    entity = entity_of(document, entity_name)
    if field not in placed(layout):
        field_index(entity, field)


def _take_out(layout: dict, field: str) -> None:
    for section in dicts(layout, "sections"):
        if isinstance(section.get("fields"), list) and field in section["fields"]:
            section["fields"] = [f for f in section["fields"] if f != field]


def place_field(document: dict, entity_name: str, field: str, section: str, position: int | None = None) -> dict:
    """`field` put in `section` at `position` (its end when None or past it), taken from
    wherever the form had it: a drag, a move to another section, or placing a field the
    form does not show yet."""
    out, layout = _edited(document, entity_name)
    _known_field(out, entity_name, layout, field)
    target = section_of(layout, section)
    _take_out(layout, field)
    fields = editable_list(target, "fields")
    at = len(fields) if position is None else max(0, min(position, len(fields)))
    fields.insert(at, field)
    return out


def step_field(document: dict, entity_name: str, field: str, step: int) -> dict:
    """`field` moved `step` places within its section (-1 up, +1 down)."""
    out, layout = _edited(document, entity_name)
    for section in dicts(layout, "sections"):
        fields = section.get("fields")
        if isinstance(fields, list) and field in fields:
            _moved(fields, fields.index(field), step)
            return out
    raise EditRefused(f"the form does not show the field {field!r}")


def take_off(document: dict, entity_name: str, field: str) -> dict:
    """`field` taken off the form (it stays a field of the entity, listed to be placed)."""
    out, layout = _edited(document, entity_name)
    if field not in placed(layout):
        raise EditRefused(f"the form does not show the field {field!r}")
    _take_out(layout, field)
    return out


def set_field_condition(document: dict, entity_name: str, field: str, key: str, condition) -> dict:
    """The field's `visible_if` or `required_if` set (removed when `condition` is None)."""
    if key not in FIELD_CONDITIONS:
        raise EditRefused(f"a field's condition is one of {', '.join(FIELD_CONDITIONS)}, not {key!r}")
    out = copy.deepcopy(document)
    entity = entity_of(out, entity_name)
    found = entity["fields"][field_index(entity, field)]
    if condition is None:
        found.pop(key, None)
    else:
        found[key] = condition
    return out


# -- sections ---------------------------------------------------------------------------
def add_section(document: dict, entity_name: str, name: str, label: dict | None, columns: int | None,
                tab: str | None = None) -> dict:
    """A new, empty section at the end of the form (and of `tab`, when the form has tabs:
    the first tab when none is named)."""
    out, layout = _edited(document, entity_name)
    section = {"name": name, "fields": []}
    if label:
        section["label"] = label
    if columns:
        section["columns"] = columns
    editable_list(layout, "sections").append(section)
    tabs = dicts(layout, "tabs")
    if tabs:
        holder = tab_of(layout, tab) if tab else tabs[0]
        editable_list(holder, "sections").append(name)
    return out


def set_section(document: dict, entity_name: str, section: str, label: dict | None, columns: int | None) -> dict:
    """The section's label and columns (each removed when None: the defaults)."""
    out, layout = _edited(document, entity_name)
    found = section_of(layout, section)
    for key, value in (("label", label), ("columns", columns)):
        if value:
            found[key] = value
        else:
            found.pop(key, None)
    return out


def set_section_condition(document: dict, entity_name: str, section: str, condition) -> dict:
    out, layout = _edited(document, entity_name)
    found = section_of(layout, section)
    if condition is None:
        found.pop("visible_if", None)
    else:
        found["visible_if"] = condition
    return out


def step_section(document: dict, entity_name: str, section: str, step: int) -> dict:
    """The section moved `step` places: among its tab's sections when the form has tabs
    (the tab gives the order then), else among the form's."""
    out, layout = _edited(document, entity_name)
    section_of(layout, section)
    holder = next((t for t in dicts(layout, "tabs") if section in (t.get("sections") or [])), None)
    if holder is not None:
        names = editable_list(holder, "sections")
        _moved(names, names.index(section), step)
        return out
    sections = editable_list(layout, "sections")
    index = next(i for i, s in enumerate(sections) if isinstance(s, dict) and s.get("name") == section)
    _moved(sections, index, step)
    return out


def remove_section(document: dict, entity_name: str, section: str) -> dict:
    """The section removed from the form and its tab; its fields are then off the form."""
    out, layout = _edited(document, entity_name)
    found = section_of(layout, section)
    layout["sections"] = [s for s in layout["sections"] if s is not found]
    for tab in dicts(layout, "tabs"):
        if isinstance(tab.get("sections"), list):
            tab["sections"] = [s for s in tab["sections"] if s != section]
    return out


def section_to_tab(document: dict, entity_name: str, section: str, tab: str) -> dict:
    """The section moved to the end of `tab`."""
    out, layout = _edited(document, entity_name)
    section_of(layout, section)
    target = tab_of(layout, tab)
    for holder in dicts(layout, "tabs"):
        if isinstance(holder.get("sections"), list):
            holder["sections"] = [s for s in holder["sections"] if s != section]
    editable_list(target, "sections").append(section)
    return out


# -- tabs -------------------------------------------------------------------------------
def add_tab(document: dict, entity_name: str, name: str, label: dict | None) -> dict:
    """A new tab at the end. The form's first tab takes every section (a form with tabs
    shows only the sections in one); a later one starts empty."""
    out, layout = _edited(document, entity_name)
    tab = {"name": name, "sections": []}
    if label:
        tab["label"] = label
    tabs = editable_list(layout, "tabs")
    if not tabs:
        tab["sections"] = [s.get("name") for s in dicts(layout, "sections")]
    tabs.append(tab)
    return out


def relabel_tab(document: dict, entity_name: str, tab: str, label: dict | None) -> dict:
    out, layout = _edited(document, entity_name)
    found = tab_of(layout, tab)
    if label:
        found["label"] = label
    else:
        found.pop("label", None)
    return out


def step_tab(document: dict, entity_name: str, tab: str, step: int) -> dict:
    out, layout = _edited(document, entity_name)
    found = tab_of(layout, tab)
    tabs = layout["tabs"]
    _moved(tabs, tabs.index(found), step)
    return out


def remove_tab(document: dict, entity_name: str, tab: str) -> dict:
    """The tab removed, its sections going to the tab before it (the next one when it was
    first); removing the last tab leaves a form without tabs."""
    out, layout = _edited(document, entity_name)
    found = tab_of(layout, tab)
    tabs = layout["tabs"]
    index = tabs.index(found)
    tabs.remove(found)
    if not tabs:
        del layout["tabs"]
        return out
    heir = tabs[index - 1] if index > 0 else tabs[0]
    editable_list(heir, "sections").extend(s for s in (found.get("sections") or []) if isinstance(s, str))
    return out
