"""The list screen of any entity, generated from its list layout: columns, sort, quick
search and filters from the query string (`list_state`), the layout's default filter (a
condition, said in words, switched off by `default_filter=off`), a page read by keyset through
`records.list` (sharing and permissions apply by construction), the count in a second
request that stops at 1,001, a CSV of the visible columns through the engine's export,
and the type-ahead that offers only records the user may read.

Routes (under /t/<tenant>): `GET /e/<entity>` (the screen; with HX-Target `list-rows`,
only the rows and pager), `GET /e/<entity>/count`, `GET /e/<entity>/export.csv`,
`GET /e/<entity>/choose/<field>` (a reference's type-ahead)."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, \
    stream_with_context, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from admin_ui.board_common import record_url
from admin_ui.condition_words import describe
from engine.whole import whole_number
from admin_ui import formats, problems
from admin_ui.i18n import language_of_request
from admin_ui.list_filters import filters_for
from admin_ui.people import names_of
from admin_ui.list_bulk import bulk_owners, bulk_transitions, editable_fields
from admin_ui.list_state import default_state, list_entity, list_layout, read_state, sortable
from admin_ui.view import entity_view, screen_view
from admin_ui.web import screens
from engine.app_view import SYSTEM_LABELS
from engine.errors import BadQuery
from engine.records import saved_views
from engine.records.export import as_csv
from metadata.language import text_in

COUNT_CAP = 1001
MAX_PAGE = 200
CHOICES_SHOWN = 20


def column_labels(entity: dict) -> dict:
    """Every column's label in the request's language: the layout's, the field's, or the
    system column's."""
    labels = {name: text_in(texts, language_of_request()) for name, texts in SYSTEM_LABELS.items()}
    labels.update({f["name"]: f["label"] or f["name"] for f in entity["fields"]})
    layout = list_layout(screen_view(), entity) or {}
    labels.update({c["name"]: c["label"] for c in layout.get("columns", ())})
    return labels


def page_size(entity: dict) -> int:
    layout = list_layout(screen_view(), entity) or {}
    return min(int(layout.get("page_size") or 50), MAX_PAGE)


