"""The OpenAPI paths of people, API tokens and the audit log (`engine.api.people`)."""
from __future__ import annotations

WHEN = {"type": "string", "format": "date-time"}
USER = {"type": "object", "required": ["id", "email", "role", "active"], "properties": {
    "id": {"type": "integer"}, "email": {"type": "string"}, "display_name": {"type": "string", "nullable": True},
    "role": {"type": "string"}, "active": {"type": "boolean"},
    "manager": {"type": "string", "nullable": True, "description": "the manager's e-mail"},
    "has_password": {"type": "boolean"}, "created_at": WHEN,
    "roles": {"type": "array", "items": {"type": "string"}, "description": "the tenant's roles the user holds"},
    "permission_sets": {"type": "array", "items": {"type": "string"}}}}
TOKEN = {"type": "object", "required": ["id", "label", "user", "created_at"], "properties": {
    "id": {"type": "integer"}, "label": {"type": "string", "nullable": True}, "user": {"type": "string"},
    "created_at": WHEN, "last_used_at": {**WHEN, "nullable": True}, "revoked_at": {**WHEN, "nullable": True},
    "expires_at": {**WHEN, "nullable": True, "description": "none for tokens made before expiry existed"},
    "scopes": {"type": "array", "items": {"type": "string"},
               "description": "read-write, read, records:<entity>:read, records:<entity>:write"},
    "token": {"type": "string", "description": "the secret, in the answer to its creation only"}}}
AUDIT_ROW = {"type": "object", "properties": {
    "id": {"type": "integer"}, "at": WHEN, "actor_id": {"type": "integer", "nullable": True},
    "action": {"type": "string"}, "entity": {"type": "string"}, "record_id": {"type": "integer"},
    "version": {"type": "integer"}, "changes": {"type": "object"}}}


