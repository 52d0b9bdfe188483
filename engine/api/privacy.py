"""Data-subject requests and consent refusals over REST (admins only), under
`/api/v1/t/<tenant>/privacy/`: a party's access bundle, its erasure, retention (a dry
run first) and the log of all three, and the messages refused for want of consent."""
from __future__ import annotations

from flask import Response, g, jsonify, request

from engine.api.body import json_body
from engine.api.params import accepts, flag
from engine.api.routes import api
from engine.errors import BadQuery, ValidationFailed
from engine.privacy import bundle as bundles
from engine.privacy import log, retention
from engine.privacy.erasure import erase

PURPOSES = ("service", "marketing", "analytics", "sharing", "profiling", "cross_border")


def _admin(to: str):
    g.session.require_admin(to=to)
    return g.session


def _whole(name, default=None, most=None):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) < 1 or (most and int(raw) > most):
        bound = f" between 1 and {most}" if most else ""
        raise BadQuery(f"{name} must be a whole number{bound}",
                       details=[{"field": name, "message": raw[:40]}])
    return int(raw)


@api.get("/privacy/parties/<party_id>/bundle")
@accepts("format")
def party_bundle(party_id):
    """Everything held about the party, as JSON (`format=zip`: with one CSV per entity)."""
    session = _admin("export a party's personal data")
    kind = request.args.get("format", "json")
    if kind not in ("json", "zip"):
        raise BadQuery("format must be json or zip", details=[{"field": "format", "message": kind[:40]}])
    found = bundles.bundle(session, party_id)
    if kind == "json":
        return jsonify(found)
    return Response(bundles.as_zip(found), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="party-{found["id"]}.zip"'})


@api.post("/privacy/parties/<party_id>/erasure")
def party_erasure(party_id):
    """Body {reason}: erase the party's personal data everywhere Loom keeps it."""
    session = _admin("erase personal data")
    body = json_body(keys=("reason",))
    return jsonify(erase(session, party_id, body.get("reason")))


@api.post("/privacy/retention")
@accepts("dry_run")
def run_retention():
    """Apply the entities' retention rules; `dry_run=true` reports what would be done."""
    session = _admin("run retention")
    return jsonify(retention.run(session, dry_run=flag("dry_run")))


@api.get("/privacy/log")
@accepts("entity", "record", "limit")
def privacy_log():
    session = _admin("read the data-subject request log")
    entity = request.args.get("entity")
    return jsonify({"items": log.entries(session.storage, entity, _whole("record"),
                                         _whole("limit", 100, 1000))})


@api.get("/privacy/consent-refusals")
@accepts("party", "purpose", "limit")
def consent_refusals():
    """Messages not sent for want of consent, one row per recipient, newest first."""
    session = _admin("read the consent refusals")
    purpose = request.args.get("purpose")
    if purpose is not None and purpose not in PURPOSES:
        raise ValidationFailed(f"purpose must be one of {', '.join(PURPOSES)}",
                               details=[{"field": "purpose", "message": purpose[:40]}])
    return jsonify({"items": log.refusals(session.storage, _whole("party"), purpose, _whole("limit", 100, 1000))})
