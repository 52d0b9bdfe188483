"""Opening a record on a screen: an unknown entity, a malformed or unknown id and a record
the user may not read all end on the same 404 page, so a screen never hints that a record
exists."""
from __future__ import annotations

from flask import abort, g, render_template
from flask_babel import gettext as _

from admin_ui import record_form
from admin_ui.form_values import time_zone
from admin_ui.formats import badged, display, moment
from admin_ui.view import entity_view
from admin_ui.web import screens
from engine.errors import NotFound
from engine.records.inputs import record_id_of


def entity_or_404(name: str) -> dict:
    entity = entity_view(name)
    if entity is None:
        abort(404)
    return entity


def record_or_404(entity: dict, record_id) -> dict:
    """The record if the user may read it; otherwise the 404 every missing record gets."""
    try:
        return g.session.records.get(entity["name"], record_id_of(record_id, entity["name"]))
    except NotFound:
        abort(404)


@screens.errorhandler(404)
def _not_found(error):
    return render_template("screens/error.html", title=_("Not found"),
                           message=_("There is no such page or record, or you may not see it.")), 404


@screens.context_processor
def _record_helpers():
    return {"display": display, "badged": badged, "moment": moment, "record_value": record_form.as_value, "form": record_form,
            "time_zone": time_zone}
