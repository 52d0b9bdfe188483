"""Whole entities in the draft: relabel (English and Chinese, singular and plural, side by
side), place in the navigation (move up or down, or the whole order after a drag), hide
or show, and retire — the retiring page showing how many records it holds and what
names it before the admin confirms."""
from __future__ import annotations

from flask import abort, flash, g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from admin_ui.designer import edits, edits_entities
from admin_ui.designer.common import drafts, overview_url, save_edit, shown
from admin_ui.designer.entity_order import shown_order
from admin_ui.designer.fields import entity_page
from admin_ui.designer.usage import entity_usage
from admin_ui.web import admin_only, screens
from engine.packs.show import show_layer

MOVES = {"up": -1, "down": 1}


def _found(document: dict, entity: str) -> tuple[int, dict]:
    for i, definition in edits.indexed(document, "entities"):
        if definition.get("name") == entity:
            return i, definition
    abort(404, _("Your draft has no entity %(name)s.", name=entity))


def _pack_entities() -> frozenset:
    """The names of the entities an installed pack gives (hidden, never retired), worked
    out once per metadata version."""
    return g.session.metadata().memo(("designer_pack_entities",), lambda: frozenset(
        e["name"] for e in (show_layer(g.session, "pack").get("document") or {}).get("entities", [])))


def _back(entity: str) -> str:
    return f"{overview_url()}#entity-{entity}"


def label_problem(label) -> str | None:
    return None if label else _("Give the entity a label in English or Chinese (or both).")


@screens.post("/designer/e/<entity>/label")
@admin_only
def designer_relabel_entity(entity):
    form = request.form
    label = edits.labels(form.get("label_en"), form.get("label_zh"))
    plural = edits.labels(form.get("plural_en"), form.get("plural_zh"))
    problem = label_problem(label)
    if problem:
        return entity_page(entity, label_problem=problem, typed=form), 400
    return save_edit(edits_entities.relabel_entity, entity, label, plural,
                     back=url_for("screens.designer_entity", entity=entity))


@screens.post("/designer/e/<entity>/move")
@admin_only
def designer_move_entity(entity):
    step = MOVES.get(request.form.get("direction", ""))
    if step is None:
        abort(400, _("Move an entity up or down."))
    return save_edit(edits_entities.move_entity, shown_order(drafts().open()), entity, step, back=_back(entity))


@screens.post("/designer/entities/order")
@admin_only
def designer_order_entities():
    """The whole navigation order, after a drag (`order`: the names, comma separated)."""
    names = [n.strip() for n in request.form.get("order", "").split(",") if n.strip()]
    if not names:
        abort(400, _("Give the entities' order."))
    return save_edit(edits_entities.reorder_entities, names, back=overview_url())


@screens.post("/designer/e/<entity>/hidden")
@admin_only
def designer_hide_entity(entity):
    hidden = request.form.get("hidden")
    if hidden not in ("0", "1"):
        abort(400, _("Hide (1) or show (0) the entity."))
    return save_edit(edits_entities.set_entity_hidden, entity, hidden == "1", back=_back(entity))


@screens.get("/designer/e/<entity>/retire")
@admin_only
def designer_retire_entity_page(entity):
    draft = drafts().open()
    _i, definition = _found(draft.document, entity)
    label = shown(definition.get("label"), entity)
    usage = entity_usage(draft.document, entity)
    return render_template("designer/retire_entity.html", title=_("Retire %(name)s", name=label),
                           entity=entity, entity_label=label, records=_records(entity), usage=usage,
                           from_pack=entity in _pack_entities())


def _records(entity: str) -> int | None:
    """How many records the live entity holds (None when it is not published yet)."""
    compiled = g.session.metadata()
    table = compiled.tables.get(entity)
    if table is None:
        return None
    with g.session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@screens.post("/designer/e/<entity>/retire")
@admin_only
def designer_retire_entity(entity):
    if entity in _pack_entities():
        abort(409, _("The entity %(name)s comes from an installed pack: hide it instead.", name=entity))
    response = save_edit(edits_entities.retire_entity, entity, back=overview_url())
    flash(_("Retired the entity %(name)s in your draft; its records are archived when you publish.", name=entity))
    return response

