"""JSON text as Loom reads it from people: strict where Python's json is lenient. Each of
these is refused as a ValueError with a plain message:

- NaN, Infinity and numbers too large for a float (PostgreSQL's JSON refuses them too, so a
  document holding one could never be stored);
- a number a float would round (read as one, it would be stored rounded without a word;
  written as text, a decimal field keeps every digit) — what a writer of a float prints,
  its shortest form or its 17 digits (`0.10000000000000001` is 0.1), is read as that float;
- nesting too deep for the reader;
- an object naming a key twice (Python's json keeps the last value and drops the other:
  which one was meant is the writer's to say)."""
from __future__ import annotations

import json
import math
from decimal import Decimal


class TooDeep(ValueError):
    """JSON nested deeper than the reader goes."""


class RepeatedKey(ValueError):
    """A JSON object naming `key` twice."""

    def __init__(self, key: str):
        super().__init__(f"an object names the key {key[:100]!r} twice")
        self.key = key


def strict_loads(text, parse_int=None):
    """The JSON value `text` spells; ValueError when it is not strict JSON. `parse_int`:
    as the json module's."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=parse_int, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise TooDeep("the JSON is nested too deeply") from None


def _unique_keys(pairs: list) -> dict:
    made = dict(pairs)
    if len(made) < len(pairs):
        seen = set()
        raise RepeatedKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return made


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


class TooPrecise(ValueError):
    """A number with more digits than a float keeps: read as one, it would be stored rounded."""


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    if not _faithful(text, value):  # the float rounds it: a digit would be lost unseen
        why = "is too small for a JSON number" if value == 0 else "has more digits than a JSON number keeps exactly"
        raise TooPrecise(f"the number {_shown(text)} {why} (it would be read as {value!r}): write it as text, "
                         f"\"{_shown(text)}\"")
    return value


def _faithful(text: str, value: float) -> bool:
    """Whether `text` is what a writer of the float `value` prints: its shortest form (as
    JavaScript and Python write), or its digits to a precision of at most 17 (as C's %.17g,
    Java and .NET may) — not a number the float only approximates."""
    written = Decimal(text)
    if written == Decimal(repr(value)):
        return True
    digits = len(written.as_tuple().digits)
    return digits <= 17 and Decimal(format(value, f".{digits}g")) == written


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
