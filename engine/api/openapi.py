"""The OpenAPI 3 document of one tenant, generated from its metadata with apispec.

The engine describes its own routes; the layers above describe theirs through the
`loom_openapi_paths` hook, whose answers are merged in as they are."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine.api.openapi_access import access_paths
from engine.api.openapi_drafts import draft_paths
from engine.api.openapi_people import people_paths
from engine.api.openapi_dedup import dedup_paths, with_duplicates
from engine.api.openapi_privacy import privacy_paths
from engine.records.filters import ENCRYPTED_OPERATORS
from engine.records.pii import pii_fields
from engine.records.query import MAX_LIMIT, OPERATORS
from engine.schemas import LoomField, output_schema
from metadata.language import DEFAULT_LANGUAGE, text_in
from metadata.model import OPTION_COLORS

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
        "action": {"type": "string", "enum": ["create", "update", "delete", "transition", "state_map", "assign"],
                   "description": "state_map: moved out of a state that a metadata change removed"},
        "version": {"type": "integer"},
        "changes": {"type": "object", "description": "field: [old value, new value]"}}}}}}


_STRINGS = {"type": "array", "items": {"type": "string"}}
PLAN = {"type": "object", "required": ["changes", "destructive", "checks", "moves", "affected", "refused"],
        "description": "what the document would do: a dry run's preview", "properties": {
    "changes": {"type": "array", "items": {"type": "object", "required": [
        "kind", "entity", "field", "description", "ddl", "destructive", "rows", "values"], "properties": {
        "kind": {"type": "string"}, "entity": {"type": "string"}, "field": {"type": "string", "nullable": True},
        "description": {"type": "string"}, "ddl": {"type": "boolean"}, "destructive": {"type": "boolean"},
        "rows": {"type": "integer", "description": "rows of the entity's table now"},
        "values": {"type": "integer", "nullable": True,
                   "description": "rows holding a value in the field (a removed state: records in it)"},
        "state": {"type": "string", "description": "a removed workflow state (drop_state): its name"}}}},
    "destructive": {**_STRINGS, "description": "entity or entity.field of each change that drops data"},
    "checks": {"type": "array", "items": {"type": "object", "required": ["field", "check", "passed"], "properties": {
        "field": {"type": "string"}, "check": {"type": "string"}, "passed": {"type": "boolean"},
        "message": {"type": "string", "nullable": True}}}},
    "moves": {"type": "array", "items": {"type": "object", "properties": {
        "entity": {"type": "string"}, "field": {"type": "string"}, "from": {"type": "string"},
        "to": {"type": "string"}, "records": {"type": "integer"}}}},
    "affected": {"type": "object", "required": ["workflows", "rulesets"],
                 "properties": {"workflows": _STRINGS, "rulesets": _STRINGS}},
    "refused": {"type": "array", "description": "what applying it would refuse (the error a real run answers first)",
                "items": ERROR["properties"]["error"]}}}
PUBLISHED = {"type": "object", "required": ["version", "previous_version", "applied", "dry_run", "changes",
                                            "archives", "moved"], "properties": {
    "version": {"type": "integer"}, "previous_version": {"type": "integer"}, "applied": {"type": "boolean"},
    "dry_run": {"type": "boolean"},
    "changes": {"type": "array", "items": {"type": "object", "properties": {
        "kind": {"type": "string"}, "entity": {"type": "string"}, "field": {"type": "string", "nullable": True},
        "ddl": {"type": "boolean"}, "description": {"type": "string"}}}},
    "archives": {"type": "array", "items": {"type": "object"}}, "moved": {"type": "array", "items": {"type": "object"}},
    "plan": {"$ref": "#/components/schemas/MetadataPlan"}}}


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


COMMON_ERRORS = ("400", "401", "403", "404", "413", "429", "503")
ERROR_RESPONSES = (
    ("400", "invalid input"),
    ("401", "unauthorized (no token) or invalid_token (unknown, expired or revoked), with WWW-Authenticate"),
    ("404", "not found (also: a token of another tenant)"),
    ("403", "forbidden: admin_only, read_only (a record shared with you to read, not to change), "
            "not_shared (a value outside what is shared with you) or token_scope (outside the token's scopes)"),
    ("429", "too_many_attempts: too many failed tokens from this address; see Retry-After"),
    ("409", "conflict"), ("412", "stale version"), ("413", "body too large"),
    ("503", "metadata_changed: the tenant's metadata changed while the request ran; nothing was "
            "changed, send it again"))


def error_responses(*statuses) -> dict:
    """`{status: reference}` to the shared error responses, the common ones included."""
    return {status: {"$ref": f"#/components/responses/E{status}"}
            for status in sorted(set(COMMON_ERRORS) | set(statuses))}


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
    _metadata_paths(spec)
    draft_paths(spec, _responses)
    people_paths(spec, _responses)
    privacy_paths(spec, _responses)
    dedup_paths(spec, _responses)
    access_paths(spec, _responses, [e.name for e in compiled.package.entities if pii_fields(e)])
    _layout_paths(spec)
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
    """Each entity's schemas titled with its label, described with its description."""
    for entity in package.entities:
        for kind in ("Create", "Update", "Record"):
            schema = schemas[f"{_title(entity.name)}{kind}"]
            schema["title"] = text_in(entity.label, language)
            if entity.description:
                schema["description"] = text_in(entity.description, language)


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
                   "responses": _responses("200", DELETED, ("403", "409", "412"))},
    })
    spec.path(path=f"/records/{entity.name}/{{id}}/history", operations={
        "get": {"summary": f"The audit trail of a {label} record", "tags": tags, "parameters": [id_param],
                "responses": _responses("200", HISTORY)},
    })


