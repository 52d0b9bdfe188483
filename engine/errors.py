"""Errors as values: a code, a message and the details of what was wrong, each a
`metadata.errors.Problem` (path, code, message).

The same objects serve the API (as JSON with the right 4xx status), the CLI (on stderr
with a non-zero exit) and the designer UI.
"""
from __future__ import annotations

from metadata.errors import Problem


class LoomError(Exception):
    """A refused request. Nothing was changed when one of these is raised."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details=None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.problems: list[Problem] = [_problem(d, self.code) for d in (details or [])]

    @property
    def details(self) -> list[dict]:
        """The problems as the API's `details` entries: {"field", "code", "message", ...}."""
        return [p.to_dict() for p in self.problems]

    def to_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.problems:
            error["details"] = self.details
        return {"error": error}

    def __str__(self) -> str:
        return "\n".join([self.message] + [f"  {p.line()}" for p in self.problems])


def _problem(detail, code: str) -> Problem:
    """A detail given as a Problem, a {"field", "message", ...} mapping or a (field, message) pair;
    one without a code of its own takes the error's."""
    if isinstance(detail, Problem):
        return detail
    if isinstance(detail, dict):
        return Problem.from_dict(detail, code)
    field, message = detail
    return Problem(str(field), code, str(message))


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


class PluginFailed(LoomError):
    """A plugin's hook or use of the engine broke (a bug, not the user's input): the write
    is refused and nothing of it is kept."""
    status, code = 500, "plugin_failed"


class StaleVersion(LoomError):
    status, code = 412, "stale_version"


class MigrationRefused(LoomError):
    status, code = 409, "migration_refused"
