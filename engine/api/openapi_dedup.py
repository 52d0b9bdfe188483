"""The OpenAPI description of duplicate rules at entry (the `allow_duplicates` parameter,
the `_duplicates` a warning adds to the record) and of the duplicate report's route."""
from __future__ import annotations

MATCH = {"type": "object", "required": ["record_id", "score", "rule", "action", "overridable", "reasons"],
         "properties": {
             "record_id": {"type": "integer", "nullable": True,
                           "description": "the existing record the rule found; null (and no reasons) when "
                                          "you may not read it"},
             "score": {"type": "number", "minimum": 0, "maximum": 100},
             "rule": {"type": "string"}, "label": {"type": "object", "additionalProperties": {"type": "string"}},
             "action": {"type": "string", "enum": ["warn", "block"]},
             "overridable": {"type": "boolean"},
             "reasons": {"type": "array", "items": {"type": "string"}}}}
ALLOW = {"name": "allow_duplicates", "in": "query", "required": False, "schema": {"type": "boolean"},
         "description": "save even though an overridable blocking duplicate rule matches (audited); "
                        "without it such a match is a 409 `duplicate` naming the records"}
LINK = {"type": "object", "properties": {
    "a": {"type": "integer"}, "b": {"type": "integer"}, "score": {"type": "number"}, "rule": {"type": "string"},
    "reasons": {"type": "array", "items": {"type": "string"}}}}
REPORT = {"type": "object", "properties": {
    "entity": {"type": "string"}, "records": {"type": "integer"}, "rules": {"type": "array", "items": {"type": "string"}},
    "links": {"type": "integer"}, "clusters_total": {"type": "integer"}, "job_id": {"type": "integer"},
    "finished_at": {"type": "string", "format": "date-time"}, "offset": {"type": "integer"},
    "clusters": {"type": "array", "items": {"type": "object", "properties": {
        "ids": {"type": "array", "items": {"type": "integer"}}, "score": {"type": "number"},
        "links": {"type": "array", "items": LINK}}}}}}


def dedup_paths(spec, responses) -> None:
    spec.path(path="/dedup/{entity}/clusters", operations={"get": {
        "summary": "The newest duplicate report of an entity: clusters of likely duplicates with their "
                   "scores and reasons (admins; start a scan with POST /jobs kind dedup_scan)",
        "tags": ["dedup"],
        "parameters": [{"name": "entity", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 0, "default": 0}},
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
        "responses": responses("200", REPORT, ("403", "404"))}})


def with_duplicates(document: dict, package) -> None:
    """Every create, batch create and change takes `allow_duplicates`; the record a create
    or change of an entity with duplicate rules answers may carry `_duplicates`."""
    paths = document.get("paths", {})
    for entity in package.entities:
        operations = [paths.get(f"/records/{entity.name}", {}).get("post"),
                      paths.get(f"/records/{entity.name}/batch", {}).get("post"),
                      paths.get(f"/records/{entity.name}/{{id}}", {}).get("patch")]
        for operation in filter(None, operations):
            operation.setdefault("parameters", []).append(ALLOW)
            if not entity.duplicate_rules or operation is operations[1]:
                continue
            for content in (r.get("content", {}).get("application/json") for status, r in
                            operation["responses"].items() if status in ("200", "201")):
                if content:
                    content["schema"] = {"allOf": [content["schema"], {"type": "object", "properties": {
                        "_duplicates": {"type": "array", "items": MATCH,
                                        "description": "existing records a warning rule matches"}}}]}