def _export_path(spec, entity, label, tags) -> None:
    """Streams every record the caller may read that matches the list filters."""
    params = [p for p in _list_parameters(entity) if p["name"] not in ("limit", "cursor")]
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


def _metadata_paths(spec) -> None:
    anything = {"type": "object"}
    spec.components.schema("MetadataPlan", PLAN)
    spec.components.schema("Published", PUBLISHED)
    published = {"$ref": "#/components/schemas/Published"}
    flags = [{"name": name, "in": "query", "required": False, "schema": {"type": "boolean"}, "description": text}
             for name, text in (("allow_drop", "archive and drop what the document omits"),
                                ("dry_run", "check and answer the plan (`plan`); change nothing"))]
    admin = ["metadata"]
    spec.path(path="/metadata", operations={
        "get": {"summary": "The tenant's metadata: the effective document with the source of each "
                           "definition, the packs' base or the tenant's own changes (admins only)",
                "tags": admin, "parameters": [{
                    "name": "layer", "in": "query", "required": False,
                    "schema": {"type": "string", "enum": ["effective", "pack", "tenant"], "default": "effective"},
                    "description": "effective (packs + tenant), pack (the installed packs' base) or tenant "
                                   "(the tenant's changes, with ids)"}],
                "responses": _responses("200", anything, ("400", "403"))},
        "put": {"summary": "Apply a metadata document: diff, migrate, new version (admins only)",
                "tags": admin, "parameters": flags,
                "requestBody": {"required": True, "content": {"application/json": {"schema": anything}}},
                "responses": _responses("200", published, ("403", "409"))},
    })
    _app_path(spec)
    spec.path(path="/metadata/history", operations={
        "get": {"summary": "The applied metadata versions (admins only)", "tags": admin,
                "responses": _responses("200", anything, ("403",))}})
    spec.path(path="/metadata/rollback/{version}", operations={
        "post": {"summary": "Return to an earlier metadata version, as a new version (admins only)",
                 "tags": admin, "parameters": [{"name": "version", "in": "path", "required": True,
                                                "schema": {"type": "integer", "minimum": 1}}],
                 "responses": _responses("200", published, ("403", "409"))}})


TEXT = {"anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}],
        "nullable": True, "description": "a language map, or one text with ?lang="}
