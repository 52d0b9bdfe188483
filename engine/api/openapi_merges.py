"""The OpenAPI paths of merging records (`engine.api.merges`)."""
from __future__ import annotations

WHEN = {"type": "string", "format": "date-time"}
RECORD_ID = {"type": "integer", "format": "int64", "minimum": 1}
BY_LOSER = {"type": "object", "description": "loser id -> ids of the records re-pointed from it",
            "additionalProperties": {"type": "array", "items": {"type": "integer"}}}
REFERENCES = {"type": "object", "description": "entity -> reference field -> loser id -> re-pointed record ids",
              "additionalProperties": {"type": "object", "additionalProperties": BY_LOSER}}
CHANGES = {"type": "object", "description": "field: [the survivor's value before, the merged value]"}
MERGE = {"type": "object", "required": ["id", "entity", "survivor", "losers", "at"], "properties": {
    "id": {"type": "integer"}, "entity": {"type": "string"}, "survivor": {"type": "integer"},
    "losers": {"type": "array", "items": {"type": "integer"}}, "at": WHEN,
    "actor_id": {"type": "integer", "nullable": True}, "undone_at": {**WHEN, "nullable": True},
    "undone_by": {"type": "integer", "nullable": True}, "changes": CHANGES, "references": REFERENCES,
    "record": {"type": "object", "description": "the survivor as it is after the merge (or its undo)"}}}
PREVIEW = {"type": "object", "required": ["dry_run", "winners", "changes", "references", "conflicts"], "properties": {
    "dry_run": {"type": "boolean"}, "entity": {"type": "string"}, "survivor": {"type": "integer"},
    "losers": {"type": "array", "items": {"type": "integer"}},
    "winners": {"type": "object", "description": "field -> {from: the record whose value wins (null: a given "
                                                 "value), value}", "additionalProperties": {"type": "object"}},
    "changes": CHANGES, "references": REFERENCES,
    "conflicts": {"type": "array", "description": "unique indexes re-pointing would break (a real run: 409)",
                  "items": {"type": "object", "properties": {"field": {"type": "string"},
                                                             "message": {"type": "string"}}}}}}
BODY = {"type": "object", "required": ["survivor", "losers"], "additionalProperties": False, "properties": {
    "survivor": RECORD_ID,
    "losers": {"type": "array", "minItems": 1, "maxItems": 50, "uniqueItems": True, "items": RECORD_ID},
    "fields": {"type": "object", "description": "field -> the id of the record whose value wins, or "
                                                "{\"value\": …}; default: the most recent non-empty value",
               "additionalProperties": {"oneOf": [RECORD_ID, {"type": "object", "required": ["value"],
                                                              "properties": {"value": {}}}]}}}}


def merge_paths(spec, responses, entities) -> None:
    """`responses(ok_status, schema, extra_statuses)`: the shared response builder;
    `entities`: the names of the tenant's entities."""
    spec.components.schema("Merge", MERGE)
    merge = {"$ref": "#/components/schemas/Merge"}
    merge_id = {"name": "merge_id", "in": "path", "required": True, "schema": RECORD_ID}
    for entity in entities:
        spec.path(path=f"/records/{entity}/merge", operations={"post": {
            "summary": f"Merge {entity} records into a survivor (losers removed, every reference re-pointed); "
                       "?dry_run=true: what it would do", "tags": [entity],
            "parameters": [{"name": "dry_run", "in": "query", "required": False, "schema": {"type": "boolean"},
                            "description": "answer the preview, write nothing"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": BODY}}},
            "responses": {**responses("201", merge, ("409",)),
                          "200": {"description": "the dry run's preview",
                                  "content": {"application/json": {"schema": PREVIEW}}}}}})
    spec.path(path="/merges/{merge_id}", operations={"get": {
        "summary": "A merge: survivor, losers, the survivor's changed fields, the re-pointed references",
        "tags": ["merges"], "parameters": [merge_id], "responses": responses("200", merge)}})
    spec.path(path="/merges/{merge_id}/undo", operations={"post": {
        "summary": "Undo a merge, all or nothing: 409 merge_conflict names each later change it would overwrite",
        "tags": ["merges"], "parameters": [merge_id], "responses": responses("200", merge, ("409",))}})
