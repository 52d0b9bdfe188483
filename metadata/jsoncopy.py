"""JSON data as the metadata's checks and layers handle it, cheaply.

`json_copy`: a deep copy of JSON data (dicts, lists and scalars), several times cheaper
than `copy.deepcopy`, which the metadata's layers, models and drafts copy on every edit
and dry run. Anything else inside (a tuple, a Decimal, a date) is copied by
`copy.deepcopy`, so the result equals `copy.deepcopy`'s; shared sub-objects are copied
once per place.

`json_key`: the JSON text of pure JSON data (the key a check's result is kept under, so a
document's unchanged parts are not checked again), or None for anything else (a tuple
would come back as a list, an int key as text: checked as it is instead)."""
from __future__ import annotations

import copy
import json

_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_copy(value):
    """A copy of `value` that shares no dict or list with it."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def json_key(value) -> str | None:
    """`value` as JSON text in its own key order, or None when it is not pure JSON data."""
    if not _pure(value):
        return None
    return json.dumps(value, ensure_ascii=False)


def _pure(value) -> bool:
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _pure(item) for key, item in value.items())
    if kind is list:
        return all(_pure(item) for item in value)
    return kind in _SCALARS
