"""The form editor's live preview: an entity's new-record form drawn from the DRAFT by the
record form's own code and template (`admin_ui.record_form`, screens/record/_form_body.html)
— the draft's effective layout, its conditions judged by the engine on the values typed
into the preview (asked again through htmx as they change). Nothing is saved."""
from __future__ import annotations

from contextlib import contextmanager

from flask import g, render_template, request, url_for
from markupsafe import Markup

from admin_ui import record_form
from admin_ui.i18n import language_of_request
from admin_ui.view import _indexed
from engine.app_view import app_view
from metadata import Package


@contextmanager
def _drawn_from(package: Package, version: int):
    """Within it the screens draw from `package` (the draft's), as the admin's role sees it;
    the request's own view comes back after (the page around the preview is the live one)."""
    saved = {key: g.get(key) for key in ("ui_view", "ui_package")}
    g.ui_view = _indexed(app_view(package, version, g.ui_user.role, language_of_request()))
    g.ui_package = package
    try:
        yield g.ui_view
    finally:
        for key, value in saved.items():
            setattr(g, key, value)


def preview(draft, entity_name: str, form=None) -> Markup:
    """The preview's form body as HTML: the draft's form of `entity_name` for a new record
    with the values of `form` (a submitted preview, else the fields' defaults); a short
    message instead while the draft has problems (their places say what to correct)."""
    if draft.problems:
        return Markup(render_template("designer/_form_preview_blocked.html", count=len(draft.problems)))
    package = Package.from_document(draft.document, extra_types=g.session.extra_types)
    with _drawn_from(package, draft.based_on) as view:
        entity = view["entity_by_name"].get(entity_name)
        if entity is None:
            return Markup(render_template("designer/_form_preview_blocked.html", count=0))
        typed = record_form.read_form(entity, form, before=None)[1] if form is not None else {}
        inputs = {**record_form.starting_values(entity), **typed}
        unsaved = record_form.unsaved(entity, None, inputs)
        layout = record_form.arranged(entity, unsaved, form.get("_tab") if form is not None else None)
        return Markup(render_template(
            "screens/record/_form_body.html", entity=entity, record=None, inputs=inputs, labels={},
            problems={}, layout=layout, form=record_form,
            refresh_url=url_for("screens.designer_form_preview", entity=entity_name)))


def submitted_preview(draft, entity_name: str) -> Markup:
    return preview(draft, entity_name, request.form)
