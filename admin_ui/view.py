"""What the screens draw from: the members' metadata view (`engine.app_view`) of the
signed-in user's role in the request's language, kept with the compiled metadata."""
from __future__ import annotations

from flask import g

from admin_ui.i18n import language_of_request
from engine.app_view import app_view


def screen_view() -> dict:
    """The view for this request (shared between requests: read it, never change it)."""
    found = g.get("ui_view")
    if found is None:
        compiled = g.session.metadata()
        role, language = g.ui_user.role, language_of_request()
        permissions = g.session.records.permissions  # the user's roles: what the screens may draw
        found = g.ui_view = compiled.memo(
            ("screen_view", permissions.key, language),
            lambda: view_of(permissions.visible_package(compiled.package), compiled.version, role, language))
    return found


def view_of(package, version: int, role: str, language: str) -> dict:
    """The screens' view of any package (the designer draws a draft's with it)."""
    return _indexed(app_view(package, version, role, language))


def _indexed(view: dict) -> dict:
    view["entity_by_name"] = {e["name"]: e for e in view["entities"]}
    for entity in view["entities"]:
        entity["field_by_name"] = {f["name"]: f for f in entity["fields"]}
    view["workflow_by_entity"] = {w["entity"]: w for w in view["workflows"]}
    return view


def entity_view(name: str) -> dict | None:
    return screen_view()["entity_by_name"].get(name)
