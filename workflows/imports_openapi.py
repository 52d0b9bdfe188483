"""The import routes, described for the tenant's OpenAPI document (paths relative to
`/api/v1/t/<tenant>`)."""
from __future__ import annotations

from engine.api.openapi import error_responses
from engine.imports.planning import ON_DUPLICATE
from engine.imports.reading import FORMATS
from workflows.openapi import ID_PARAM, JOB, MAYBE_TEXT, MOMENT, TEXT

COUNT = {"type": "integer", "minimum": 0}
TOTALS = {"type": "object", "required": ["read", "created", "updated", "skipped", "refused", "balanced"],
          "properties": {"read": COUNT, "created": COUNT, "updated": COUNT, "skipped": COUNT, "refused": COUNT,
                         "balanced": {"type": "boolean", "description": "read = created + updated + skipped + "
                                                                       "refused"}}}
PROBLEM = {"type": "object", "properties": {"column": MAYBE_TEXT, "field": TEXT, "code": TEXT, "message": TEXT}}
ROW = {"type": "object", "required": ["row", "action"], "properties": {
    "row": {"type": "integer", "description": "the line in the file (the header is line 1)"},
    "action": {"type": "string", "enum": ["create", "update", "skip", "refuse"]},
    "record_id": {"type": "integer"}, "reason": TEXT,
    "problems": {"type": "array", "items": PROBLEM},
    "duplicates": {"type": "array", "items": {"type": "object", "properties": {
        "record_id": {"type": "integer"}, "score": {"type": "number"}, "rule": TEXT, "action": TEXT,
        "overridable": {"type": "boolean"}, "reasons": {"type": "array", "items": TEXT}}}}}}
RESULT = {"type": "object", "required": ["entity", "committed", "mapping", "unmapped", "totals"], "properties": {
    "entity": TEXT, "committed": {"type": "boolean"},
    "mapping": {"type": "object", "additionalProperties": {"type": "string", "nullable": True},
                "description": "column: field (null: unmapped)"},
    "unmapped": {"type": "array", "items": TEXT}, "totals": TOTALS, "run_id": {"type": "integer"},
    "rows": {"type": "array", "items": ROW}}}
RUN = {"type": "object", "required": ["id", "entity", "filename", "status"], "properties": {
    "id": {"type": "integer"}, "entity": TEXT, "filename": TEXT,
    "status": {"type": "string", "enum": ["planned", "running", "done", "failed"]},
    "totals": {"type": "object", "nullable": True}, "created_by": MAYBE_TEXT, "created_at": MOMENT,
    "finished_at": {"type": "string", "format": "date-time", "nullable": True},
    "file_kept": {"type": "boolean", "description": "false once retention or an erasure removed its file"},
    "file_removed_at": {"type": "string", "format": "date-time", "nullable": True,
                        "description": "when retention removed its file (the run keeps its summary)"}}}
FORM = {"type": "object", "required": ["file"], "additionalProperties": False, "properties": {
    "file": {"type": "string", "format": "binary", "description": "CSV, XLSX or JSON Lines"},
    "mapping": {"type": "string", "description": "a saved mapping's name, or a JSON object {column: field}"},
    "save_mapping": {"type": "string", "description": "save the mapping used under this name"},
    "key": {"type": "string", "description": "the natural key field to upsert on"},
    "on_duplicate": {"type": "string", "enum": list(ON_DUPLICATE)},
    "format": {"type": "string", "enum": list(FORMATS)},
    "encoding": TEXT, "sheet": TEXT,
    "commit": {"type": "string", "enum": ["true", "false"], "description": "write (default: a dry run)"},
    "keep": {"type": "string", "enum": ["true", "false"],
             "description": "keep a dry run's file and plan (its run_id) to commit later without uploading again"},
    "chunk_size": {"type": "string", "pattern": "^[0-9]{1,5}$"}}}


def _ok(schema, status="200", description="success") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


def import_paths(package) -> dict:
    tags = ["imports"]
    names = [e.name for e in package.entities]
    return {
        "/imports/{entity}": {"post": {
            "summary": "Import a file into an entity: a dry run (every row's plan, at once for a small file) "
                       "unless commit=true; a large file or a real run is a background job of kind import",
            "tags": tags,
            "parameters": [{"name": "entity", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": names} if names else TEXT}],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": FORM}}},
            "responses": {**_ok(RESULT, description="the dry run"), **_ok(JOB, "202", "the import job, queued"),
                          **error_responses("403")}}},
        "/imports/runs/{id}": {"get": {
            "summary": "An import run: its status and reconciliation (its creator or an admin)", "tags": tags,
            "parameters": [ID_PARAM], "responses": {**_ok(RUN), **error_responses("403")}}},
        "/imports/runs/{id}/refused": {"get": {
            "summary": "The refused rows of an import run, in the file's format with a problems column",
            "tags": tags, "parameters": [ID_PARAM],
            "responses": {"200": {"description": "the refused-rows file", "content": {
                ctype: {"schema": {"type": "string", "format": "binary"}}
                for ctype in ("text/csv", "application/x-ndjson",
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}},
                **error_responses("403", "409")}}},
        "/imports/runs/{id}/commit": {"post": {
            "summary": "Commit a kept dry run (keep=true) without uploading again: a background job of kind import; "
                       "409 when the run is not a planned dry run or the records changed so its plan no longer "
                       "holds (run its dry run again)", "tags": tags, "parameters": [ID_PARAM],
            "responses": {**_ok(JOB, "202", "the import job, queued"), **error_responses("403", "409")}}},
    }