NAMED = {"type": "object", "required": ["name", "label"], "properties": {"name": {"type": "string"}, "label": TEXT}}
APP_VIEW = {"type": "object", "required": ["version", "role", "language", "entities", "layouts", "workflows"],
            "properties": {
    "version": {"type": "integer"}, "role": {"type": "string"},
    "language": {"type": "string", "nullable": True},
    "entities": {"type": "array", "items": {"type": "object", "required": ["name", "label", "fields"], "properties": {
        "name": {"type": "string"}, "label": TEXT, "plural_label": TEXT, "description": TEXT,
        "order": {"type": "integer", "nullable": True, "description": "the place in the navigation (null: by label)"},
        "hidden": {"type": "boolean", "description": "left out of the navigation and the search"},
        "workflow": {"type": "string", "nullable": True},
        "fields": {"type": "array", "description": "hidden fields left out", "items": {
            "type": "object", "required": ["name", "type", "base_type", "label", "required", "readonly"],
            "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "base_type": {"type": "string"},
                           "label": TEXT, "help": TEXT, "required": {"type": "boolean"},
                           "readonly": {"type": "boolean"}, "unique": {"type": "boolean"},
                           "choices": {"type": "array", "items": {"type": "object", "properties": {
                               "value": {"type": "string"}, "label": TEXT,
                               "color": {"type": "string", "enum": list(OPTION_COLORS),
                                         "description": "the badge colour, when the option has one"}}}},
                           "to": {"type": "string", "description": "reference: the entity referred to"}}}}}}},
    "layouts": {"type": "array", "items": {"type": "object", "required": ["name", "entity", "kind", "label"],
                                           "properties": {
        "name": {"type": "string"}, "entity": {"type": "string"}, "kind": {"type": "string"}, "label": TEXT,
        "sections": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "label": TEXT, "columns": {"type": "integer"},
            "fields": {"type": "array", "items": NAMED}}}},
        "columns": {"type": "array", "items": NAMED},
        "sort": {"type": "string"}, "page_size": {"type": "integer"},
        "filter": {"type": "object", "description": "a list's default filter (a condition)"},
        "kanban_field": {"type": "string"}, "calendar_field": {"type": "string"},
        "header_fields": {"type": "array", "items": {"type": "string"},
                          "description": "the key fields of a record page's header"}}}},
    "workflows": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "entity": {"type": "string"}, "field": {"type": "string"}, "label": TEXT,
        "initial": {"type": "string"},
        "states": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "label": TEXT, "category": {"type": "string"}, "final": {"type": "boolean"}}}},
        "transitions": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "label": TEXT, "to": {"type": "string"},
            "from": {"anyOf": [{"type": "string", "enum": ["*"]}, {"type": "array", "items": {"type": "string"}}]},
            "roles": {"type": "array", "items": {"type": "string"}, "description": "empty: any role"},
            "allowed": {"type": "boolean", "description": "whether your role may take it"},
            "requires": {"type": "array", "items": {"type": "string"}},
            "comment": {"type": "string", "enum": ["none", "optional", "required"]}}}}}}}}}


def _app_path(spec) -> None:
    spec.components.schema("AppMetadata", APP_VIEW)
    responses = _responses("200", {"$ref": "#/components/schemas/AppMetadata"})
    responses["304"] = {"description": "not modified: the If-None-Match ETag is still current"}
    spec.path(path="/metadata/app", operations={"get": {
        "summary": "What screens render, for every user: entities and their visible fields, layouts with "
                   "the label of each field, workflows' states and transitions",
        "tags": ["metadata"], "responses": responses, "parameters": [
            {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "a language tag (e.g. zh-CN): each label as that language's text, not a language map"},
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "the ETag of an earlier answer: 304 while the metadata is unchanged"}]}})


LANGUAGE_MAP = {"type": "object", "additionalProperties": {"type": "string"},
                "description": "text by language tag, e.g. {\"en\": \"Contact\", \"zh-CN\": \"联系人\"}"}
LAYOUT = {"type": "object", "required": ["name", "entity", "kind", "label"], "properties": {
    "name": {"type": "string"}, "entity": {"type": "string"},
    "kind": {"type": "string", "enum": ["form", "list"]}, "label": LANGUAGE_MAP,
    "sections": {"type": "array", "description": "form layouts: the sections, hidden fields left out",
                 "items": {"type": "object", "required": ["name", "label", "columns", "fields"], "properties": {
                     "name": {"type": "string"}, "label": LANGUAGE_MAP,
                     "columns": {"type": "integer", "minimum": 1, "maximum": 4},
                     "fields": {"type": "array", "items": {"type": "string"}}}}},
    "columns": {"type": "array", "items": {"type": "string"},
                "description": "list layouts: the columns, hidden fields left out"},
    "sort": {"type": "string", "description": "list layouts: the list API's sort, e.g. -joined,number"},
    "page_size": {"type": "integer", "minimum": 1, "maximum": 200}}}


def _layout_paths(spec) -> None:
    spec.components.schema("Layout", LAYOUT)
    layout = {"$ref": "#/components/schemas/Layout"}
    tags = ["layouts"]
    spec.path(path="/layouts", operations={
        "get": {"summary": "The forms and list views to render, hidden fields left out", "tags": tags,
                "parameters": [{"name": "entity", "in": "query", "required": False, "schema": {"type": "string"},
                                "description": "only this entity's layouts"}],
                "responses": _responses("200", {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": layout}}})}})
    spec.path(path="/layouts/{name}", operations={
        "get": {"summary": "One form or list view, hidden fields left out", "tags": tags,
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": _responses("200", layout)}})


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
    return params
