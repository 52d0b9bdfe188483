"""Times as the API writes them: ISO 8601 in UTC with `Z`. Naive values (SQLite keeps no
time zone) are UTC by Loom's convention."""
from __future__ import annotations

from datetime import datetime, timezone


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
