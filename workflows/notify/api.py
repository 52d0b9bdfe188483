"""The in-app notifications API: `/api/v1/t/<tenant>/notifications`.

Authentication is the tenant API's (`engine.api.auth`): 401 without a bearer token, one
404 for an unknown tenant and a token of another tenant. Error responses come from the
app's handlers."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from engine.api.auth import tenant_api
from engine.api.body import json_body
from engine.api.params import accepts
from engine.errors import ValidationFailed
from workflows.notify import inapp
from engine.whole import whole_number

notifications = Blueprint("notifications", __name__, url_prefix="/api/v1/t/<tenant>")
tenant_api(notifications)
INT64 = 2**63 - 1


@notifications.get("/notifications")
@accepts("unread", "limit")
def list_notifications():
    unread = _flag("unread")
    given = request.args.get("limit", "50")
    limit = whole_number(given, 1, inapp.MAX_LIMIT)
    if limit is None:
        raise ValidationFailed(f"limit must be a number from 1 to {inapp.MAX_LIMIT}",
                               details=[{"field": "limit", "message": given[:20]}])
    storage, user_id = g.session.storage, g.session.actor.id
    return jsonify({"items": inapp.list_for(storage, user_id, unread_only=unread, limit=limit),
                    "unread": inapp.unread_count(storage, user_id)})


@notifications.post("/notifications/read")
def read_notifications():
    ids = json_body(keys=("ids",)).get("ids")
    if not isinstance(ids, list):
        raise ValidationFailed("ids must be a list of notification ids",
                               details=[{"field": "ids", "message": "expected a list"}])
    if len(ids) > inapp.MAX_IDS:
        raise ValidationFailed(f"at most {inapp.MAX_IDS} ids at a time",
                               details=[{"field": "ids", "message": f"{len(ids)} ids"}])
    bad = [{"field": f"ids/{i}", "message": "not a notification id"} for i, v in enumerate(ids)
           if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= INT64]
    if bad:
        raise ValidationFailed("ids must be positive whole numbers", details=bad[:100])
    return jsonify({"marked": inapp.mark_read(g.session.storage, g.session.actor.id, ids)})


def _flag(name) -> bool:
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ValidationFailed(f"{name} must be true or false", details=[{"field": name, "message": raw[:20]}])
    return raw in ("true", "1", "yes")
