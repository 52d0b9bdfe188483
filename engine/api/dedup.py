"""The duplicate report over REST (admins): `GET /api/v1/t/<tenant>/dedup/<entity>/clusters`,
the clusters of the newest finished `dedup_scan` job of the entity (start one with
`POST /jobs {"kind": "dedup_scan", "params": {"entity": ...}}`)."""
from __future__ import annotations

from flask import g, jsonify, request

from engine.api.params import accepts
from engine.api.routes import api
from engine.dedup.job import latest_report
from engine.errors import BadQuery

MAX_LIMIT = 1000


def _whole(name: str, default: int, least: int, most: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not least <= int(raw) <= most:
        raise BadQuery(f"{name} must be a whole number from {least} to {most}",
                       details=[{"field": name, "message": f"{least} to {most}"}])
    return int(raw)


@api.get("/dedup/<entity>/clusters")
@accepts("offset", "limit")
def dedup_clusters(entity):
    offset = _whole("offset", 0, 0, 10_000_000)
    limit = _whole("limit", 100, 1, MAX_LIMIT)
    return jsonify(latest_report(g.session, entity, offset, limit))
