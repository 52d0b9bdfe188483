"""The filters a list offers, one per filterable column, chosen by the field's type:
ranges for numbers, dates and money; pick lists for choices, multi-choices and workflow
states; yes/no for booleans; a type-ahead pick for references. Each filter names the list
API parameters it sets, so the form's fields are the engine's query language as is."""
from __future__ import annotations

RANGE_TYPES = ("integer", "decimal", "currency", "date", "datetime")
INPUT_TYPES = {"integer": "number", "decimal": "number", "currency": "number", "date": "date",
               "datetime": "date"}
SYSTEM_RANGES = {"created_at": "datetime", "updated_at": "datetime"}


def filters_for(entity: dict, columns, labels: dict) -> list[dict]:
    """The filter of each column that has one, in column order."""
    out = []
    for name in columns:
        field = entity["field_by_name"].get(name)
        base = field["base_type"] if field else SYSTEM_RANGES.get(name)
        spec = _spec(field, base)
        if spec is not None:
            out.append({"name": name, "label": labels.get(name, name), "field": field, **spec})
    return out


def _spec(field, base) -> dict | None:
    if base in RANGE_TYPES:
        return {"kind": "range", "input": INPUT_TYPES[base]}
    if base == "choice":
        return {"kind": "choices", "key_suffix": "__in", "choices": field.get("choices", [])}
    if base == "multi_choice":
        return {"kind": "choices", "key_suffix": "__any", "choices": field.get("choices", [])}
    if base == "boolean":
        return {"kind": "boolean"}
    if base == "reference":
        return {"kind": "reference"}
    return None


def engine_value(base: str | None, op: str, value: str) -> str:
    """A day typed for a date-and-time range, as the instant that bounds it (UTC)."""
    if base == "datetime" and len(value) == 10:
        return value + ("T23:59:59.999999" if op in ("lte", "lt") else "T00:00:00")
    return value


def engine_filters(entity: dict, filters) -> list[tuple[str, str]]:
    """The filters as the engine takes them (`engine_value` of each)."""
    out = []
    for key, value in filters:
        name, _, op = key.partition("__")
        out.append((key, engine_value(base_of(entity, name), op, value)))
    return out


def base_of(entity: dict, name: str) -> str | None:
    field = entity["field_by_name"].get(name)
    return field["base_type"] if field else SYSTEM_RANGES.get(name)
