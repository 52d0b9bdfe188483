"""The OpenAPI 3 document of one tenant, generated from its metadata with apispec.

The engine describes its own routes; the layers above describe theirs through the
`loom_openapi_paths` hook, whose answers are merged in as they are."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine.api.errors import ERROR, ERROR_RESPONSES, error_responses  # noqa: F401 (error_responses: for the layers above)
from engine.api.openapi_access import access_paths
from engine.api.openapi_drafts import draft_paths
from engine.api.openapi_merges import merge_paths
from engine.api.openapi_metadata import layout_paths, metadata_paths
from engine.api.openapi_people import people_paths
from engine.api.openapi_dedup import dedup_paths, with_duplicates
from engine.api.openapi_privacy import privacy_paths
from engine.privacy.purposes import DEFAULT_PURPOSE, PURPOSES
from engine.records.filters import ENCRYPTED_OPERATORS
from engine.records.key_lookup import lookup_parameters
from engine.records.pii import pii_fields
from engine.records.query import MAX_LIMIT, OPERATORS
from engine.schemas import LoomField, output_schema
from metadata.language import DEFAULT_LANGUAGE, text_in

DELETED = {"type": "object", "properties": {
    "deleted": {"type": "boolean"}, "id": {"type": "integer"},
    "cascaded": {"type": "integer", "description": "other records deleted by on_delete cascade"},
    "cleared": {"type": "integer", "description": "records whose reference was cleared (set_null)"}}}
HISTORY = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "actor_id": {"type": "integer", "nullable": True},
        "action": {"type": "string", "enum": ["create", "update", "delete", "transition", "state_map", "assign",
                                              "erase", "redact", "merge", "unmerge"],
                   "description": "state_map: moved out of a state that a metadata change removed; erase: "
                                  "personal data erased; redact: Loom's log rows an erasure rewrote (security.md); "
                                  "merge, unmerge: records merged into this one, or a merge undone"},
        "version": {"type": "integer"},
        "changes": {"type": "object", "description": "field: [old value, new value]"}}}}}}


def record_ref(entity_name: str) -> dict:
    """A reference to the schema of an entity's records as the API answers them."""
    return {"$ref": f"#/components/schemas/{_title(entity_name)}Record"}


def _title(entity_name: str) -> str:
    return entity_name.title().replace("_", "")


def _loom_field_property(language: str):
    """An apispec attribute function: a metadata field's OpenAPI property, its title (the
    label) and description (the help) in `language`."""
    def attribute(self, field, ret, **kwargs):
        if not isinstance(field, LoomField):
            return {}
        prop, meta = dict(field.metadata.get("openapi", {})), field.meta_field
        prop["title"] = text_in(meta.label, language) or meta.name
        if meta.help and (meta.base_type or meta.type) != "reference":
            prop["description"] = text_in(meta.help, language)
        return prop
    return attribute


def _responses(ok_status: str, ok_schema, extra=()) -> dict:
    return {ok_status: {"description": "success", "content": {"application/json": {"schema": ok_schema}}},
            **error_responses(*extra)}


def openapi_document(slug: str, compiled, plugin_paths=(), language: str = DEFAULT_LANGUAGE) -> dict:
    """`plugin_paths`: the `loom_openapi_paths` answers of the tenant's active plugins;
    `language`: the tag the entities' and fields' titles and descriptions are given in
    (the tenant's default language)."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=f"Loom API for tenant {slug}", version=str(compiled.version), openapi_version="3.0.3",
        plugins=[plugin], servers=[{"url": f"/api/v1/t/{slug}"}],
        info={"description": "Records of every entity in this tenant's metadata. "
                             "Authenticate with `Authorization: Bearer <token>`."},
    )
    plugin.converter.add_attribute_function(_loom_field_property(language))
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR)
    for status, text in ERROR_RESPONSES:
        spec.components.response(f"E{status}", {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    for entity in compiled.package.entities:
        _entity_paths(spec, compiled, entity, language)
    metadata_paths(spec, _responses)
    draft_paths(spec, _responses)
    people_paths(spec, _responses)
    privacy_paths(spec, _responses)
    merge_paths(spec, _responses, [e.name for e in compiled.package.entities])
    dedup_paths(spec, _responses)
    access_paths(spec, _responses, [e.name for e in compiled.package.entities if pii_fields(e)])
    layout_paths(spec, _responses)
    spec.path(path="/openapi.json", operations={"get": {
        "summary": "This document", "tags": ["metadata"], "responses": _responses("200", {"type": "object"}),
        "parameters": [{"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "the language of the entities' and fields' titles and descriptions "
                                       "(default: the tenant's default language)"}]}})
    for paths in plugin_paths:
        for path, operations in paths.items():
            spec.path(path=path, operations=operations)
    document = spec.to_dict()
    with_duplicates(document, compiled.package)
    document["info"]["x-language"] = language
    _entity_titles(document["components"]["schemas"], compiled.package, language)
    document["security"] = [{"bearer": []}]
    return document


def _entity_titles(schemas: dict, package, language: str) -> None:
    """Each entity's schemas titled with its label, described with its description; an
    update's takes the `version` it is based on too."""
    for entity in package.entities:
        for kind in ("Create", "Update", "Record"):
            schema = schemas[f"{_title(entity.name)}{kind}"]
            if kind == "Update":  # the entity's fields, and the `version` a change may name
                schema.setdefault("properties", {})["version"] = VERSION
            schema["title"] = text_in(entity.label, language)
            if entity.description:
                schema["description"] = text_in(entity.description, language)


