"""JSON text as Loom reads it from people: strict where Python's json is lenient. NaN,
Infinity and numbers too large for a float are refused (PostgreSQL's JSON refuses them
too, so a document holding one could never be stored), and so is nesting too deep for
the reader; each as a ValueError with a plain message."""
from __future__ import annotations

import json
import math


class TooDeep(ValueError):
    """JSON nested deeper than the reader goes."""


def strict_loads(text):
    """The JSON value `text` spells; ValueError when it is not strict JSON."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise TooDeep("the JSON is nested too deeply") from None


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value
