"""Merging a duplicate into the record on screen, and undoing a merge: "Merge…" on a
record's page opens a page to find the duplicate, choose the winning value of each field
that differs, preview what the merge does (the values, the related records it moves, any
conflict) and confirm; the survivor's timeline entry of the merge has "Undo merge".

Every decision is the record service's (`records.merge` with `dry_run` for the preview,
`records.merge`, `records.undo_merge`): this module only draws and posts them."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.formats import display, record_title
from engine.whole import whole_number
from admin_ui.record_access import entity_or_404, record_or_404
from admin_ui.view import entity_view
from admin_ui.web import screens
from engine.errors import LoomError, NotFound

FOUND = 20
PREFIX = "field."


@screens.get("/e/<entity>/<record_id>/merge")
def merge_page(entity, record_id):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    return render_template("screens/record/merge.html", **_context(found, record, request.args))


@screens.post("/e/<entity>/<record_id>/merge")
def merge_post(entity, record_id):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    loser = _loser_id(request.form)
    try:
        g.session.records.merge(found["name"], record["id"], [loser] if loser else [], _choices(request.form))
    except NotFound:
        abort(404)
    except LoomError as exc:
        return render_template("screens/record/merge.html",
                               **_context(found, record, request.form, refused=exc)), exc.status
    flash(_("Merged. The merge can be undone from the timeline."))
    return redirect(url_for("screens.record_page", entity=found["name"], record_id=record["id"]))


@screens.post("/e/<entity>/<record_id>/merges/<merge_id>/undo")
def merge_undo(entity, record_id, merge_id):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    try:
        g.session.records.undo_merge(merge_id)
    except NotFound:
        abort(404)
    except LoomError as exc:  # a later change it would overwrite, or no right to undo it
        details = "; ".join(d["message"] for d in exc.details or [])
        flash(_("The merge was not undone: %(reason)s", reason=details or exc.message))
    else:
        flash(_("Merge undone."))
    return redirect(url_for("screens.record_page", entity=found["name"], record_id=record["id"]))


def _loser_id(values) -> int | None:
    return whole_number(values.get("loser") or "", lowest=1)


def _choices(values) -> dict:
    return {key[len(PREFIX):]: whole_number(value) for key, value in values.items()
            if key.startswith(PREFIX) and whole_number(value, lowest=1) is not None}


def _context(entity: dict, record: dict, values, refused=None) -> dict:
    """The page: the search for a duplicate, and the preview of merging the chosen one."""
    query = (values.get("q") or "").strip()[:200]
    candidates = []
    if query:
        params = [("q", query), ("limit", str(FOUND + 1))]
        candidates = [r for r in g.session.records.list(entity["name"], params)["items"] if r["id"] != record["id"]]
    loser_id = _loser_id(values)
    preview, loser, rows, problem = None, None, [], refused
    if loser_id is not None and problem is None:
        try:
            loser = g.session.records.get(entity["name"], loser_id)
            preview = g.session.records.merge(entity["name"], record["id"], [loser_id], _choices(values),
                                              dry_run=True)
        except LoomError as exc:
            problem = exc
    if preview is not None:
        rows = _rows(entity, record, loser, preview)
    return {"title": _("Merge into %(title)s", title=record_title(entity, record)), "nav_entity": entity["name"],
            "entity": entity, "record": record, "query": query, "candidates": candidates[:FOUND],
            "loser": loser, "preview": preview, "rows": rows, "moved": _moved(preview), "problem": problem,
            "record_title": record_title}


def _rows(entity: dict, record: dict, loser: dict, preview: dict) -> list[dict]:
    """The fields whose values differ: each with both values and the one that wins."""
    rows = []
    for name, winner in preview["winners"].items():
        field = entity["field_by_name"].get(name)
        if field is None or record.get(name) == loser.get(name):
            continue
        rows.append({"field": field, "name": name, "mine": display(field, record.get(name)) or "—",
                     "theirs": display(field, loser.get(name)) or "—",
                     "winner": loser["id"] if winner["from"] == loser["id"] else record["id"]})
    return rows


def _moved(preview) -> list[dict]:
    """The related records the merge moves, per entity."""
    if preview is None:
        return []
    out = []
    for name, by_field in sorted(preview["references"].items()):
        about = entity_view(name)
        count = sum(len(ids) for by_loser in by_field.values() for ids in by_loser.values())
        out.append({"label": about["plural_label"] if about and about.get("plural_label") else name,
                    "count": count})
    return out
