"""The import API of a tenant: upload a file to import into an entity (a dry run unless
`commit`), answered at once for a small dry run (`importer.in_request`), else as a
background job of kind "import" (`GET …/jobs/{id}` follows it); an import run and its
refused-rows file."""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from engine.api.auth import tenant_api
from engine.errors import ValidationFailed
from engine.imports import importer, kept, mapping as mappings, runs
from engine.imports.planning import Options
from engine.jsontext import RepeatedKey, strict_loads
from workflows.api import start_job

imports_api = Blueprint("imports", __name__, url_prefix="/api/v1/t/<tenant>")
tenant_api(imports_api)
FIELDS = ("mapping", "save_mapping", "key", "on_duplicate", "format", "encoding", "sheet", "commit", "chunk_size",
          "keep")
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "jsonl": "application/x-ndjson"}


def _form():
    """The import's form fields and its file: each given once (a second `file`, or a field
    given twice, would otherwise go unread — which one was meant is the caller's to say)."""
    unknown = sorted(set(request.form) - set(FIELDS))
    repeated = sorted(name for name in set(request.form) | set(request.files)
                      if len(request.form.getlist(name)) + len(request.files.getlist(name)) > 1)
    if unknown or repeated or "file" not in request.files or set(request.files) != {"file"}:
        details = [{"field": name, "message": "not a field of an import"} for name in unknown]
        details += [{"field": name, "message": "given more than once: which one is meant?"} for name in repeated]
        if "file" not in request.files:
            details.append({"field": "file", "message": "the file to import is required (multipart/form-data)"})
        raise ValidationFailed("an import is a multipart form with one file, each field given once",
                               code="bad_import_request", details=details)
    return request.form, request.files["file"]


def _flag(form, name) -> bool:
    value = form.get(name, "").strip().lower()
    if value not in TRUE + FALSE:
        raise ValidationFailed(f"{name} must be true or false", details=[{"field": name, "message": "true or false"}])
    return value in TRUE


def _mapping(value):
    if value is None or not value.strip():
        return None
    if value.lstrip().startswith("{"):
        try:
            return strict_loads(value)
        except RepeatedKey as exc:
            raise ValidationFailed(f"mapping names the column {exc.key[:100]!r} twice: which field is meant?",
                                   details=[{"field": "mapping", "message": "a column named twice"}]) from None
        except ValueError:  # TooDeep included
            raise ValidationFailed("mapping is not JSON", details=[{"field": "mapping", "message": "not JSON"}]) \
                from None
    if not mappings.NAME.fullmatch(value.strip()):
        raise ValidationFailed("mapping is neither a JSON object of column: field nor a saved mapping's name",
                               code="bad_mapping", details=[{"field": "mapping", "message":
                                                             "a JSON object, or a saved mapping's name"}])
    return value.strip()


def _chunk_size(form) -> int:
    value = form.get("chunk_size", "1000").strip()
    if not (value.isascii() and value.isdigit()):
        raise ValidationFailed("chunk_size must be a whole number",
                               details=[{"field": "chunk_size", "message": "a whole number from 1 to 10000"}])
    return int(value)


@imports_api.post("/imports/<entity>")
def post_import(entity):
    form, upload = _form()
    commit, keep = _flag(form, "commit"), _flag(form, "keep")
    source = importer.Source(upload.filename or "upload", upload.read(), form.get("format") or None,
                             form.get("encoding") or None, form.get("sheet") or None)
    options = Options(form.get("key") or None, form.get("on_duplicate") or None, _chunk_size(form))
    given = _mapping(form.get("mapping"))
    if form.get("save_mapping"):
        mappings.check_name(form["save_mapping"], g.session.storage, entity)  # before a run is kept or started
    service = g.session.records
    at_once = not commit and importer.in_request(g.session.install.settings, len(source.data))
    if at_once and not keep:
        result = importer.dry_run(service, entity, source, given, options)
        _save(form, entity, result.mapping)
        return jsonify(result.to_dict())
    run_id = importer.keep(service, entity, source, given, options, "running" if commit else "planned")
    _save(form, entity, runs.get(g.session.storage, run_id)["options"]["mapping"])
    if at_once:  # kept: committed later by …/imports/runs/{id}/commit
        return jsonify(importer.dry_run_of(service, run_id).to_dict())
    return start_job(g.session, "import", {"run_id": run_id, "commit": commit})


@imports_api.post("/imports/runs/<int:run_id>/commit")
def post_commit(run_id):
    """Commit a kept dry run (engine.imports.kept): 409 when its plan no longer holds."""
    if request.content_length or request.form or request.files:
        raise ValidationFailed("committing a kept dry run takes no body", code="bad_import_request")
    run = kept.check_commit(g.session.records, run_id)
    return start_job(g.session, "import", {"run_id": run["id"], "commit": True})


def _save(form, entity, columns) -> None:
    if form.get("save_mapping"):
        mappings.save(g.session.storage, form["save_mapping"], entity, columns,
                      g.session.actor.email if g.session.actor else None)


def _run(run_id):
    return runs.require_owner(runs.get(g.session.storage, run_id), g.session.actor)


@imports_api.get("/imports/runs/<int:run_id>")
def get_run(run_id):
    return jsonify(runs.public(_run(run_id)))


@imports_api.get("/imports/runs/<int:run_id>/refused")
def get_refused(run_id):
    run = _run(run_id)
    name, data = importer.refused_of(g.session.records, run["id"])
    response = Response(data, content_type=CONTENT_TYPES[run["options"]["format"]])
    response.headers["Content-Disposition"] = f'attachment; filename="refused.{run["options"]["format"]}"'
    return response
