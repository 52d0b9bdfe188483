"""Personal data over REST: unmasking a record's fields with a reason
(`POST /records/<entity>/<id>/unmask`) and the access log (`GET /access-log`, admins)."""
from __future__ import annotations

from flask import g, jsonify, request

from engine.api.body import json_body
from engine.api.params import accepts
from engine.api.routes import api
from engine.records.access_log import access_page
from engine.records.audit_log import AuditQuery


@api.post("/records/<entity>/<record_id>/unmask")
def unmask_record(entity, record_id):
    """Body {fields: [names], reason}: the fields' clear values; the access is logged."""
    body = json_body(keys=("fields", "reason"))
    return jsonify(g.session.records.unmask(entity, record_id, body.get("fields"), body.get("reason")))


@api.get("/access-log")
@accepts("user", "entity", "record", "since", "until", "before", "limit")
def access_log():
    """The access log, newest first, filtered; `next` is the `before` of the next page."""
    g.session.require_admin(to="read the access log")
    return jsonify(access_page(g.session.storage, AuditQuery.parse(request.args, "access log")))
