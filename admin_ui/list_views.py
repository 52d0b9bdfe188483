"""Saving, renaming and deleting a list's views from the list screen (the storage and its
rules are the engine's `engine.records.saved_views`). A view is saved from the list's current query string, checked
as the list itself checks it, so a view never holds what the list would refuse."""
from __future__ import annotations

from urllib.parse import parse_qsl

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from admin_ui.list_state import read_state
from admin_ui.lists import list_entity
from admin_ui.view import screen_view
from admin_ui.web import screens
from engine.records import saved_views

MAX_QUERY = 8000


@screens.post("/e/<entity>/views")
def save_list_view(entity):
    found = list_entity(entity)
    query = request.form.get("query", "")[:MAX_QUERY]
    pairs = [(k, v) for k, v in parse_qsl(query) if k not in ("cursor", "view")]
    state = read_state(MultiDict(pairs), screen_view(), found)
    g.session.records.check_list(found["name"], state.params(1), condition=state.condition)  # as the list would
    shared = request.form.get("shared") == "yes"
    view = saved_views.save_view(g.session.storage, entity, request.form.get("name", ""), state.definition(),
                                 g.ui_user, shared=shared)
    flash(_("Saved the view %(name)s.", name=view.name))
    return redirect(url_for("screens.entity_list", entity=entity, view=view.id))


@screens.post("/e/<entity>/views/<view_id>/rename")
def rename_list_view(entity, view_id):
    list_entity(entity)
    view = saved_views.rename_view(g.session.storage, entity, view_id, request.form.get("name", ""), g.ui_user)
    flash(_("Renamed the view to %(name)s.", name=view.name))
    return redirect(url_for("screens.entity_list", entity=entity, view=view.id))


@screens.post("/e/<entity>/views/<view_id>/delete")
def delete_list_view(entity, view_id):
    list_entity(entity)
    saved_views.delete_view(g.session.storage, entity, view_id, g.ui_user)
    flash(_("Deleted the view."))
    return redirect(url_for("screens.entity_list", entity=entity))
