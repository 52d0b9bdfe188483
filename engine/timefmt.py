"""Times as the API writes them: ISO 8601 in UTC with `Z`. Naive values (SQLite keeps no
time zone) are UTC by Loom's convention."""
from __future__ import annotations

from datetime import datetime, timezone


_last: tuple = (None, None)  # the last time written out and its text


def iso_utc(value: datetime | None) -> str | None:
    # The rows of a batch share one time stamp (datetimes are immutable): it is written
    # out once.
    global _last
    last = _last
    if value is last[0]:
        return last[1]
    text = _iso_utc(value)
    _last = (value, text)
    return text


def _iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