def _json(schema) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(name, schema, description) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def people_paths(spec, responses) -> None:
    """`responses(ok_status, schema, extra_statuses)`: the shared response builder."""
    spec.components.schema("User", USER)
    spec.components.schema("Token", TOKEN)
    user, token = {"$ref": "#/components/schemas/User"}, {"$ref": "#/components/schemas/Token"}
    linked = {"type": "object", "properties": {"user": user, "set_password": {
        "type": "string", "description": "the screens' path where the user chooses a password (one use)"}}}
    text = {"type": "string", "minLength": 1}
    whole = {"type": "integer", "minimum": 1}
    spec.path(path="/users", operations={
        "get": {"summary": "The tenant's users and the roles there are (admins only)", "tags": ["people"],
                "responses": responses("200", {"type": "object", "properties": {
                    "items": {"type": "array", "items": user}, "roles": {"type": "array", "items": {"type": "string"}},
                    "tenant_roles": {"type": "array", "items": {"type": "string"}},
                    "permission_sets": {"type": "array", "items": {"type": "string"}}}},
                    ("403",))},
        "post": {"summary": "Invite a user: the answer has their set-password link (valid 72 hours)",
                 "tags": ["people"], "requestBody": _json({
                     "type": "object", "required": ["email"], "additionalProperties": False, "properties": {
                         "email": text, "role": {"type": "string"}, "display_name": {"type": "string"},
                         "manager": {"type": "string", "description": "the manager's e-mail"}}}),
                 "responses": responses("201", linked, ("403", "404", "409"))}})
    spec.path(path="/users/{user_id}", operations={"patch": {
        "summary": "Change a user's role, manager, name, or deactivate (active: false) / reactivate",
        "tags": ["people"], "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": whole}],
        "requestBody": _json({"type": "object", "additionalProperties": False, "properties": {
            "role": {"type": "string"}, "manager": {"type": "string", "nullable": True},
            "display_name": {"type": "string", "nullable": True}, "active": {"type": "boolean"},
            "roles": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
            "permission_sets": {"type": "array", "items": {"type": "string"}, "maxItems": 50}}}),
        "responses": responses("200", user, ("403", "404", "409"))}})
    spec.path(path="/users/{user_id}/password-reset", operations={"post": {
        "summary": "A one-time set-password link for the user (valid two hours)", "tags": ["people"],
        "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": whole}],
        "responses": responses("200", linked, ("403", "404", "409"))}})
    source = {"type": "object", "properties": {"kind": {"type": "string"}, "name": {"type": "string"}}}
    why = {"type": "object", "properties": {
        "user": {"type": "object"}, "entity": {"type": "string"},
        "rights": {"type": "object", "additionalProperties": {"type": "array", "items": source}},
        "sources": {"type": "array", "items": source}, "field": {"type": "object"}, "record": {"type": "object"}}}
    spec.path(path="/users/{user_id}/why", operations={"get": {
        "summary": "Why the user may use an entity, a field or a record: roles, permission sets, sharing terms",
        "tags": ["people"], "parameters": [
            {"name": "user_id", "in": "path", "required": True, "schema": whole},
            {"name": "entity", "in": "query", "required": True, "schema": text},
            _query("field", text, "a field of the entity"), _query("record", whole, "a record's id")],
        "responses": responses("200", why, ("400", "403", "404"))}})
    spec.path(path="/users/{user_id}/transfer", operations={"post": {
        "summary": "Hand every record the user owns (of one entity, or all), or one of them, to another active user",
        "tags": ["people"], "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": whole}],
        "requestBody": _json({"type": "object", "required": ["to"], "additionalProperties": False, "properties": {
            "to": whole, "entity": text, "record": {**whole, "description": "one record of theirs (with entity)"}}}),
        "responses": responses("200", {"type": "object", "properties": {
            "transferred": {"type": "object", "additionalProperties": {"type": "integer"}},
            "total": {"type": "integer"}}}, ("400", "403", "404", "409"))}})
    spec.path(path="/tokens", operations={
        "get": {"summary": "The API tokens with their last use (never the secret): an admin sees the "
                           "tenant's, anyone else their own", "tags": ["people"],
                "responses": responses("200", {"type": "object", "properties": {
                    "items": {"type": "array", "items": token}}}, ("403",))},
        "post": {"summary": "Create a named token (an admin: for any user; anyone: for themselves) with an "
                            "expiry and scopes; the secret is shown this once", "tags": ["people"],
                 "requestBody": _json({"type": "object", "required": ["label"], "additionalProperties": False,
                                       "properties": {"user": text, "label": text, "expires": {
                                           "type": "string", "description": "a lifetime: 30d or 12h (default 90d, "
                                                                            "at most 366d)"},
                                           "scopes": {"type": "array", "items": {"type": "string"},
                                                      "description": "default [read-write]"}}}),
                 "responses": responses("201", token, ("403", "404", "409"))}})
    spec.path(path="/tokens/{token_id}", operations={"delete": {
        "summary": "Revoke a token (an admin: any; anyone: their own): refused (401) from the next request on",
        "tags": ["people"],
        "parameters": [{"name": "token_id", "in": "path", "required": True, "schema": whole}],
        "responses": responses("200", token, ("403", "404", "409"))}})
    spec.path(path="/audit", operations={"get": {
        "summary": "The audit log of record changes, newest first, a page at a time", "tags": ["people"],
        "parameters": [
            _query("user", whole, "the acting user's id"), _query("entity", {"type": "string"}, "an entity name"),
            _query("record", whole, "a record id"),
            _query("since", {"type": "string"}, "from this date or time (ISO 8601, UTC unless it says)"),
            _query("until", {"type": "string"}, "to this date (the whole day) or time"),
            _query("before", whole, "the cursor: `next` of the previous page"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "rows per page (default 50)")],
        "responses": responses("200", {"type": "object", "properties": {
            "items": {"type": "array", "items": AUDIT_ROW},
            "next": {"type": "integer", "nullable": True}}}, ("403",))}})
