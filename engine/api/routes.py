"""The REST API of one tenant: `/api/v1/t/<tenant>/…`, bearer tokens of that tenant."""
from __future__ import annotations

import re

from flask import Blueprint, Response, g, jsonify, request, stream_with_context

from engine.api.auth import tenant_api
from engine.api.body import json_body
from engine.api.openapi import openapi_document
from engine.api.params import accepts, accepts_filters, flag, refuse_repeated, state_map
from engine.app_view import cached_view
from engine.errors import NotFound, ValidationFailed
from engine.records.export import FORMATS, as_csv, as_jsonl, columns_of
from engine.timefmt import iso_utc
from metadata import effective_layout, effective_layouts
from metadata.language import is_language_tag

api = Blueprint("api", __name__, url_prefix="/api/v1/t/<tenant>")
tenant_api(api)
VERSION_TEXT = re.compile(r"[0-9]{1,9}")


def _record_response(record, status=200):
    response = jsonify(record)
    response.status_code = status
    response.headers["ETag"] = f'"{record["version"]}"'
    return response


@api.post("/records/<entity>")
@accepts("allow_duplicates")
def create_record(entity):
    record = g.session.records.create(entity, json_body(), allow_duplicates=flag("allow_duplicates"))
    response = _record_response(record, 201)
    response.headers["Location"] = f"{request.path}/{record['id']}"
    return response


@api.post("/records/<entity>/batch")
@accepts("allow_duplicates")
def create_records(entity):
    body = json_body(keys=("records",))
    ids = g.session.records.create_many(entity, body.get("records"), allow_duplicates=flag("allow_duplicates"))
    return jsonify({"created": len(ids), "ids": ids}), 201


@api.get("/records/<entity>")
@accepts_filters
def list_records(entity):
    return jsonify(g.session.records.list(entity, request.args.items(multi=True)))


EXPORT_OPTIONS = ("format", "purpose")  # an export's own parameters, beside the list filters