VERSION = {"type": "integer", "format": "int64", "minimum": 1,
           "description": "the version the change is based on, as If-Match gives it (a stale one: 412)"}


def _entity_paths(spec, compiled, entity, language) -> None:
    title = _title(entity.name)
    spec.components.schema(f"{title}Create", schema=compiled.create_schema(entity.name))
    spec.components.schema(f"{title}Update", schema=compiled.update_schema(entity.name))
    spec.components.schema(f"{title}Record", schema=output_schema(entity))
    record = record_ref(entity.name)
    label = text_in(entity.label, language) or entity.name
    spec.tag({"name": entity.name, "description": label})
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
                 "responses": _responses("201", record, ("403", "409"))},
    })
    spec.path(path=f"/records/{entity.name}/batch", operations={
        "post": {"summary": f"Create many {label} records: all of them or none", "tags": tags,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["records"], "additionalProperties": False,
                     "properties": {"records": {"type": "array", "minItems": 1, "items": {
                         "$ref": f"#/components/schemas/{title}Create"}}}}}}},
                 "responses": _responses("201", {"type": "object", "properties": {
                     "created": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "integer"}}}},
                     ("403", "409"))},
    })
    _export_path(spec, entity, label, tags)
    spec.path(path=f"/records/{entity.name}/{{id}}", operations={
        "get": {"summary": f"Read a {label} record", "tags": tags,
                "parameters": [id_param, FIELDS_PARAM], "responses": _responses("200", record)},
        "patch": {"summary": f"Change fields of a {label} record", "tags": tags,
                  "parameters": [id_param, if_match], "requestBody": _body(f"{title}Update"),
                  "responses": _responses("200", record, ("403", "409", "412"))},
        "delete": {"summary": f"Delete a {label} record", "tags": tags, "parameters": [id_param, if_match],
                   "requestBody": {"required": False, "content": {"application/json": {"schema": {
                       "type": "object", "additionalProperties": False, "properties": {"version": {
                           "type": "integer", "minimum": 1,
                           "description": "the version the delete is based on (as If-Match)"}}}}}},
                   "responses": _responses("200", DELETED, ("403", "409", "412"))},
    })
    spec.path(path=f"/records/{entity.name}/{{id}}/history", operations={
        "get": {"summary": f"The audit trail of a {label} record", "tags": tags, "parameters": [id_param],
                "responses": _responses("200", HISTORY)},
    })


EXPORT_PURPOSE = {"name": "purpose", "in": "query", "required": False,
                  "schema": {"type": "string", "enum": list(PURPOSES), "default": DEFAULT_PURPOSE},
                  "description": "what the export is for: for any purpose but service, only the records whose "
                                 "party holds a valid consent for it (see privacy.md)"}


def _export_path(spec, entity, label, tags) -> None:
    """Streams every record the caller may read that matches the list filters."""
    params = [p for p in _list_parameters(entity) if p["name"] not in ("limit", "cursor", "purpose")]
    params.append(EXPORT_PURPOSE)
    params.append({"name": "format", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["jsonl", "csv"], "default": "jsonl"},
                   "description": "jsonl: one record as JSON per line; csv: a header line, then a line per record"})
    text = {"type": "string"}
    responses = _responses("200", text)
    responses["200"] = {"description": "the records, streamed", "content": {
        "application/x-ndjson": {"schema": text}, "text/csv": {"schema": text}}}
    spec.path(path=f"/records/{entity.name}/export", operations={
        "get": {"summary": f"Export every {label} record you may read (filters as for the list)",
                "tags": tags, "parameters": params, "responses": responses}})


def _body(schema_name) -> dict:
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


FIELDS_PARAM = {"name": "fields", "in": "query", "schema": {"type": "string"},
                "description": "the fields to answer with, comma-separated (id and version always)"}


def _list_parameters(entity) -> list:
    params = [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "search text fields"},
        {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "e.g. name,-created_at"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        FIELDS_PARAM,
    ]
    for field in entity.fields:
        if (field.base_type or field.type) != "json":
            ops = ENCRYPTED_OPERATORS if field.encrypted else OPERATORS
            note = " (encrypted at rest: equality only)" if field.encrypted else ""
            params.append({"name": field.name, "in": "query", "required": False, "schema": {"type": "string"},
                           "description": f"filter{note}; also {field.name}__op with op one of {', '.join(ops)}"})
    return lookup_parameters(entity, params)
