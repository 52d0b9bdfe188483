"""Checks a rule's condition cannot make (they compare two fields, or look at other
records), run inside the write by `loom_record_before_write`."""
from __future__ import annotations

from engine.plugin_api import ValidationFailed

# entity: [(first field, second field, message)] — the second must not come before the first
RANGES = {
    "vehicle_ownership": [("owned_from", "owned_to", "the ownership cannot end before it starts")],
    "warranty": [("starts_on", "ends_on", "the warranty cannot end before it starts")],
    "model": [("year_from", "year_to", "the last model year cannot come before the first")],
    "recall": [("year_from", "year_to", "the last model year cannot come before the first")],
}


def check_write(event, session) -> None:
    if event.action not in ("created", "updated"):
        return
    record = event.record or {}
    details = []
    for first, second, message in RANGES.get(event.entity, ()):
        low, high = record.get(first), record.get(second)
        if low is not None and high is not None and high < low:
            details.append({"field": second, "message": f"{message} ({second} {high} < {first} {low})"})
    if event.entity == "dealer" and "brands" in (event.changes or {}):
        details += brand_problems(record.get("brands"), session)
    if details:
        raise ValidationFailed(f"invalid {event.entity} record", details=details)


def brand_problems(brands, session) -> list[dict]:
    """`dealer.brands` is a list of distinct ids of existing brands (or empty)."""
    if brands is None:
        return []
    if (not isinstance(brands, list)
            or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in brands)):
        return [{"field": "brands", "message": "must be a list of brand ids, such as [1, 2]"}]
    if len(set(brands)) != len(brands):
        return [{"field": "brands", "message": "must not name a brand twice"}]
    if not brands:
        return []
    named = [("id__in", ",".join(map(str, brands))), ("fields", "id")]
    found = {brand["id"] for brand in session.records.list("brand", named)["items"]}
    missing = [b for b in brands if b not in found]
    if missing:
        return [{"field": "brands", "message": f"no brand with id {', '.join(map(str, missing))}"}]
    return []
