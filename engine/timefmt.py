"""Times as the API writes them: ISO 8601 in UTC with `Z`. Naive values (SQLite keeps no
time zone) are UTC by Loom's convention."""
from __future__ import annotations

from datetime import datetime, timezone


_last: tuple = (None, None)  # the last time written out and its text


def iso_utc(value: datetime | None) -> str | None:
    # The rows of a batch share one time stamp, and a record never changed has its
    # `updated_at` equal to its `created_at`: an instant equal to the last one written out
    # (equal instants have one text in UTC) is not written out again.
    global _last
    last = _last
    if value is last[0] or value == last[0]:
        return last[1]
    text = _iso_utc(value)
    _last = (value, text)
    return text


def _iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    tz = value.tzinfo
    if tz is None:  # UTC by convention: its text as it stands
        return value.isoformat() + "Z"
    if tz is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.isoformat().replace("+00:00", "Z")
