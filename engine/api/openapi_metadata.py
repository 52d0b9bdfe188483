"""The OpenAPI paths of the tenant's metadata (apply, dry run, history, rollback), the
screens' view of it (`/metadata/app`) and its layouts."""
from __future__ import annotations

from engine.api.errors import ERROR
from metadata.model import OPTION_COLORS

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


def metadata_paths(spec, _responses) -> None:
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
    _app_path(spec, _responses)
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


def _app_path(spec, _responses) -> None:
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


def layout_paths(spec, _responses) -> None:
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
