"""The OpenAPI paths of data-subject requests and consent refusals (`engine.api.privacy`)."""
from __future__ import annotations

WHEN = {"type": "string", "format": "date-time"}
PARTY = {"name": "party_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
PURPOSES = ["service", "marketing", "analytics", "sharing", "profiling", "cross_border"]
ERASURE = {"type": "object", "properties": {
    "erased": {"type": "boolean"}, "entity": {"type": "string"}, "id": {"type": "integer"},
    "log_id": {"type": "integer"},
    "records": {"type": "array", "items": {"type": "object", "properties": {
        "entity": {"type": "string"}, "id": {"type": "integer"},
        "fields": {"type": "array", "items": {"type": "string"}},
        "kept_for": {"type": "object", "description": "the entity's legal basis for keeping the record"},
        "kept_as_evidence": {"type": "boolean"}}}},
    "rewritten": {"type": "object", "description": "rows rewritten per Loom table"},
    "archive_rows": {"type": "integer"}}}
LOG_ROW = {"type": "object", "properties": {
    "id": {"type": "integer"}, "at": WHEN, "actor": {"type": "string", "nullable": True},
    "kind": {"type": "string", "enum": ["export", "erase", "retention"]}, "entity": {"type": "string"},
    "record_id": {"type": "integer", "nullable": True}, "reason": {"type": "string", "nullable": True},
    "detail": {"type": "object"}}}
REFUSAL = {"type": "object", "properties": {
    "id": {"type": "integer"}, "at": WHEN, "purpose": {"type": "string"},
    "template": {"type": "string", "nullable": True}, "entity": {"type": "string", "nullable": True},
    "record_id": {"type": "integer", "nullable": True}, "party_id": {"type": "integer", "nullable": True},
    "recipient": {"type": "string"}, "reason": {"type": "string"}}}


def _query(name, schema, description) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def privacy_paths(spec, responses) -> None:
    """`responses(ok_status, schema, extra_statuses)`: the shared response builder."""
    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "rows (default 100)")
    spec.path(path="/privacy/parties/{party_id}/bundle", operations={"get": {
        "summary": "Everything held about a party (access and portability), as JSON or a zip of CSVs",
        "tags": ["privacy"], "parameters": [PARTY, _query("format", {"type": "string", "enum": ["json", "zip"]},
                                                          "json (default) or zip")],
        "responses": {**responses("200", {"type": "object"}, ("400", "403", "404")),
                      "200": {"description": "the bundle", "content": {
                          "application/json": {"schema": {"type": "object"}},
                          "application/zip": {"schema": {"type": "string", "format": "binary"}}}}}}})
    spec.path(path="/privacy/parties/{party_id}/erasure", operations={"post": {
        "summary": "Erase a party's personal data from its records and everything Loom keeps",
        "tags": ["privacy"], "parameters": [PARTY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"], "additionalProperties": False,
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}}}}}},
        "responses": responses("200", ERASURE, ("400", "403", "404"))}})
    spec.path(path="/privacy/retention", operations={"post": {
        "summary": "Apply the entities' retention rules (dry_run=true: only report)", "tags": ["privacy"],
        "parameters": [_query("dry_run", {"type": "boolean"}, "report what would be done, do nothing")],
        "responses": responses("200", {"type": "object"}, ("400", "403"))}})
    spec.path(path="/privacy/log", operations={"get": {
        "summary": "The log of data-subject requests: exports, erasures, retention", "tags": ["privacy"],
        "parameters": [_query("entity", {"type": "string"}, "an entity name"),
                       _query("record", {"type": "integer", "minimum": 1}, "a record id"), limit],
        "responses": responses("200", {"type": "object", "properties": {
            "items": {"type": "array", "items": LOG_ROW}}}, ("400", "403"))}})
    spec.path(path="/privacy/consent-refusals", operations={"get": {
        "summary": "Messages not sent for want of consent, one row per recipient", "tags": ["privacy"],
        "parameters": [_query("party", {"type": "integer", "minimum": 1}, "a party id"),
                       _query("purpose", {"type": "string", "enum": PURPOSES}, "a purpose"), limit],
        "responses": responses("200", {"type": "object", "properties": {
            "items": {"type": "array", "items": REFUSAL}}}, ("400", "403"))}})
