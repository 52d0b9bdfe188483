"""The designer's edits of list views: plain functions from a draft document to a new one
— a new list view, its columns (added, removed, moved, reordered by a drag) and its
settings (sort, page size, default filter, kanban and calendar fields, the record
header's key fields). Whether the result is valid is the engine's check (`engine.drafts`)."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import EditRefused, dicts, editable_list, entity_of

# A list view's settings, each removed from the layout when set to None.
SETTINGS = ("sort", "page_size", "filter", "kanban_field", "calendar_field", "header_fields")
FIRST_COLUMNS = 5  # a new list view shows the entity's first fields


def list_view_of(document: dict, name: str) -> dict:
    """The list layout called `name` (EditRefused when the draft has none)."""
    found = next((layout for layout in dicts(document, "layouts")
                  if layout.get("name") == name and layout.get("kind") == "list"), None)
    if found is None:
        raise EditRefused(f"the draft has no list view {name!r}")
    return found


def add_list_view(document: dict, entity_name: str) -> dict:
    """A new list view of the entity showing its first fields, named `<entity>_list`
    (with a number when that name is taken)."""
    out = copy.deepcopy(document)
    entity = entity_of(out, entity_name)
    taken = {layout.get("name") for layout in dicts(out, "layouts")}
    name, n = f"{entity_name}_list", 2
    while name in taken:
        name, n = f"{entity_name}_list_{n}", n + 1
    columns = [f.get("name") for f in dicts(entity, "fields") if not f.get("hidden")][:FIRST_COLUMNS]
    editable_list(out, "layouts").append({"name": name, "entity": entity_name, "kind": "list", "columns": columns})
    return out


def set_columns(document: dict, layout_name: str, columns: list) -> dict:
    """The list view's columns replaced by `columns`, in that order (a drag's result)."""
    out = copy.deepcopy(document)
    list_view_of(out, layout_name)["columns"] = list(columns)
    return out


def add_column(document: dict, layout_name: str, column: str) -> dict:
    out = copy.deepcopy(document)
    editable_list(list_view_of(out, layout_name), "columns").append(column)
    return out


def remove_column(document: dict, layout_name: str, column: str) -> dict:
    out = copy.deepcopy(document)
    columns = editable_list(list_view_of(out, layout_name), "columns")
    if column not in columns:
        raise EditRefused(f"the list view {layout_name!r} has no column {column!r}")
    columns.remove(column)
    return out


def move_column(document: dict, layout_name: str, column: str, step: int) -> dict:
    """The column moved `step` places (-1 left, +1 right); at either end it stays."""
    out = copy.deepcopy(document)
    columns = editable_list(list_view_of(out, layout_name), "columns")
    if column not in columns:
        raise EditRefused(f"the list view {layout_name!r} has no column {column!r}")
    index = columns.index(column)
    if 0 <= index + step < len(columns):
        columns.insert(index + step, columns.pop(index))
    return out


def set_settings(document: dict, layout_name: str, settings: dict) -> dict:
    """The list view's settings (keys of SETTINGS) set; a None value removes the key."""
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise EditRefused(f"a list view has no setting {sorted(unknown)[0]!r}")
    out = copy.deepcopy(document)
    layout = list_view_of(out, layout_name)
    for key, value in settings.items():
        if value is None:
            layout.pop(key, None)
        else:
            layout[key] = copy.deepcopy(value)
    return out