@api.get("/records/<entity>/export")
@accepts_filters
def export_records(entity):
    """Every readable record matching the list filters, streamed: `?format=jsonl|csv`."""
    refuse_repeated(EXPORT_OPTIONS)  # the filters, the list query checks itself
    params = [(k, v) for k, v in request.args.items(multi=True) if k not in EXPORT_OPTIONS]
    kind = request.args.get("format", "jsonl")
    if kind not in FORMATS:
        raise ValidationFailed(f"format must be one of: {', '.join(FORMATS)}",
                               details=[{"field": "format", "message": f"{kind[:40]!r} is not a format"}])
    records = g.session.records.export(entity, params, purpose=request.args.get("purpose"))
    if kind == "csv":
        fields = request.args.get("fields")
        only = None if fields is None else {"id", "version", *fields.split(",")}
        body = as_csv(records, columns_of(g.session.records.visible_entity(entity), only))
    else:
        body = as_jsonl(records)
    response = Response(stream_with_context(body), content_type=FORMATS[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{entity}.{kind}"'
    return response


@api.get("/records/<entity>/<record_id>")
@accepts("fields")
def get_record(entity, record_id):
    return _record_response(g.session.records.get(entity, record_id, fields=request.args.get("fields")))


@api.patch("/records/<entity>/<record_id>")
@accepts("allow_duplicates")
def update_record(entity, record_id):
    record = g.session.records.update(entity, record_id, json_body(),
                                      expected_version=request.headers.get("If-Match"),
                                      allow_duplicates=flag("allow_duplicates"))
    return _record_response(record)


@api.delete("/records/<entity>/<record_id>")
def delete_record(entity, record_id):
    return jsonify(g.session.records.delete(entity, record_id, expected_version=request.headers.get("If-Match"),
                                            body=json_body(optional=True)))


@api.get("/records/<entity>/<record_id>/history")
def record_audit(entity, record_id):
    return jsonify({"items": g.session.records.history(entity, record_id)})


@api.get("/metadata")
@accepts("layer")
def get_metadata():
    """The effective document (default) with the source of each definition, or one layer:
    `?layer=pack` the installed packs' base, `?layer=tenant` the tenant's own changes."""
    from engine.packs.show import show_layer

    g.session.require_admin(to="read the full metadata document", instead=_members_read())
    layer = request.args.get("layer", "effective")
    if layer not in LAYERS:
        raise ValidationFailed(f"layer must be one of {', '.join(LAYERS)}",
                               details=[{"field": "layer", "message": layer[:40]}])
    return jsonify(show_layer(g.session, layer))


LAYERS = ("effective", "pack", "tenant")


@api.put("/metadata")
@accepts("allow_drop", "dry_run", "map_state")
def put_metadata():
    g.session.require_admin(to="change metadata")
    flags = {name: flag(name) for name in ("allow_drop", "dry_run")}
    result = g.session.apply_metadata(json_body(), state_map=state_map(), **flags)
    return jsonify(result.to_dict()), 200


@api.get("/metadata/history")
def metadata_history():
    g.session.require_admin(to="read the metadata history", instead=_members_read())
    return jsonify({"items": [_version_summary(v) for v in g.session.metadata_history()]})


@api.get("/metadata/app")
@accepts("lang")
def metadata_for_screens():
    """The members' metadata view (`engine.app_view`), for every user of the tenant;
    `?lang=zh-CN` gives each label as one text. Its ETag names the metadata version, so
    a screen revalidates with If-None-Match and gets a 304 while nothing changed."""
    session, language = g.session, _language()
    compiled = session.metadata()
    role, permissions = session.actor.role, session.records.permissions
    held = ".".join("+".join(part) if isinstance(part, tuple) else part for part in permissions.key)
    etag = f"{session.tenant.uid[:12]}.{compiled.version}.{held}.{language or 'all'}"
    if request.if_none_match.contains(etag) or request.if_none_match.star_tag:
        response = Response(status=304)
    else:
        response = Response(cached_view(compiled, role, language, permissions), mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _language() -> str | None:
    language = request.args.get("lang")
    if language is not None and not is_language_tag(language):
        raise ValidationFailed("lang must be a language tag such as en or zh-CN",
                               details=[{"field": "lang", "message": f"{language[:40]!r} is not a language tag"}])
    return language


@api.post("/metadata/rollback/<version>")
@accepts("map_state")
def metadata_rollback(version):
    g.session.require_admin(to="roll metadata back")
    if not VERSION_TEXT.fullmatch(version):
        raise NotFound(f"no metadata version {version[:40]!r}", code="version_not_found")
    return jsonify(g.session.rollback_metadata(int(version), state_map()).to_dict())


@api.get("/layouts")
@accepts("entity")
def list_layouts():
    """Every layout as screens render it (hidden fields left out); `?entity=` narrows it."""
    package = g.session.metadata().package
    entity = request.args.get("entity")
    if entity is not None and package.entity(entity) is None:
        raise NotFound(f"no entity {entity[:60]!r}", code="entity_not_found")
    return jsonify({"items": effective_layouts(package, entity)})


@api.get("/layouts/<name>")
def get_layout(name):
    layout = effective_layout(g.session.metadata().package, name)
    if layout is None:
        raise NotFound(f"no layout {name[:60]!r}", code="layout_not_found")
    return jsonify(layout)


@api.get("/openapi.json")
@accepts("lang")
def openapi():
    """Titles and descriptions in the tenant's default language, or `?lang=`."""
    session = g.session
    compiled = session.metadata()
    described = session.install.plugins.hook("loom_openapi_paths", session.enabled)(package=compiled.package)
    language = _language() or session.tenant.language
    return jsonify(openapi_document(session.tenant.slug, compiled, described, language))


def _version_summary(row) -> dict:
    return {"version": row["version"], "applied_at": iso_utc(row["applied_at"]),
            "applied_by": row["applied_by"], "action": row["action"],
            "changes": row["changes"], "archives": row["archives"]}


def _members_read() -> str:
    return f"members read GET /api/v1/t/{g.session.tenant.slug}/metadata/app"
