"""The one place a typed text becomes a whole number (a query's limit, an id in a path, a
setting, a version chosen on a screen).

`str.isdigit()` is true for "²" and "١", which `int()` refuses or reads as another number,
and `int()` of a few thousand digits raises; a text is a whole number here only when it is
ASCII digits (with an optional leading minus, and spaces or tabs typed around them ignored)
that fit a 64-bit column."""
from __future__ import annotations

import re

WHOLE = re.compile(r"-?[0-9]{1,19}")
INT64 = 2**63 - 1
INT64_MIN = -(2**63)


def whole_number(text, lowest: int | None = None, highest: int | None = None) -> int | None:
    """The whole number `text` spells (or an int as it is, never a bool), or None — also
    below `lowest` or above `highest`."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        number = text
    elif isinstance(text, str) and WHOLE.fullmatch(text.strip(" \t")):  # spaces typed around it ignored
        number = int(text.strip(" \t"))
    else:
        return None
    if not INT64_MIN <= number <= INT64:
        return None
    if (lowest is not None and number < lowest) or (highest is not None and number > highest):
        return None
    return number
