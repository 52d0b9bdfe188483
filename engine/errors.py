"""Errors as values: a code, a message and the details (path + message) of what was wrong.

The same objects serve the API (as JSON with the right 4xx status), the CLI (on stderr
with a non-zero exit) and the designer UI.
"""
from __future__ import annotations


class LoomError(Exception):
    """A refused request. Nothing was changed when one of these is raised."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details=None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = [_detail(d) for d in (details or [])]
        if code:
            self.code = code
        if status:
            self.status = status

    def to_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  {d['field']}: {d['message']}" if d.get("field") else f"  {d['message']}"
                  for d in self.details]
        return "\n".join(lines)


def _detail(detail) -> dict:
    if isinstance(detail, dict):
        return {k: v for k, v in detail.items() if v is not None}
    to_dict = getattr(detail, "to_dict", None)
    if to_dict:
        return to_dict()
    field, message = detail
    return {"field": field, "message": message}


class ValidationFailed(LoomError):
    status, code = 400, "validation_failed"


class BadQuery(LoomError):
    status, code = 400, "bad_query"


class NotFound(LoomError):
    status, code = 404, "not_found"


class Forbidden(LoomError):
    status, code = 403, "forbidden"


class Unauthorized(LoomError):
    status, code = 401, "unauthorized"


class Conflict(LoomError):
    status, code = 409, "conflict"


class StaleVersion(LoomError):
    status, code = 412, "stale_version"


class MigrationRefused(LoomError):
    status, code = 409, "migration_refused"
