"""Preview on a record: the admin picks a real record (by search or id) and sees its page,
its row in the list and its card on the kanban as they would be with the draft published
— drawn from the draft's metadata in memory, read only, the live schema untouched."""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer.common import drafts
from admin_ui.designer.edits import dicts
from admin_ui.designer.preview_view import as_drafted, drafted, drawn_with, screens_of
from admin_ui import problems
from admin_ui.formats import reference_labels, record_title, title_field
from engine.whole import whole_number
from admin_ui.record_access import record_or_404
from admin_ui.view import entity_view, screen_view
from admin_ui.web import admin_only, screens
from engine.errors import BadQuery

FOUND_SHOWN = 20


def _entities(draft) -> list[dict]:
    """The entities a record can be previewed of: the draft's that hold records today."""
    names = {e.get("name") for e in dicts(draft.document, "entities")}
    return [{"name": e["name"], "label": e["plural_label"] or e["label"]}
            for e in screen_view()["entities"] if e["name"] in names]


@screens.get("/designer/preview")
@admin_only
def designer_preview_pick():
    """Choose an entity, then a record by id or by searching its records."""
    draft = drafts().open()
    entities = _entities(draft)
    chosen = request.args.get("entity", "")
    if chosen and chosen not in {e["name"] for e in entities}:
        abort(404)
    record_id = request.args.get("id", "").strip()
    problem = None
    if chosen and record_id:
        if whole_number(record_id, 1) is not None:
            return redirect(url_for("screens.designer_preview", entity=chosen, record_id=int(record_id)))
        problem = _("A record's id is a whole number, e.g. 12.")
    found = None
    if chosen and not record_id:
        try:
            found = _search(chosen, request.args.get("q", "").strip())
        except BadQuery as error:
            problem = problems.headline(error.code, error.message)
    return render_template("designer/preview_pick.html", title=_("Preview on a record"), entities=entities,
                           chosen=chosen, q=request.args.get("q", ""), record_id=record_id, found=found,
                           problem=problem), 400 if problem else 200


def _search(entity_name: str, term: str) -> list[dict]:
    """The first records of the entity matching `term` (its quick search), as they are."""
    entity = entity_view(entity_name)
    params = [("limit", str(FOUND_SHOWN))] + ([("q", term)] if term else [])
    title = title_field(entity)
    if title:
        params.append(("fields", title))
    items = g.session.records.list(entity_name, params)["items"]
    return [{"id": r["id"], "title": record_title(entity, r),
             "url": url_for("screens.designer_preview", entity=entity_name, record_id=r["id"])} for r in items]


@screens.get("/designer/preview/<entity>/<record_id>")
@admin_only
def designer_preview(entity, record_id):
    """The record's page, list row and kanban card with the draft applied."""
    draft = drafts().open()
    live = entity_view(entity)
    if live is None:
        abort(404)
    record = record_or_404(live, record_id)
    context = {"title": _("Preview of your draft"), "entity_name": entity, "record_id": record["id"],
               "live_title": record_title(live, record), "draft": draft}
    if draft.problems:
        return render_template("designer/preview.html", **context), 409
    package, view = drafted(draft)
    drafted_entity = package.entity(entity)
    if drafted_entity is None:
        return render_template("designer/preview.html", dropped=True, **context)
    labels = reference_labels([record], live)  # the live targets' titles, read as the live screens read them
    values, added, converted = as_drafted(record, g.session.metadata().package.entity(entity), drafted_entity)
    shown_entity = view["entity_by_name"][entity]
    with drawn_with(view, package):
        drawn = screens_of(shown_entity, values, labels, view)
    names = {f["name"]: f["label"] or f["name"] for f in shown_entity["fields"]}
    return render_template("designer/preview.html", entity=shown_entity, record=values, labels=labels,
                           added=[names[n] for n in added if n in names],
                           converted=[names[n] for n in converted if n in names],
                           **drawn, **context)
