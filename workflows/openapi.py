"""The workflow, settings, jobs and notifications routes of a tenant, described for its
OpenAPI document (the `loom_openapi_paths` hook): paths relative to `/api/v1/t/<tenant>`."""
from __future__ import annotations

from engine.api.openapi import error_responses, record_ref
from workflows.api import MAX_RETRY_IDS
from workflows.calendar import MAX_HOLIDAYS
from workflows.notify.inapp import MAX_IDS, MAX_LIMIT

TEXT = {"type": "string"}
MAYBE_TEXT = {"type": "string", "nullable": True}
ID = {"type": "integer", "format": "int64", "minimum": 1}
MAYBE_ID = {"type": "integer", "format": "int64", "nullable": True}
MOMENT = {"type": "string", "format": "date-time"}
MAYBE_MOMENT = {"type": "string", "format": "date-time", "nullable": True}
PROBLEMS = {"type": "array", "items": {"type": "object", "properties": {"field": TEXT, "message": TEXT}}}
ANY_JSON = {"nullable": True, "description": "any JSON value"}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": ID}

APPROVAL = {"type": "object", "properties": {
    "role": TEXT, "mode": TEXT, "approvals": {"type": "integer"}, "needed": {"type": "integer"},
    "approved_by_you": {"type": "boolean"}}}
TRANSITIONS = {"type": "object", "required": ["state", "workflow", "items"], "properties": {
    "state": MAYBE_TEXT, "workflow": TEXT,
    "items": {"type": "array", "items": {"type": "object", "required": ["name", "to", "allowed"], "properties": {
        "name": TEXT, "label": {"type": "object", "additionalProperties": TEXT}, "to": TEXT,
        "allowed": {"type": "boolean"}, "blocked_by": PROBLEMS,
        "comment": {"type": "string", "description": "none, optional or required"},
        "approval": APPROVAL}}}}}
WORKFLOW_HISTORY = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"at": MOMENT, "transition": TEXT, "from": MAYBE_TEXT, "to": TEXT,
                                     "actor_id": MAYBE_ID, "comment": MAYBE_TEXT}}}}}
SLA = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"id": ID, "state": TEXT, "timer": TEXT, "status": TEXT,
                                     "started_at": MOMENT, "due_at": MOMENT, "finished_at": MAYBE_MOMENT}}}}}
RULE_TRACE = {"type": "object", "required": ["items"], "properties": {
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "at": MOMENT, "event_id": MAYBE_ID, "event": TEXT, "ruleset": TEXT, "rule": TEXT, "kind": TEXT,
        "outcome": TEXT, "actions": ANY_JSON, "detail": ANY_JSON}}},
    "explain": {"type": "object", "description": "with ?explain: why the rule did or did not fire",
                "properties": {"event_id": ID, "fired": {"type": "boolean"},
                               "reasons": {"type": "array", "items": {"type": "object"}}, "kind": TEXT}}}}
BUSINESS_HOURS = {"type": "object", "properties": {
    "timezone": {"type": "string", "description": "an IANA timezone such as Asia/Shanghai"},
    "days": {"type": "array", "minItems": 1, "maxItems": 7, "uniqueItems": True,
             "items": {"type": "integer", "minimum": 1, "maximum": 7}, "description": "ISO weekdays, 1 = Monday"},
    "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"},
    "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "18:00"},
    "holidays": {"type": "array", "maxItems": MAX_HOLIDAYS, "items": {"type": "string", "format": "date"}}}}
BUSINESS_HOURS_IN = {**BUSINESS_HOURS, "additionalProperties": False}
BUSINESS_HOURS_OUT = {**BUSINESS_HOURS, "required": ["timezone", "days", "start", "end", "holidays"]}
FAILED_JOBS = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"id": ID, "event": TEXT, "entity": TEXT, "record_id": ID,
                                     "attempts": {"type": "integer"}, "error": MAYBE_TEXT}}}}}
RETRY_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "ids": {"type": "array", "maxItems": MAX_RETRY_IDS, "items": ID,
            "description": "the dead-letter events to retry (all of them when left out)"}}}
JOB = {"type": "object", "required": ["id", "kind", "status", "done"], "properties": {
    "id": ID, "kind": TEXT, "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
    "done": {"type": "integer", "minimum": 0, "description": "items done so far"},
    "total": {"type": "integer", "nullable": True, "description": "items in all, once known"},
    "result": ANY_JSON, "error": MAYBE_TEXT, "created_by": MAYBE_ID, "created_at": MOMENT,
    "started_at": MAYBE_MOMENT, "finished_at": MAYBE_MOMENT}}
JOB_BODY = {"type": "object", "additionalProperties": False, "required": ["kind"], "properties": {
    "kind": {"type": "string", "description": "the job's kind"},
    "params": {"type": "object", "description": "the kind's parameters"}}}
NOTIFICATIONS = {"type": "object", "required": ["items", "unread"], "properties": {
    "unread": {"type": "integer", "minimum": 0},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "id": ID, "at": MOMENT, "title": TEXT, "body": TEXT, "entity": MAYBE_TEXT, "record_id": MAYBE_ID,
        "read": {"type": "boolean"}, "read_at": MAYBE_MOMENT}}}}}
READ_BODY = {"type": "object", "required": ["ids"], "additionalProperties": False, "properties": {
    "ids": {"type": "array", "maxItems": MAX_IDS, "items": ID}}}


def _ok(schema, status="200", description="success") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


