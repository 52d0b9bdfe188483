"""Every error the API gives is JSON in one shape, with the right 4xx status."""
from __future__ import annotations

import logging

from flask import current_app, jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import LoomError
from engine.privacy.error_text import safe_trace

log = logging.getLogger("loom.api")


def error_response(status: int, code: str, message: str, details=None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def register_error_handlers(app) -> None:
    @app.errorhandler(LoomError)
    def _loom_error(exc: LoomError):
        response = jsonify(exc.to_dict())
        response.status_code = exc.status
        retry_after = getattr(exc, "retry_after", None)  # a retryable refusal says when to retry
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        response.headers.extend(getattr(exc, "headers", None) or {})  # e.g. WWW-Authenticate on a 401
        return response

    @app.errorhandler(413)
    def _too_large(exc):
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(413, "too_large", f"the request is larger than the upload limit of "
                              f"{limit // 1024 // 1024} MB (LOOM_MAX_UPLOAD_MB)",
                              [{"field": "body", "message": f"at most {limit} bytes"}])

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.error("unhandled error\n%s", safe_trace(exc))  # a database error's values stay out of the log
        return error_response(500, "internal_error", "an internal error occurred; it has been logged")


# The shape above, as the OpenAPI document describes it, and the shared error responses.
ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}}}}},
}


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
