"""Semantic checks of layouts (forms and list views) that JSON Schema cannot express.

Like ``semantic.py``, every check inspects only values of the right JSON type and
skips the rest (the schema layer reports those), so it never raises on any JSON.
Entities are read leniently (see ``workflow_checks.typed_entities``): a field with a name
counts even when its other properties have problems.
"""

from __future__ import annotations

import difflib
from typing import Mapping

from .conditions import check_condition
from .errors import Problem, pointer
from .fieldtypes import show
from .model import Entity
from .workflow_checks import typed_entities, _unique_name

# System columns a list view may show and sort by besides the entity's own fields.
LIST_SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "owner_id")
# As the list API: at most this many sort keys, and never by these (base) types.
MAX_SORT_KEYS = 5
UNSORTABLE_TYPES = ("multi_choice", "json")
# Keys that belong to one kind of layout only.
FORM_KEYS = ("sections", "tabs")
LIST_KEYS = ("columns", "sort", "page_size", "filter", "kanban_field", "calendar_field", "header_fields")
# The field a list names for its kanban or calendar: which base types it may have.
BOARD_FIELD_TYPES = {"kanban_field": ("choice",), "calendar_field": ("date", "datetime")}


def layout_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """All semantic problems of the ``layouts`` of a (possibly malformed) package document."""
    if not isinstance(document, dict) or not isinstance(document.get("layouts"), list):
        return []
    entity_docs = document.get("entities")
    entities = typed_entities(entity_docs if isinstance(entity_docs, list) else [], types)
    problems: list[Problem] = []
    names: dict = {}
    for i, layout in enumerate(document["layouts"]):
        if not isinstance(layout, dict):
            continue
        path = pointer("layouts", i)
        problems += _unique_name(layout.get("name"), "layout", path, names)
        problems += _kind_keys(layout, path)
        entity_name, entity = layout.get("entity"), None
        if isinstance(entity_name, str):
            entity = entities.get(entity_name)
            if entity is None:
                known = ", ".join(entities) or "none"
                problems.append(Problem(f"{path}/entity", "unknown_entity",
                                        f"{show(entity_name)} is not an entity in this package; entities: {known}"))
        if layout.get("kind") == "form" and isinstance(layout.get("sections"), list):
            problems += _sections(layout["sections"], path, entity)
            if isinstance(layout.get("tabs"), list):
                problems += _tabs(layout["tabs"], layout["sections"], path)
        if layout.get("kind") == "list":
            if isinstance(layout.get("columns"), list):
                problems += _columns(layout["columns"], path, entity)
            if isinstance(layout.get("sort"), str) and layout["sort"]:
                problems += _sort(layout["sort"], f"{path}/sort", entity, types)
            problems += _list_extras(layout, path, entity)
    return problems


def _kind_keys(layout: dict, path: str) -> list[Problem]:
    kind = layout.get("kind")
    if kind not in ("form", "list"):
        return []  # the schema reports it
    foreign = LIST_KEYS if kind == "form" else FORM_KEYS
    other = "list" if kind == "form" else "form"
    return [Problem(f"{path}/{key}", "property_not_allowed",
                    f"{show(key)} belongs to {other} layouts; a {kind} layout has "
                    f"{', '.join(FORM_KEYS if kind == 'form' else LIST_KEYS)}")
            for key in foreign if key in layout]


def _unknown_field(entity: Entity, name: str, extra=()) -> str:
    close = difflib.get_close_matches(name, entity.field_names() + tuple(extra), n=1)
    hint = f"; did you mean {show(close[0])}?" if close else ""
    return f"{show(name)} is not a field of {entity.name}{hint}"


def _sections(sections: list, path: str, entity: Entity | None) -> list[Problem]:
    """Unique section names; known fields, each placed once in the whole form."""
    problems: list[Problem] = []
    section_names: dict = {}
    placed: dict[str, str] = {}  # field name -> where it was first placed
    for k, section in enumerate(sections):
        if not isinstance(section, dict):
            continue
        where = f"{path}/sections/{k}"
        problems += _unique_name(section.get("name"), "section", where, section_names)
        if isinstance(section.get("visible_if"), dict):
            problems += check_condition(section["visible_if"], entity, f"{where}/visible_if")
        fields = section.get("fields")
        if not isinstance(fields, list):
            continue
        for n, name in enumerate(fields):
            if not isinstance(name, str):
                continue
            spot = f"{where}/fields/{n}"
            if name in placed:
                problems.append(Problem(spot, "duplicate_field",
                                        f"field {show(name)} is already placed at {placed[name]}; "
                                        f"a form shows each field once"))
                continue
            placed[name] = spot
            if entity is not None and entity.field(name) is None:
                problems.append(Problem(spot, "unknown_field", _unknown_field(entity, name)))
    return problems


