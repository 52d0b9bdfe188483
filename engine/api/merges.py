"""Merging records over REST: `POST /records/<entity>/merge` (`?dry_run=true` for the
preview), `GET /merges/<id>` and `POST /merges/<id>/undo` (the record service's
`merge`, `get_merge` and `undo_merge`)."""
from __future__ import annotations

from flask import g, jsonify, request

from engine.api.body import json_body
from engine.api.params import accepts, flag
from engine.api.routes import api

MERGE_KEYS = ("survivor", "losers", "fields")


@api.post("/records/<entity>/merge")
@accepts("dry_run")
def merge_records(entity):
    body = json_body(keys=MERGE_KEYS)
    dry_run = flag("dry_run")
    answer = g.session.records.merge(entity, body.get("survivor"), body.get("losers"), body.get("fields"),
                                     dry_run=dry_run)
    if dry_run:
        return jsonify(answer)
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = f"{request.script_root}/api/v1/t/{g.session.tenant.slug}/merges/{answer['id']}"
    return response


@api.get("/merges/<merge_id>")
def get_merge(merge_id):
    return jsonify(g.session.records.get_merge(merge_id))


@api.post("/merges/<merge_id>/undo")
def undo_merge(merge_id):
    return jsonify(g.session.records.undo_merge(merge_id))
