"""Lookups by many values, one `IN (...)` of at most `IN_LIST` values at a time: a
statement's parameters stay well under every backend's limit (SQLite's 32,766, the
PostgreSQL driver's 65,535) and each statement's plan stays the same size."""
from __future__ import annotations

IN_LIST = 500


def in_lists(values, size: int = IN_LIST):
    """`values` (a sequence) cut into lists of at most `size`, in order."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
