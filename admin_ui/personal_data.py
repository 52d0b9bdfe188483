"""Personal data on the screens: a record page's "Unmask" button per masked field (a
dialog asks the reason; the engine gives the clear value and logs it), the record's
access entries for admins, and the designer's access log page.

What is masked and who may see what is the engine's (`engine.records.pii`); these views
only draw it."""
from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import abort, g, make_response, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer.common import shown
from admin_ui.formats import moment
from admin_ui.record_access import entity_or_404, record_or_404
from admin_ui.record_pages import page_context
from admin_ui.web import admin_only, screens
from engine import people
from engine.errors import ValidationFailed
from engine.records.access_log import access_page
from engine.records.audit_log import AuditQuery

FILTERS = ("user", "entity", "record", "since", "until")
RECORD_ENTRIES = 20


def masked_fields(entity_name: str) -> set:
    """Names of the fields of `entity_name` the user reads masked."""
    compiled = g.session.metadata().entity(entity_name)
    return set(g.session.records.masking.hidden(compiled)) if compiled is not None else set()


def record_access(entity_name: str, record_id: int) -> list[dict] | None:
    """The record's latest access entries, for an admin (None for anyone else)."""
    if not g.ui_user.is_admin:
        return None
    page = access_page(g.session.storage, AuditQuery(entity=entity_name, record_id=record_id, limit=RECORD_ENTRIES))
    return _rows(page["items"])


@screens.context_processor
def _personal_data_helpers():
    return {"masked_fields": masked_fields, "record_access": record_access}


def _field(entity: dict, name: str) -> dict:
    field = entity["field_by_name"].get(name)
    if field is None or name not in masked_fields(entity["name"]):
        abort(404)
    return field


@screens.get("/e/<entity>/<record_id>/unmask/<name>")
def unmask_dialog(entity, record_id, name):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    return render_template("screens/record/_unmask.html", entity=found, record=record,
                           field=_field(found, name), key=secrets.token_hex(4), problem=None)


@screens.post("/e/<entity>/<record_id>/unmask/<name>")
def unmask_field(entity, record_id, name):
    """The field's clear value (an htmx request: the value in place of the masked one; a
    plain form post: the record page with it), or the dialog again saying what is wrong."""
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    field = _field(found, name)
    try:
        clear = g.session.records.unmask(found["name"], record["id"], [name], request.form.get("reason"))
    except ValidationFailed:
        key = (request.form.get("key") or "")[:16] or secrets.token_hex(4)
        response = make_response(render_template(
            "screens/record/_unmask.html", entity=found, record=record, field=field, key=key,
            problem=_("Say why you need to see it (at most 500 characters).")), 422)
        response.headers["HX-Retarget"], response.headers["HX-Reswap"] = f"#unmask-{key}", "outerHTML"
        return response
    if request.headers.get("HX-Request"):
        return render_template("screens/record/_unmasked.html", entity=found, field=field,
                               value=clear["fields"][name])
    return render_template("screens/record/page.html", **page_context(found, {**record, **clear["fields"]}))


@screens.get("/designer/access-log")
@admin_only
def designer_access_log():
    storage = g.session.storage
    everyone = people.people(storage)
    labels = {e.name: shown(e.label, e.name) for e in g.session.metadata().package.entities}
    chosen = {key: (request.args.get(key) or "").strip()[:100] for key in FILTERS}
    problems, page, status = [], {"items": [], "next": None}, 200
    try:
        page = access_page(storage, AuditQuery.parse(request.args))
    except ValidationFailed as exc:
        problems, status = exc.details, 400
    filters = {k: v for k, v in chosen.items() if v}
    base = url_for("screens.designer_access_log")
    older = base + "?" + urlencode({**filters, "before": page["next"]}) if page["next"] else None
    return render_template("designer/access_log.html", title=_("Access log"), rows=_rows(page["items"], labels),
                           people=everyone, entities=sorted(labels.items(), key=lambda e: e[1].lower()),
                           chosen=chosen, problems={p["field"]: p["message"] for p in problems},
                           older=older), status


def _rows(items: list[dict], labels: dict | None = None) -> list[dict]:
    names = {p.id: p.display_name or p.email for p in people.people(g.session.storage)}
    return [{**r, "when": moment(r["at"]), "who": names.get(r["actor_id"]) or (r["detail"] or {}).get("email") or "—",
             "entity_label": (labels or {}).get(r["entity"], r["entity"]),
             "link": url_for("screens.record_page", entity=r["entity"], record_id=r["record_id"])
             if labels and r["entity"] in labels and r["record_id"] else None} for r in items]
