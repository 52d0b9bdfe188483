"""The OpenAPI 3 document of one tenant, generated from its metadata with apispec."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine.records.query import MAX_LIMIT, OPERATORS
from engine.schemas import LoomField, output_schema

ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}}}}},
}


DELETED = {"type": "object", "properties": {
    "deleted": {"type": "boolean"}, "id": {"type": "integer"},
    "cascaded": {"type": "integer", "description": "other records deleted by on_delete cascade"},
    "cleared": {"type": "integer", "description": "records whose reference was cleared (set_null)"}}}
HISTORY = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "actor_id": {"type": "integer", "nullable": True},
        "action": {"type": "string", "enum": ["create", "update", "delete"]},
        "version": {"type": "integer"},
        "changes": {"type": "object", "description": "field: [old value, new value]"}}}}}}


def _loom_field_property(self, field, ret, **kwargs):
    return dict(field.metadata.get("openapi", {})) if isinstance(field, LoomField) else {}


def _responses(ok_status: str, ok_schema, extra=()) -> dict:
    responses = {ok_status: {"description": "success", "content": {"application/json": {"schema": ok_schema}}}}
    for status in ("400", "401", "404", "413", *extra):
        responses[status] = {"$ref": f"#/components/responses/E{status}"}
    return responses


def openapi_document(slug: str, compiled) -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=f"Loom API for tenant {slug}", version=str(compiled.version), openapi_version="3.0.3",
        plugins=[plugin], servers=[{"url": f"/api/v1/t/{slug}"}],
        info={"description": "Records of every entity in this tenant's metadata. "
                             "Authenticate with `Authorization: Bearer <token>`."},
    )
    plugin.converter.add_attribute_function(_loom_field_property)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR)
    for status, text in (("400", "invalid input"), ("401", "no token"),
                         ("404", "not found (also: a token of another tenant)"), ("409", "conflict"),
                         ("403", "only a tenant admin may do this"), ("412", "stale version"),
                         ("413", "body too large")):
        spec.components.response(f"E{status}", {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    for entity in compiled.package.entities:
        _entity_paths(spec, compiled, entity)
    _metadata_paths(spec)
    document = spec.to_dict()
    document["security"] = [{"bearer": []}]
    return document


def _entity_paths(spec, compiled, entity) -> None:
    title = entity.name.title().replace("_", "")
    spec.components.schema(f"{title}Create", schema=compiled.create_schema(entity.name))
    spec.components.schema(f"{title}Update", schema=compiled.update_schema(entity.name))
    spec.components.schema(f"{title}Record", schema=output_schema(entity))
    record = {"$ref": f"#/components/schemas/{title}Record"}
    label = entity.label.get("en") or entity.name
    tags = [entity.name]
    id_param = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "format": "int64", "minimum": 1}}
    if_match = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                "description": "the version the change is based on (the ETag of the record)"}
    spec.path(path=f"/records/{entity.name}", operations={
        "get": {"summary": f"List {label} records", "tags": tags, "parameters": _list_parameters(entity),
                "responses": _responses("200", {"type": "object", "required": ["items", "next_cursor"],
                                                "properties": {"items": {"type": "array", "items": record},
                                                               "next_cursor": {"type": "string", "nullable": True}}})},
        "post": {"summary": f"Create a {label} record", "tags": tags, "requestBody": _body(f"{title}Create"),
                 "responses": _responses("201", record, ("409",))},
    })
    spec.path(path=f"/records/{entity.name}/batch", operations={
        "post": {"summary": f"Create many {label} records: all of them or none", "tags": tags,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["records"], "additionalProperties": False,
                     "properties": {"records": {"type": "array", "minItems": 1, "items": {
                         "$ref": f"#/components/schemas/{title}Create"}}}}}}},
                 "responses": _responses("201", {"type": "object", "properties": {
                     "created": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "integer"}}}},
                     ("409",))},
    })
    spec.path(path=f"/records/{entity.name}/{{id}}", operations={
        "get": {"summary": f"Read a {label} record", "tags": tags,
                "parameters": [id_param], "responses": _responses("200", record)},
        "patch": {"summary": f"Change fields of a {label} record", "tags": tags,
                  "parameters": [id_param, if_match], "requestBody": _body(f"{title}Update"),
                  "responses": _responses("200", record, ("409", "412"))},
        "delete": {"summary": f"Delete a {label} record", "tags": tags, "parameters": [id_param, if_match],
                   "responses": _responses("200", DELETED, ("409", "412"))},
    })
    spec.path(path=f"/records/{entity.name}/{{id}}/history", operations={
        "get": {"summary": f"The audit trail of a {label} record", "tags": tags, "parameters": [id_param],
                "responses": _responses("200", HISTORY)},
    })


def _metadata_paths(spec) -> None:
    anything = {"type": "object"}
    flags = [{"name": name, "in": "query", "required": False, "schema": {"type": "boolean"}, "description": text}
             for name, text in (("allow_drop", "archive and drop what the document omits"),
                                ("dry_run", "check and show the changes; change nothing"))]
    admin = ["metadata"]
    spec.path(path="/metadata", operations={
        "get": {"summary": "The tenant's metadata document (admins only)", "tags": admin,
                "responses": _responses("200", anything, ("403",))},
        "put": {"summary": "Apply a metadata document: diff, migrate, new version (admins only)",
                "tags": admin, "parameters": flags,
                "requestBody": {"required": True, "content": {"application/json": {"schema": anything}}},
                "responses": _responses("200", anything, ("403", "409"))},
    })
    spec.path(path="/metadata/history", operations={
        "get": {"summary": "The applied metadata versions (admins only)", "tags": admin,
                "responses": _responses("200", anything, ("403",))}})
    spec.path(path="/metadata/rollback/{version}", operations={
        "post": {"summary": "Return to an earlier metadata version, as a new version (admins only)",
                 "tags": admin, "parameters": [{"name": "version", "in": "path", "required": True,
                                                "schema": {"type": "integer", "minimum": 1}}],
                 "responses": _responses("200", anything, ("403", "409"))}})


def _body(schema_name) -> dict:
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _list_parameters(entity) -> list:
    params = [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "search text fields"},
        {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "e.g. name,-created_at"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "fields", "in": "query", "schema": {"type": "string"}},
    ]
    for field in entity.fields:
        if (field.base_type or field.type) not in ("json", "multi_choice"):
            params.append({"name": field.name, "in": "query", "required": False, "schema": {"type": "string"},
                           "description": f"filter; also {field.name}__op with op one of {', '.join(OPERATORS)}"})
    return params
