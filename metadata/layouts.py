"""Layouts as screens render them.

A package keeps its layouts verbatim (``Package.layouts``).  The *effective* layout is
what a form or list view shows: hidden fields left out, labels as language maps and
the defaults filled in, so a renderer never handles the variants::

    form = effective_layout(package, "contact_form")
    for section in form["sections"]:
        ...  # section["label"], section["columns"], section["fields"]
"""

from __future__ import annotations

import copy

from .model import Package, default_label, language_map

DEFAULT_SECTION_COLUMNS = 1
DEFAULT_PAGE_SIZE = 50  # the list API's default page size


def effective_layout(package: Package, name: str) -> dict | None:
    """The layout called ``name`` as screens render it, or None when there is none.

    Hidden fields are left out of form sections and list columns (a section left with
    no fields is left out too); ``sort`` is kept as written, since sorting by a hidden
    field still works.  ``label`` (layout and sections) is a language map, defaulting
    to the name; a section's ``columns`` defaults to 1, a list's ``page_size`` to 50.
    A section's ``visible_if`` is kept as written; a form's ``tabs`` (when it has them)
    get labels as language maps and list only the sections left in the form (a tab left
    with none is left out).
    """
    layout = package.layout(name)
    return None if layout is None else _effective(package, layout)


def effective_layouts(package: Package, entity: str | None = None) -> list[dict]:
    """Every effective layout (only ``entity``'s when given), in document order."""
    return [_effective(package, copy.deepcopy(layout)) for layout in package.layouts
            if entity is None or layout.get("entity") == entity]


def hidden_fields(package: Package, entity: str) -> tuple[str, ...]:
    """The names of ``entity``'s hidden fields, in field order (empty for an unknown entity)."""
    found = package.entity(entity)
    return tuple(f.name for f in found.fields if f.hidden) if found is not None else ()


def _effective(package: Package, layout: dict) -> dict:
    hidden = set(hidden_fields(package, layout.get("entity")))
    layout["label"] = language_map(layout.get("label")) or default_label(layout["name"])
    if layout.get("kind") == "form":
        sections = []
        for section in layout.get("sections", ()):
            section["label"] = language_map(section.get("label")) or default_label(section["name"])
            section.setdefault("columns", DEFAULT_SECTION_COLUMNS)
            section["fields"] = [f for f in section.get("fields", ()) if f not in hidden]
            if section["fields"]:
                sections.append(section)
        layout["sections"] = sections
        if "tabs" in layout:
            layout["tabs"] = _tabs(layout["tabs"], {s["name"] for s in sections})
    elif layout.get("kind") == "list":
        layout["columns"] = [c for c in layout.get("columns", ()) if c not in hidden]
        layout.setdefault("page_size", DEFAULT_PAGE_SIZE)
    return layout


def _tabs(tabs: list, shown: set) -> list[dict]:
    out = []
    for tab in tabs:
        tab["label"] = language_map(tab.get("label")) or default_label(tab["name"])
        tab["sections"] = [name for name in tab["sections"] if name in shown]
        if tab["sections"]:
            out.append(tab)
    return out
