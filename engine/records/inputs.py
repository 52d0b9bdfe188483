"""What callers hand the record service besides field values: record ids, the version
they expect (a body `version` or an If-Match header), and the texts of their own records
(a view's name, an unmask's reason, a person's name), which no database may refuse."""
from __future__ import annotations

import re

from engine.errors import NotFound, StaleVersion, ValidationFailed
from engine.fieldtypes import UNSTORABLE

ID_TEXT = re.compile(r"[0-9]{1,19}")
INT64 = 2**63 - 1


def record_id_of(value, what, code="record_not_found") -> int:
    """An id from a URL or body (of `what`: "a merge"…); anything else is a plain 404 of
    `code`, as an id that names nothing, never a 500."""
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not ID_TEXT.fullmatch(text) or not 1 <= int(text) <= INT64:
        raise NotFound(f"no {what} {str(value)[:40]!r}", code=code)
    return int(text)


def expected_version_of(body_version, header_version):
    """The version the caller expects (body `version` or If-Match), None for any."""
    versions = []
    for source, value in (("version", body_version), ("If-Match", header_version)):
        if value is None or value == "*":
            continue
        if isinstance(value, str):
            value = value.strip().removeprefix("W/").strip('"')
            value = int(value) if ID_TEXT.fullmatch(value) else value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationFailed("the expected version must be a positive whole number",
                                   details=[{"field": source, "message": f"{str(value)[:40]!r} is not a version"}])
        versions.append(value)
    if len(set(versions)) > 1:
        raise ValidationFailed("If-Match and the body's version disagree",
                               details=[{"field": "version", "message": "differs from If-Match"}])
    return versions[0] if versions else None


def stale_version(entity_name, record_id, current, expected) -> StaleVersion:
    return StaleVersion(f"{entity_name} {record_id} was changed by someone else: you sent "
                        f"version {expected}, it is at version {current}; reload it and try again",
                        details=[{"field": "version", "message": f"is {current}, not {expected}"}])


def unstorable(value, field: str) -> dict | None:
    """The problem of a text no database stores (a NUL, an unpaired surrogate), or None."""
    if isinstance(value, str) and UNSTORABLE.search(value):
        return {"field": field, "code": "unstorable_text", "message": "holds a NUL character or an unpaired surrogate"}
    return None


def refuse_unstorable(value, field: str, what: str) -> None:
    """Refuse `value` (`what`: "a view's name"…) before it reaches a query, if no database stores it."""
    problem = unstorable(value, field)
    if problem is not None:
        raise ValidationFailed(f"{what} cannot hold a NUL character or an unpaired surrogate", details=[problem])


def refuse_keys(body: dict, keys) -> None:
    """Refuse a fixed-shape body holding a key other than `keys`, naming each."""
    unknown = sorted(set(body) - set(keys))
    if unknown:
        shape = ", ".join(repr(k) for k in keys)
        raise ValidationFailed(f"unknown key {unknown[0][:40]!r} in the body; it takes only: {shape}",
                               details=[{"field": k[:100], "message": "unknown key"} for k in unknown])
