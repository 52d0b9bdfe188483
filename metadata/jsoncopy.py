"""A deep copy of JSON data (dicts, lists and scalars), several times cheaper than
`copy.deepcopy`, which the metadata's layers, models and drafts copy on every edit and
dry run. Anything else inside (a tuple, a Decimal, a date) is copied by `copy.deepcopy`,
so the result equals `copy.deepcopy`'s; shared sub-objects are copied once per place."""
from __future__ import annotations

import copy

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
