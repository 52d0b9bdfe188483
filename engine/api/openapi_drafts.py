"""The OpenAPI paths of the designer's drafts (`engine.api.drafts`)."""
from __future__ import annotations

DRAFT = {"type": "object", "required": ["id", "owner", "based_on", "status", "problems", "document"], "properties": {
    "id": {"type": "integer"}, "owner": {"type": "string"},
    "based_on": {"type": "integer", "description": "the published version the draft was made from"},
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
    "status": {"type": "object", "properties": {
        "current": {"type": "integer"}, "outdated": {"type": "boolean"}, "changed": {"type": "boolean"},
        "problems": {"type": "integer"}, "others": {"type": "array", "items": {"type": "object"}}}},
    "problems": {"type": "array", "items": {"type": "object"},
                 "description": "as `loom metadata apply` reports them: field (a JSON path), code, message"},
    "document": {"type": "object"}}}


def draft_paths(spec, responses) -> None:
    """`responses(ok_status, schema, extra_statuses)`: the shared response builder."""
    spec.components.schema("Draft", DRAFT)
    draft = {"$ref": "#/components/schemas/Draft"}
    published = {"$ref": "#/components/schemas/Published"}
    anything = {"type": "object"}
    tags = ["drafts"]
    map_state = {"name": "map_state", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "ENTITY.OLD=NEW: move records out of a removed workflow state (repeatable)"}
    spec.path(path="/drafts", operations={"get": {
        "summary": "The admins' open drafts (admins only)", "tags": tags,
        "responses": responses("200", anything, ("403",))}})
    spec.path(path="/drafts/mine", operations={
        "get": {"summary": "Your open draft with its status and problems", "tags": tags,
                "responses": responses("200", draft, ("403", "404"))},
        "put": {"summary": "Save a metadata document as your draft (kept with its problems when invalid)",
                "tags": tags, "requestBody": {"required": True, "content": {"application/json": {"schema": anything}}},
                "responses": responses("200", draft, ("403",))},
        "delete": {"summary": "Discard your draft", "tags": tags,
                   "responses": responses("200", anything, ("403", "404"))}})
    spec.path(path="/drafts/mine/plan", operations={"get": {
        "summary": "The publishing plan of your draft (a dry run); 409 draft_outdated when a newer version "
                   "was published since it was made", "tags": tags, "parameters": [map_state],
        "responses": responses("200", published, ("403", "404", "409"))}})
    spec.path(path="/drafts/mine/rebase", operations={"post": {
        "summary": "Replay your draft onto the current version; 409 rebase_conflicts with both values",
        "tags": tags, "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"keep_mine": {"type": "array", "items": {"type": "string"}},
                                             "take_theirs": {"type": "array", "items": {"type": "string"}}}}}}},
        "responses": responses("200", draft, ("403", "404", "409"))}})
    spec.path(path="/drafts/mine/publish", operations={"post": {
        "summary": "Publish your draft through the publisher (a new version, recorded as yours)", "tags": tags,
        "parameters": [{"name": "allow_drop", "in": "query", "required": False, "schema": {"type": "boolean"},
                        "description": "archive and drop what the draft removes"}, map_state],
        "responses": responses("200", published, ("403", "404", "409"))}})
