"""The list views editor: an entity's list layouts in the draft — columns (added, removed,
moved with buttons or dragged), the default sort, page size and default filter, the
kanban and calendar fields and the record header's key fields — each edit saved into the
draft (`edits_lists`) and its problems shown next to its control."""
from __future__ import annotations

import re

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from admin_ui.condition_words import describe
from admin_ui.designer import edits, edits_lists
from admin_ui.designer.condition_builder import builder_for, condition_from_form
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from engine.whole import whole_number
from admin_ui.web import admin_only, screens
from metadata.fieldtypes import known_types
from metadata.layout_checks import LIST_SYSTEM_COLUMNS, UNSORTABLE_TYPES

COLUMN_MOVES = {"left": -1, "right": 1}
FILTER_PREFIX = re.compile(r"filter_[0-9]{1,3}")  # the names of a default filter's builder
SORT_KEYS = 3  # sort keys the editor offers (the format allows up to 5)
HEADER_FIELDS = 4  # the format's most
SYSTEM_NAMES = {"id": lazy_gettext("ID"), "created_at": lazy_gettext("Created at"),
                "updated_at": lazy_gettext("Updated at"), "owner_id": lazy_gettext("Owner")}


@screens.get("/designer/e/<entity>/lists")
@admin_only
def designer_lists(entity):
    draft = drafts().open()
    definition = next((e for e in edits.dicts(draft.document, "entities") if e.get("name") == entity), None)
    if definition is None:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    types = known_types(g.session.extra_types)
    fields = [{"name": f.get("name"), "label": shown(f.get("label"), str(f.get("name"))), "type": f.get("type"),
               "base": types.get(f.get("type"), "")} for f in edits.dicts(definition, "fields")
              if isinstance(f.get("name"), str) and isinstance(f.get("type"), str)]
    names = {f["name"]: f["label"] for f in fields}
    views = [_view(layout, f"/layouts/{i}", names, draft.problems)
             for i, layout in edits.indexed(draft.document, "layouts")
             if layout.get("entity") == entity and layout.get("kind") == "list"]
    for n, view in enumerate(views, 1):
        at = view.pop("at")
        view["builder"] = builder_for(view["filter"], definition, draft.document, f"filter_{n}", [
            {**p, "field": str(p["field"])[len(f"{at}/filter"):]} for p in view["problems"]["filter"]])
        view["filter_words"] = describe(view["filter"], definition) if view["filter"] is not None else None
    return render_template(
        "designer/lists.html", title=_("List views of %(name)s", name=shown(definition.get("label"), entity)),
        entity=entity, entity_label=shown(definition.get("label"), entity), views=views, fields=fields, names=names, system=SYSTEM_NAMES, sort_keys=SORT_KEYS,
        header_count=HEADER_FIELDS, sortable=[f for f in fields if f["base"] not in UNSORTABLE_TYPES],
        choice_fields=[f for f in fields if f["base"] == "choice"],
        date_fields=[f for f in fields if f["base"] in ("date", "datetime")])


def _view(layout: dict, at: str, names: dict, problems: list) -> dict:
    columns = layout.get("columns") if isinstance(layout.get("columns"), list) else []
    sort = layout.get("sort") if isinstance(layout.get("sort"), str) else ""
    keys = [{"name": k.lstrip("-"), "descending": k.startswith("-")} for k in sort.split(",") if k]
    header = layout.get("header_fields") if isinstance(layout.get("header_fields"), list) else []
    settings = ("sort", "page_size", "kanban_field", "calendar_field", "header_fields", "filter")
    return {"name": layout.get("name"), "label": shown(layout.get("label"), str(layout.get("name"))), "at": at,
            "columns": [{"name": c, "label": names.get(c) or SYSTEM_NAMES.get(c) or str(c),
                         "problems": problems_at(problems, f"{at}/columns/{n}")} for n, c in enumerate(columns)],
            "addable": [name for name in [*names, *LIST_SYSTEM_COLUMNS] if name not in columns],
            "sort": keys, "page_size": layout.get("page_size", ""),
            "kanban_field": layout.get("kanban_field", ""), "calendar_field": layout.get("calendar_field", ""),
            "header_fields": header, "filter": layout.get("filter"),
            "problems": {key: problems_at(problems, f"{at}/{key}") for key in settings},
            "own_problems": [p for p in problems_at(problems, at)
                             if not any(str(p["field"]).startswith(f"{at}/{k}") for k in ("columns", *settings))]}


def _back(entity: str, layout: str | None = None) -> str:
    url = url_for("screens.designer_lists", entity=entity)
    return f"{url}#list-{layout}" if layout else url


@screens.post("/designer/e/<entity>/lists")
@admin_only
def designer_add_list(entity):
    return save_edit(edits_lists.add_list_view, entity, back=_back(entity))


@screens.post("/designer/e/<entity>/lists/<layout>/columns")
@admin_only
def designer_list_columns(entity, layout):
    """One column edit: `add`, `remove`, `left`, `right` of `column`, or `order` (the
    columns' names after a drag, comma-separated)."""
    form = request.form
    column, action = form.get("column", "").strip(), form.get("action", "")
    back = _back(entity, layout)
    if "order" in form:
        order = [name.strip() for name in form["order"].split(",") if name.strip()]
        return save_edit(edits_lists.set_columns, layout, order, back=back)
    if not column:
        abort(400, _("Choose a column."))
    if action == "add":
        return save_edit(edits_lists.add_column, layout, column, back=back)
    if action == "remove":
        return save_edit(edits_lists.remove_column, layout, column, back=back)
    if action in COLUMN_MOVES:
        return save_edit(edits_lists.move_column, layout, column, COLUMN_MOVES[action], back=back)
    abort(400, _("Add, remove or move a column."))


@screens.post("/designer/e/<entity>/lists/<layout>/settings")
@admin_only
def designer_list_settings(entity, layout):
    form = request.form
    keys = []
    for n in range(1, SORT_KEYS + 1):
        name = form.get(f"sort_{n}", "").strip()
        if name:
            keys.append(("-" if form.get(f"direction_{n}") == "descending" else "") + name)
    size = form.get("page_size", "").strip()
    number = whole_number(size)
    header = [name for name in (form.get(f"header_{n}", "").strip() for n in range(1, HEADER_FIELDS + 1)) if name]
    settings = {"sort": ",".join(keys) or None,
                "page_size": None if not size else (size if number is None else number),
                "kanban_field": form.get("kanban_field", "").strip() or None,
                "calendar_field": form.get("calendar_field", "").strip() or None,
                "header_fields": header or None}
    return save_edit(edits_lists.set_settings, layout, settings, back=_back(entity, layout))


@screens.post("/designer/e/<entity>/lists/<layout>/filter")
@admin_only
def designer_list_filter(entity, layout):
    """The default filter from the condition builder (`prefix` names its inputs); none
    when it has no rows. A JSON text that does not read is refused, changing nothing."""
    prefix = request.form.get("prefix", "")
    if not FILTER_PREFIX.fullmatch(prefix):
        abort(400, _("Send the default filter from its condition builder."))
    draft = drafts().open()
    definition = next((e for e in edits.dicts(draft.document, "entities") if e.get("name") == entity), None)
    if definition is None:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    condition, problems = condition_from_form(request.form, prefix, definition, draft.document)
    unread = [p for p in problems if p.get("code") == "invalid_json"]
    if unread:
        abort(400, unread[0]["message"])
    return save_edit(edits_lists.set_settings, layout, {"filter": condition}, back=_back(entity, layout))
