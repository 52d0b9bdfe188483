"""A draft as the screens would draw it: the screens' view of the draft's metadata (parsed
in memory, never published), a live record as the draft would hold it, and the record's
page, list row and kanban card drawn by the screens' own helpers with that view. Reads
only: no table, column or row is written.

A field the draft adds shows empty; a field it drops or hides is gone; a field whose type
the draft changes shows empty too (publishing converts its values, the review says how
many convert)."""
from __future__ import annotations

from contextlib import contextmanager

from flask import g
from werkzeug.exceptions import HTTPException

from admin_ui import record_form
from admin_ui.board_common import SYSTEM_COLUMNS, key_fields as card_fields
from admin_ui.formats import display, record_title
from admin_ui.i18n import language_of_request
from admin_ui.kanban import board_of
from admin_ui.list_state import default_state
from admin_ui.lists import column_labels, list_cell
from admin_ui.people import names_of
from admin_ui.record_pages import key_fields
from admin_ui.view import view_of
from metadata import Package


def drafted(draft) -> tuple[Package, dict]:
    """(the draft's package, the screens' view of it for this request's role and language),
    kept per draft revision with the current version's compiled metadata."""
    kept = g.session.metadata().memo(("designer_preview",), dict)
    revision = (draft.updated_at, draft.based_on)
    found = kept.get(draft.id)
    if found is None or found[0] != revision:
        package = Package.from_document(draft.document, extra_types=g.session.extra_types)
        found = kept[draft.id] = (revision, package, {})
    _revision, package, views = found
    key = (g.ui_user.role, language_of_request())
    if key not in views:
        views[key] = view_of(package, draft.based_on, *key)
    return package, views[key]


@contextmanager
def drawn_with(view: dict, package: Package):
    """The screens' helpers see `view` and `package` inside the block (the draft's)."""
    saved = g.get("ui_view"), g.get("ui_package")
    g.ui_view, g.ui_package = view, package
    try:
        yield
    finally:
        g.ui_view, g.ui_package = saved


def as_drafted(record: dict, live, drafted_entity) -> tuple[dict, list[str], list[str]]:
    """(the record's values as the draft would hold them, the fields the draft adds, those
    whose type it changes): system columns and every field the draft keeps with its type."""
    values = {name: record.get(name) for name in SYSTEM_COLUMNS}
    added, converted = [], []
    for field in drafted_entity.fields:
        before = live.field(field.name)
        if before is None:
            added.append(field.name)
            values[field.name] = None
        elif (before.base_type, before.to) != (field.base_type, field.to):
            converted.append(field.name)
            values[field.name] = None
        else:
            values[field.name] = record.get(field.name)
    return values, added, converted


def screens_of(entity: dict, record: dict, labels: dict, view: dict) -> dict:
    """The record page (header, stage bar, form), the list row and the kanban card of
    `record`, drawn with the current screen view (`drawn_with` the draft's)."""
    return {"record_title": record_title(entity, record), "key_fields": key_fields(entity, record),
            "layout": record_form.arranged(entity, record), "stages": _stages(view, entity, record),
            "row": _row(view, entity, record, labels), "board": _board(entity, record, labels)}


def _stages(view: dict, entity: dict, record: dict) -> list[dict] | None:
    workflow = view["workflow_by_entity"].get(entity["name"])
    if workflow is None:
        return None
    value = record.get(workflow["field"])
    return [{"label": s["label"] or s["name"], "current": s["name"] == value} for s in workflow["states"]]


def _row(view: dict, entity: dict, record: dict, labels: dict) -> dict:
    """The list's columns (its layout's, as the list starts) and the record's cells."""
    state = default_state(view, entity)
    names = column_labels(entity)
    owners = names_of([record.get("owner_id")]) if "owner_id" in state.columns else {}
    fields = entity["field_by_name"]
    return {"columns": [names.get(c, c) for c in state.columns],
            "cells": [list_cell(fields.get(c), c, record.get(c), labels, owners) for c in state.columns]}


def _board(entity: dict, record: dict, labels: dict) -> dict | None:
    """The kanban's columns (the draft's workflow states, or its first choice field's
    choices) with the record's card in its column; None when the draft gives no board."""
    try:
        board = board_of(entity["name"], None, [])
    except HTTPException:
        return None
    by = board.field["name"]
    shown = card_fields(entity, leave_out=(by,))
    card = {"title": record_title(entity, record),
            "fields": [{"label": f["label"], "text": display(f, record.get(f["name"]), labels)}
                       for f in shown if record.get(f["name"]) not in (None, "", [])]}
    value = record.get(by)
    return {"label": board.field["label"], "columns": [
        {"label": c["label"], "card": card if c["value"] == value else None} for c in board.columns]}
