"""Every error the API gives is JSON in one shape, with the right 4xx status."""
from __future__ import annotations

import logging

from flask import current_app, jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import LoomError

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
        log.exception("unhandled error")
        return error_response(500, "internal_error", "an internal error occurred; it has been logged")