def _tabs(tabs: list, sections: list, path: str) -> list[Problem]:
    """Unique tab names; each tab's sections known and in no other tab; with tabs, every
    section in one (a section outside every tab would never be shown)."""
    known = {s["name"]: k for k, s in enumerate(sections) if isinstance(s, dict) and isinstance(s.get("name"), str)}
    problems: list[Problem] = []
    tab_names: dict = {}
    placed: dict[str, str] = {}  # section name -> the tab it is in
    for t, tab in enumerate(tabs):
        if not isinstance(tab, dict):
            continue
        where = f"{path}/tabs/{t}"
        problems += _unique_name(tab.get("name"), "tab", where, tab_names)
        names = tab.get("sections") if isinstance(tab.get("sections"), list) else []
        for n, name in enumerate(names):
            if not isinstance(name, str):
                continue
            spot = f"{where}/sections/{n}"
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f"; did you mean {show(close[0])}?" if close else f"; sections: {', '.join(known) or 'none'}"
                problems.append(Problem(spot, "unknown_section", f"{show(name)} is not a section of this form{hint}"))
            elif name in placed:
                problems.append(Problem(spot, "duplicate_section",
                                        f"section {show(name)} is already in tab {show(placed[name])}; "
                                        f"a section belongs to at most one tab"))
            else:
                placed[name] = tab.get("name") if isinstance(tab.get("name"), str) else where
    return problems + [Problem(f"{path}/sections/{k}/name", "section_not_in_tab",
                               f"section {show(name)} is in no tab: when a form has tabs, every section must be "
                               f"listed in one of them, or it would never be shown")
                       for name, k in known.items() if name not in placed]


def _columns(columns: list, path: str, entity: Entity | None) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for n, name in enumerate(columns):
        if not isinstance(name, str):
            continue
        spot = f"{path}/columns/{n}"
        if name in seen:
            problems.append(Problem(spot, "duplicate_field", f"column {show(name)} is already listed at {seen[name]}"))
            continue
        seen[name] = spot
        if entity is not None and entity.field(name) is None and name not in LIST_SYSTEM_COLUMNS:
            problems.append(Problem(spot, "unknown_field", _unknown_field(entity, name, LIST_SYSTEM_COLUMNS)
                                    + f" (besides fields, a list may show {', '.join(LIST_SYSTEM_COLUMNS)})"))
    return problems


def _sort(sort: str, path: str, entity: Entity | None, types: Mapping[str, str]) -> list[Problem]:
    """``sort`` as the list API reads it: comma-separated keys, ``-`` for descending."""
    keys = sort.split(",")
    if len(keys) > MAX_SORT_KEYS:
        return [Problem(path, "invalid_sort", f"at most {MAX_SORT_KEYS} sort keys are allowed (got {len(keys)})")]
    problems: list[Problem] = []
    seen: set = set()
    for key in keys:
        name = key[1:] if key.startswith("-") else key
        if not name:
            problems.append(Problem(path, "invalid_sort",
                                    f"{show(sort)} has an empty sort key; write keys such as '-joined,number'"))
            continue
        if name in seen:
            problems.append(Problem(path, "invalid_sort", f"{show(name)} is given more than once in {show(sort)}"))
            continue
        seen.add(name)
        if entity is None or name in LIST_SYSTEM_COLUMNS:
            continue
        field = entity.field(name)
        if field is None:
            problems.append(Problem(path, "unknown_field", f"cannot sort by {show(name)}: it "
                                    + _unknown_field(entity, name, LIST_SYSTEM_COLUMNS).split(" ", 1)[1]))
        elif field.base_type in UNSORTABLE_TYPES:
            problems.append(Problem(path, "not_sortable",
                                    f"cannot sort by {show(name)}: a {field.type} field"))
    return problems


def _list_extras(layout: dict, path: str, entity: Entity | None) -> list[Problem]:
    """A list's default filter (a condition over the entity), its kanban and calendar
    fields (of the right type) and its record-header fields (known, each once)."""
    problems: list[Problem] = []
    if isinstance(layout.get("filter"), dict):
        problems += check_condition(layout["filter"], entity, f"{path}/filter")
    if entity is None:
        return problems
    for key, bases in BOARD_FIELD_TYPES.items():
        name = layout.get(key)
        if not isinstance(name, str):
            continue
        field = entity.field(name)
        if field is None:
            problems.append(Problem(f"{path}/{key}", "unknown_field", _unknown_field(entity, name)))
        elif field.base_type not in bases:
            problems.append(Problem(f"{path}/{key}", "wrong_field_type",
                                    f"{key} must be a {' or '.join(bases)} field; {show(name)} is a {field.type} field"))
    header = layout.get("header_fields")
    seen: set = set()
    for n, name in enumerate(header if isinstance(header, list) else []):
        if not isinstance(name, str):
            continue
        spot = f"{path}/header_fields/{n}"
        if name in seen:
            problems.append(Problem(spot, "duplicate_field", f"{show(name)} is already a header field"))
        elif entity.field(name) is None:
            problems.append(Problem(spot, "unknown_field", _unknown_field(entity, name)))
        seen.add(name)
    return problems
