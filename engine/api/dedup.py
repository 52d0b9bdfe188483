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


PAGING = {"offset": (0, 0, 10_000_000), "limit": (100, 1, MAX_LIMIT)}  # name: (default, least, most)


def _paging() -> dict:
    """The query's offset and limit; every one out of its range refused at once."""
    values, details = {}, []
    for name, (default, least, most) in PAGING.items():
        raw = request.args.get(name)
        if raw is None:
            values[name] = default
        elif not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not least <= int(raw) <= most:
            details.append({"field": name, "message": f"a whole number from {least} to {most}"})
        else:
            values[name] = int(raw)
    if details:
        raise BadQuery("; ".join(f"{d['field']} must be {d['message']}" for d in details), details=details)
    return values


@api.get("/dedup/<entity>/clusters")
@accepts("offset", "limit")
def dedup_clusters(entity):
    paging = _paging()
    return jsonify(latest_report(g.session, entity, paging["offset"], paging["limit"]))
