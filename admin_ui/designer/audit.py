"""The designer's audit log page: every record change of the tenant, newest first,
filtered by user, entity, record and a date range, a page at a time (the engine's keyset
query, `engine.records.audit_log`)."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import g, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer.common import shown
from admin_ui.formats import moment
from admin_ui.problems import translated
from admin_ui.web import admin_only, screens
from engine import people
from engine.errors import ValidationFailed
from engine.crypto.copies import opened_audit
from engine.records.audit_log import AuditQuery, audit_page

FILTERS = ("user", "entity", "record", "since", "until")


@screens.get("/designer/audit")
@admin_only
def designer_audit():
    storage = g.session.storage
    everyone = people.people(storage)
    names = {p.id: p.display_name or p.email for p in everyone}
    package = g.session.metadata().package
    labels = {e.name: shown(e.label, e.name) for e in package.entities}
    chosen = {key: (request.args.get(key) or "").strip()[:100] for key in FILTERS}
    problems, page, status = [], {"items": [], "next": None}, 200
    try:
        page = opened_audit(g.session.metadata(), audit_page(storage, AuditQuery.parse(request.args)))
    except ValidationFailed as exc:
        problems, status = exc.details, 400
    rows = [{**r, "when": moment(r["at"]), "who": names.get(r["actor_id"]) or _("the system"),
             "entity_label": labels.get(r["entity"], r["entity"]),
             "link": url_for("screens.record_page", entity=r["entity"], record_id=r["record_id"])
             if r["entity"] in labels and r["action"] != "delete" else None,
             "changes": sorted((r["changes"] or {}).items())} for r in page["items"]]
    filters = {k: v for k, v in chosen.items() if v}
    base = url_for("screens.designer_audit")
    older = base + "?" + urlencode({**filters, "before": page["next"]}) if page["next"] else None
    newest = (base + "?" + urlencode(filters) if filters else base) if "before" in request.args else None
    return render_template("designer/audit.html", title=_("Audit log"), rows=rows, people=everyone,
                           entities=sorted(labels.items(), key=lambda e: e[1].lower()), chosen=chosen,
                           problems={p["field"]: translated(p["code"], p["message"], p) for p in problems},
                           older=older,
                           newest=newest), status
