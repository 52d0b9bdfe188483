"""The OpenAPI paths of unmasking and the access log (`engine.api.access`)."""
from __future__ import annotations

from engine.api.openapi_people import WHEN, _query

ENTRY = {"type": "object", "properties": {
    "id": {"type": "integer"}, "at": WHEN, "actor_id": {"type": "integer", "nullable": True},
    "action": {"type": "string", "enum": ["read", "list", "search", "export", "unmask", "sign_in"]},
    "entity": {"type": "string", "nullable": True}, "record_id": {"type": "integer", "nullable": True},
    "detail": {"type": "object", "description": "unmask: fields and reason; search: q; export: filters"}}}


def access_paths(spec, responses, entity_names) -> None:
    """`responses(ok_status, schema, extra_statuses)`: the shared response builder."""
    whole = {"type": "integer", "minimum": 1}
    for name in entity_names:
        spec.path(path=f"/records/{name}/{{id}}/unmask", operations={"post": {
            "summary": "Read fields holding personal data in clear, giving the reason (logged)",
            "tags": [name],
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer", "format": "int64", "minimum": 1}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["fields", "reason"], "additionalProperties": False,
                "properties": {"fields": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                               "reason": {"type": "string", "minLength": 1, "maxLength": 500}}}}}},
            "responses": responses("200", {"type": "object", "required": ["id", "fields"], "properties": {
                "id": {"type": "integer"}, "fields": {"type": "object"}}})}})
    spec.path(path="/access-log", operations={"get": {
        "summary": "The access log: reads of personal data, searches, exports, unmasking, sign-ins (admins)",
        "tags": ["people"],
        "parameters": [
            _query("user", whole, "the acting user's id"), _query("entity", {"type": "string"}, "an entity name"),
            _query("record", whole, "a record id"),
            _query("since", {"type": "string"}, "from this date or time (ISO 8601, UTC unless it says)"),
            _query("until", {"type": "string"}, "to this date (the whole day) or time"),
            _query("before", whole, "the cursor: `next` of the previous page"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "rows per page (default 50)")],
        "responses": responses("200", {"type": "object", "properties": {
            "items": {"type": "array", "items": ENTRY},
            "next": {"type": "integer", "nullable": True}}}, ("403",))}})
