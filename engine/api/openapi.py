"""The OpenAPI 3 document of one tenant, generated from its metadata with apispec."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine.schemas import LoomField, output_schema

ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}}}}},
}


def _loom_field_property(self, field, ret, **kwargs):
    return dict(field.metadata.get("openapi", {})) if isinstance(field, LoomField) else {}


def _responses(ok_status: str, ok_schema, extra=()) -> dict:
    responses = {ok_status: {"description": "success", "content": {"application/json": {"schema": ok_schema}}}}
    for status in ("400", "401", "404", *extra):
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
    for status, text in (("400", "invalid input"), ("401", "no token"), ("404", "not found"),
                         ("409", "conflict"), ("412", "stale version")):
        spec.components.response(f"E{status}", {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    for entity in compiled.package.entities:
        _entity_paths(spec, compiled, entity)
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
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    body = lambda name: {"required": True, "content": {"application/json": {  # noqa: E731
        "schema": {"$ref": f"#/components/schemas/{title}{name}"}}}}
    spec.path(path=f"/records/{entity.name}", operations={
        "get": {"summary": f"List {label} records", "tags": [entity.name],
                "parameters": _list_parameters(entity),
                "responses": _responses("200", {"type": "object", "properties": {
                    "items": {"type": "array", "items": record},
                    "next_cursor": {"type": "string", "nullable": True}}})},
        "post": {"summary": f"Create a {label} record", "tags": [entity.name],
                 "requestBody": body("Create"), "responses": _responses("201", record, ("409",))},
    })
    spec.path(path=f"/records/{entity.name}/{{id}}", operations={
        "get": {"summary": f"Read a {label} record", "tags": [entity.name],
                "parameters": [id_param], "responses": _responses("200", record)},
        "patch": {"summary": f"Change fields of a {label} record", "tags": [entity.name],
                  "parameters": [id_param, {"name": "If-Match", "in": "header", "required": False,
                                            "schema": {"type": "string"}}],
                  "requestBody": body("Update"), "responses": _responses("200", record, ("409", "412"))},
        "delete": {"summary": f"Delete a {label} record", "tags": [entity.name],
                   "parameters": [id_param], "responses": _responses("200", {"type": "object"}, ("409", "412"))},
    })


def _list_parameters(entity) -> list:
    params = [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "search text fields"},
        {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "e.g. name,-created_at"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "fields", "in": "query", "schema": {"type": "string"}},
    ]
    for field in entity.fields:
        if (field.base_type or field.type) not in ("json", "multi_choice"):
            params.append({"name": field.name, "in": "query", "required": False,
                           "schema": {"type": "string"},
                           "description": f"filter; also {field.name}__op with op in eq, ne, lt, lte, gt, gte, in, contains, startswith, isnull"})
    return params