def _json_body(schema, required=True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def openapi_paths(package) -> dict:
    """`{path: {method: operation}}` for every route of the workflows plugin."""
    paths = {}
    for entity in package.entities:
        paths.update(_record_paths(entity, package.workflow_for(entity.name)))
    paths.update(_tenant_paths())
    return paths


def _record_paths(entity, workflow) -> dict:
    base, tags = f"/records/{entity.name}/{{id}}", [entity.name]
    paths = {
        f"{base}/workflow-history": {"get": {
            "summary": "The transitions the record took, oldest first", "tags": tags, "parameters": [ID_PARAM],
            "responses": {**_ok(WORKFLOW_HISTORY), **error_responses()}}},
        f"{base}/sla": {"get": {
            "summary": "The record's SLA timers, oldest first", "tags": tags, "parameters": [ID_PARAM],
            "responses": {**_ok(SLA), **error_responses()}}},
        f"{base}/rule-trace": {"get": {
            "summary": "Every rule firing for the record; ?explain=<ruleset>.<rule> says why that rule did "
                       "or did not fire for the record's latest event", "tags": tags,
            "parameters": [ID_PARAM, {"name": "explain", "in": "query", "required": False, "schema": TEXT}],
            "responses": {**_ok(RULE_TRACE), **error_responses()}}},
    }
    if workflow is None:
        return paths
    names = list(dict.fromkeys(t.name for t in workflow.transitions))
    paths[f"{base}/transitions"] = {"get": {
        "summary": "The transitions you may take from the record's state, and what blocks them", "tags": tags,
        "parameters": [ID_PARAM], "responses": {**_ok(TRANSITIONS), **error_responses()}}}
    done = {"type": "object", "required": ["status", "record"], "properties": {
        "status": {"type": "string", "enum": ["done"]}, "record": record_ref(entity.name)}}
    pending = {"type": "object", "required": ["status", "record"], "properties": {
        "status": {"type": "string", "enum": ["pending_approval"]}, "approvals": {"type": "integer"},
        "needed": {"type": "integer"}, "record": record_ref(entity.name)}}
    paths[f"{base}/transitions/{{name}}"] = {"post": {
        "summary": "Take a transition (or give your approval of it)", "tags": tags,
        "parameters": [ID_PARAM, {"name": "name", "in": "path", "required": True,
                                  "schema": {"type": "string", "enum": names}},
                       {"name": "If-Match", "in": "header", "required": False, "schema": TEXT,
                        "description": "the version the transition is based on"}],
        "requestBody": _json_body({"type": "object", "additionalProperties": False, "properties": {
            "comment": {"type": "string", "nullable": True}, "version": {"type": "integer", "minimum": 1}}},
            required=False),
        "responses": {**_ok(done), **_ok(pending, "202", "your approval counts; more are needed"),
                      **error_responses("403", "409", "412")}}}
    return paths


def _tenant_paths() -> dict:
    settings, jobs = ["settings"], ["jobs"]
    return {
        "/settings/business-hours": {
            "get": {"summary": "The tenant's business hours (the defaults until an admin saves some)",
                    "tags": settings, "responses": {**_ok(BUSINESS_HOURS_OUT), **error_responses()}},
            "put": {"summary": "Save the tenant's business hours; settings left out take the defaults "
                               "(admins only)", "tags": settings, "requestBody": _json_body(BUSINESS_HOURS_IN),
                    "responses": {**_ok(BUSINESS_HOURS_OUT), **error_responses("403")}}},
        "/jobs/failed": {"get": {
            "summary": "The dead-letter list: events whose actions failed for good (admins only)", "tags": jobs,
            "responses": {**_ok(FAILED_JOBS), **error_responses("403")}}},
        "/jobs/retry": {"post": {
            "summary": "Queue dead-letter events again (admins only)", "tags": jobs,
            "requestBody": _json_body(RETRY_BODY, required=False),
            "responses": {**_ok({"type": "object", "required": ["requeued"], "properties": {
                "requeued": {"type": "integer", "minimum": 0}}}), **error_responses("403")}}},
        "/jobs": {
            "get": {"summary": "Your background jobs, newest first (every job for an admin)", "tags": jobs,
                    "parameters": [{"name": "kind", "in": "query", "required": False, "schema": TEXT},
                                   {"name": "limit", "in": "query", "required": False,
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}}],
                    "responses": {**_ok({"type": "object", "required": ["items"], "properties": {
                        "items": {"type": "array", "items": JOB}}}), **error_responses()}},
            "post": {"summary": "Start a background job; its parameters are checked first", "tags": jobs,
                     "requestBody": _json_body(JOB_BODY),
                     "responses": {**_ok(JOB, "202", "the job, queued"), **error_responses("403")}}},
        "/jobs/{id}": {"get": {
            "summary": "A background job: its status, progress and result (its creator or an admin)",
            "tags": jobs, "parameters": [ID_PARAM],
            "responses": {**_ok(JOB), **error_responses()}}},
        "/notifications": {"get": {
            "summary": "Your in-app notifications, newest first", "tags": ["notifications"],
            "parameters": [{"name": "unread", "in": "query", "required": False, "schema": {"type": "boolean"},
                            "description": "only the unread ones"},
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}}],
            "responses": {**_ok(NOTIFICATIONS), **error_responses()}}},
        "/notifications/read": {"post": {
            "summary": "Mark your notifications read", "tags": ["notifications"],
            "requestBody": _json_body(READ_BODY),
            "responses": {**_ok({"type": "object", "required": ["marked"], "properties": {
                "marked": {"type": "integer", "minimum": 0}}}), **error_responses()}}},
    }
