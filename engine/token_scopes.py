"""What an API token may do and for how long: its scopes and its lifetime, as text people
type (`read`, `records:party:write`, `30d`) and as the checks a request goes through.

Scopes: `read-write` (everything its user may do), `read` (every read its user may do, no
write), `records:<entity>:read` and `records:<entity>:write` (that entity's records only; a
write scope includes the reads). A read is a GET, HEAD or OPTIONS request; anything else
writes. A token with only entity scopes reaches no URL outside those entities' records."""
from __future__ import annotations

import re
from datetime import timedelta

from engine.errors import Forbidden, ValidationFailed

READ_WRITE, READ = "read-write", "read"
DEFAULT_SCOPES = (READ_WRITE,)
DEFAULT_LIFETIME = "90d"
MAX_LIFETIME = timedelta(days=366)
MAX_SCOPES = 50
READ_METHODS = ("GET", "HEAD", "OPTIONS")
_ENTITY_SCOPE = re.compile(r"records:([a-z][a-z0-9_]{0,47}):(read|write)")
_LIFETIME = re.compile(r"([1-9][0-9]{0,3})([dh])")


def lifetime(text) -> timedelta:
    """`30d` (days) or `12h` (hours), at least an hour and at most 366 days."""
    found = _LIFETIME.fullmatch(text.strip()) if isinstance(text, str) else None
    span = None
    if found:
        count, unit = int(found.group(1)), found.group(2)
        span = timedelta(days=count) if unit == "d" else timedelta(hours=count)
    if span is None or span > MAX_LIFETIME:
        raise ValidationFailed(
            f"a token's lifetime is a number of days or hours such as 30d or 12h, at most 366d; "
            f"got {str(text)[:40]!r}", details=[{"field": "expires", "message": "like 30d or 12h, at most 366d"}],
            code="bad_lifetime")
    return span


def check_scopes(scopes, entities) -> list[str]:
    """The scopes, checked against the tenant's `entities` (names); every problem at once."""
    if scopes is None:
        return list(DEFAULT_SCOPES)
    if isinstance(scopes, str):
        scopes = [part for part in re.split(r"[\s,]+", scopes) if part]
    if not isinstance(scopes, list) or not scopes or len(scopes) > MAX_SCOPES:
        raise ValidationFailed(f"scopes are a list of 1 to {MAX_SCOPES} scopes",
                               details=[{"field": "scopes", "message": "a non-empty list"}], code="bad_scope")
    details = []
    for index, scope in enumerate(scopes):
        problem = _scope_problem(scope, entities)
        if problem:
            details.append({"field": f"scopes[{index}]", "message": problem})
    if details:
        raise ValidationFailed("; ".join(d["message"] for d in details), details=details, code="bad_scope")
    return sorted(set(scopes))


def _scope_problem(scope, entities) -> str | None:
    if scope in (READ_WRITE, READ):
        return None
    found = _ENTITY_SCOPE.fullmatch(scope) if isinstance(scope, str) else None
    if found is None:
        return (f"{str(scope)[:60]!r} is not a scope: use read-write, read, records:<entity>:read "
                "or records:<entity>:write")
    if found.group(1) not in entities:
        return f"no entity {found.group(1)!r} in this tenant (scope {scope})"
    return None


def require_scope(scopes, method: str, entity: str | None) -> None:
    """Refuse (403 token_scope) a request the token's scopes do not cover."""
    scopes = DEFAULT_SCOPES if scopes is None else scopes
    reading = method.upper() in READ_METHODS
    if READ_WRITE in scopes or (reading and READ in scopes):
        return
    if entity is not None:
        wanted = {f"records:{entity}:write"} | ({f"records:{entity}:read"} if reading else set())
        if wanted & set(scopes):
            return
    what = ("read" if reading else "write") + (f" {entity} records" if entity else " here")
    raise Forbidden(f"this API token may not {what}; its scopes are {', '.join(scopes)}", code="token_scope")