def endpoint_exists(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def kanban_url(entity: dict, state) -> str | None:
    """The same view as a kanban, when the kanban screen exists and the entity has a
    workflow or a choice field to make columns of."""
    if not endpoint_exists("screens.entity_kanban"):
        return None
    if entity["workflow"] is None and not any(f["base_type"] == "choice" for f in entity["fields"]):
        return None
    return url_for("screens.entity_kanban", entity=entity["name"]) + "?" + state.query()


@screens.get("/e/<entity>")
def entity_list(entity):
    """The list; `?view=<id>` alone opens a saved view (what it names that the user can no
    longer see is dropped, with a notice)."""
    found = list_entity(entity)
    args, notices, view = request.args, [], None
    if "view" in args:
        view = saved_views.get_view(g.session.storage, entity, args["view"], g.ui_user)
        if set(args) == {"view"}:
            args, notices = _args_of(view, found)
    labels = column_labels(found)
    try:
        state = read_state(args, screen_view(), found)
        rows = _page(found, state)
        refused = None
    except BadQuery as error:  # the list as it starts, with what was wrong said beside it
        state, refused = default_state(screen_view(), found), _refusals(error, labels)
        rows = _page(found, state)
    if view is not None and view.definition.get("mode") == "kanban" \
            and set(request.args) == {"view"} and kanban_url(found, state):
        return redirect(kanban_url(found, state))  # a kanban view opens as the kanban
    for notice in notices:
        flash(notice)
    if request.headers.get("HX-Target") == "list-rows":
        return render_template("screens/_list_rows.html", refused=refused, **rows), 400 if refused else 200
    return render_template(
        "screens/list.html", title=found["plural_label"] or found["label"], nav_entity=entity, **rows,
        filters=filters_for(found, state.filtered_columns(), labels), labels=labels, saved=view,
        all_columns=_choosable_columns(found, state, labels),
        views=saved_views.views_for(g.session.storage, entity, g.ui_user),
        bulk_fields=editable_fields(found), bulk_transitions=bulk_transitions(found),
        bulk_owners=bulk_owners(),
        reference_titles=_reference_titles(found, state),
        kanban=kanban_url(found, state), default_filter=default_filter(found, state),
        new_url=url_for("screens.record_new", entity=entity) if endpoint_exists("screens.record_new") else None,
        import_url=url_for("screens.import_start", entity=entity)
        if g.session.records.permissions.may(entity, "import") else None,
        refused=refused), 400 if refused else 200


def default_filter(entity: dict, state) -> dict | None:
    """The list layout's default filter as the list shows it (None when it has none): in
    words, whether it applies, and the link that switches it off or on again."""
    condition = (list_layout(screen_view(), entity) or {}).get("filter")
    if condition is None:
        return None
    base = url_for("screens.entity_list", entity=entity["name"]) + "?"
    entity_doc = g.session.metadata().package.entity(entity["name"]).to_dict()
    return {"text": describe(condition, entity_doc), "on": not state.default_off,
            "toggle": base + state.query(default_off=not state.default_off, view=None)}


def _refusals(error, labels: dict) -> list[str]:
    """What the list could not show, each naming the field by its label, in the user's language."""
    out = []
    for problem in error.problems:
        name = (problem.path or "").split("__")[0]
        text = problems.text(problem)
        out.append(f"{labels.get(name, name)}: {text}" if name else text)
    return out or [problems.headline(error.code, error.message)]


def _reference_titles(entity: dict, state) -> dict:
    """The title of each reference filter's chosen record (when the user may read it)."""
    out = {}
    for key, value in state.filters:
        field = entity["field_by_name"].get(key)
        if field is not None and field["base_type"] == "reference" and whole_number(value, 1) is not None:
            found = formats.titles_of(field["to"], [whole_number(value)])
            out[key] = found.get((field["to"], int(value)), f"#{value}")
    return out


def _args_of(view, entity) -> tuple[MultiDict, list[str]]:
    """A saved view's definition as a query string, without what the user can no longer see."""
    definition, dropped = saved_views.clean_definition(view.definition, set(entity["field_by_name"]))
    pairs = [("columns", c) for c in definition["columns"]] + list(map(tuple, definition["filters"]))
    pairs += [(k, definition[k]) for k in ("sort", "q") if definition[k]] + [("view", str(view.id))]
    notices = [_("The view %(view)s no longer shows %(fields)s: the fields are gone or hidden.",
                 view=view.name, fields=", ".join(dropped))] if dropped else []
    return MultiDict(pairs), notices


def _choosable_columns(entity: dict, state, labels: dict) -> list[dict]:
    """The shown columns first, in their order (the form sends them back in this order),
    then the others."""
    names = [*state.columns, *(f["name"] for f in entity["fields"]), "created_at", "updated_at", "owner_id"]
    return [{"name": n, "label": labels.get(n, n)} for n in dict.fromkeys(names)]


def _page(entity: dict, state) -> dict:
    """One page of rows as the table shows them, and the links around it."""
    title = formats.title_field(entity)
    found = g.session.records.list(entity["name"], state.params(page_size(entity), also=[title] if title else []),
                                   condition=state.condition)
    items = found["items"]
    references = formats.reference_labels(items, entity)
    owners = names_of(r.get("owner_id") for r in items) if "owner_id" in state.columns else {}
    fields = entity["field_by_name"]
    rows = [{"id": r["id"], "title": formats.record_title(entity, r), "url": record_url(entity["name"], r["id"]),
             "cells": [list_cell(fields.get(c), c, r.get(c), references, owners) for c in state.columns]} for r in items]
    base = url_for("screens.entity_list", entity=entity["name"])
    labels = column_labels(entity)
    header = [{"name": c, "label": labels.get(c, c), "sort": state.sort_of(c),
               "href": base + "?" + state.query(sort=_next_sort(state, c)) if sortable(fields.get(c), c) else None}
              for c in state.columns]
    return {"entity": entity, "state": state, "rows": rows, "header": header, "list_url": base,
            "next_url": base + "?" + state.query(cursor=found["next_cursor"]) if found["next_cursor"] else None,
            "first_url": base + "?" + state.query() if state.cursor else None,
            "count_url": url_for("screens.entity_list_count", entity=entity["name"]) + "?" + state.query(),
            "csv_url": url_for("screens.entity_list_export", entity=entity["name"]) + "?" + state.query()}


def _next_sort(state, name: str) -> str:
    """Clicking a header sorts by it ascending, then descending."""
    return "-" + name if state.sort_of(name) == "ascending" else name


def list_cell(field, name, value, labels, owners) -> str:
    """A list row's cell: a field's value as the list shows it (choices as badges), or a
    system column's."""
    if field is not None:
        return formats.badged(field, value, labels)
    if name == "owner_id":
        return owners.get(value, "" if value is None else f"#{value}")
    if name in ("created_at", "updated_at"):
        return formats.moment(value) if value else ""
    return "" if value is None else str(value)


@screens.get("/e/<entity>/count")
def entity_list_count(entity):
    """The number of matching records, exact up to 1,000 (asked after the rows appear)."""
    found = list_entity(entity)
    state = read_state(request.args, screen_view(), found)
    count = g.session.records.count(entity, state.filter_params(), cap=COUNT_CAP, condition=state.condition)
    text = _("%(count)s+ records", count=format_decimal(COUNT_CAP - 1)) if count >= COUNT_CAP else \
        _("%(count)s records", count=format_decimal(count))
    return render_template("screens/_list_count.html", text=text)


@screens.get("/e/<entity>/export.csv")
def entity_list_export(entity):
    """The current view's records as CSV: every matching record, the visible columns only
    (`purpose`: what the export is for, as the API's export takes it)."""
    found = list_entity(entity)
    args = request.args.copy()
    purpose = args.pop("purpose", None)
    state = read_state(args, screen_view(), found)
    params = [*state.filter_params(), ("fields", ",".join(state.columns))]
    if state.sort:
        params.append(("sort", state.sort))
    records = g.session.records.export(entity, params, condition=state.condition, purpose=purpose)
    body = as_csv(records, ["id", *state.columns])
    response = Response(stream_with_context(body), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{entity}.csv"'
    return response


@screens.get("/e/<entity>/choose/<field>")
def reference_choices(entity, field):
    """The records a reference filter or value may pick: those the user may read whose
    text matches `term` (the target's quick search)."""
    found = list_entity(entity)
    reference = found["field_by_name"].get(field)
    if reference is None or reference["base_type"] != "reference" or entity_view(reference["to"]) is None:
        abort(404, description=_("There is no list called %(name)s.", name=field[:60]))
    target = entity_view(reference["to"])
    term = request.args.get("term", "").strip()
    params = [("limit", str(CHOICES_SHOWN))] + ([("q", term)] if term else [])
    title = formats.title_field(target)
    if title:
        params += [("fields", title), ("sort", title)]
    items = g.session.records.list(target["name"], params)["items"]
    options = [{"id": r["id"], "title": formats.record_title(target, r)} for r in items]
    return render_template("screens/_list_choices.html", options=options, field=reference,
                           name=request.args.get("name", field), selected=request.args.get("selected", ""))
