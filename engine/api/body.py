"""Reading a JSON request body safely: malformed, oversized or absurdly nested input is
a 400 with a clear message, never a 500; so is an object naming a key twice (never one of
its values silently dropped), and a key a fixed-shape body does not have."""
from __future__ import annotations

from flask import request

from engine.errors import LoomError
from engine.jsontext import RepeatedKey, TooDeep, TooPrecise, strict_loads
from engine.records.inputs import refuse_keys

MAX_DEPTH = 32


class BadBody(LoomError):
    status, code = 400, "bad_body"


def json_body(keys=None, optional=False) -> dict:
    """The request's JSON body, which must be an object. `keys`: the only keys a
    fixed-shape body may hold (None: its own schema checks it); `optional`: no body is {}."""
    raw = request.get_data(cache=True)
    if not raw:
        if optional:
            return {}
        raise BadBody("the request needs a JSON body")
    try:
        value = strict_loads(raw)
    except TooDeep:
        raise BadBody(f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except TooPrecise as exc:  # valid JSON, but not a number the body keeps
        raise BadBody(f"in the JSON body, {exc}") from None
    except RepeatedKey as exc:
        raise BadBody(f"the JSON body names the key {exc.key[:100]!r} twice in one object: "
                      "which value is meant?") from None
    except ValueError as exc:
        raise BadBody(f"the body is not valid JSON: {exc}") from None
    if _depth(value) > MAX_DEPTH:
        raise BadBody(f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels)")
    if not isinstance(value, dict):
        raise BadBody("the JSON body must be an object")
    if keys is not None:
        refuse_keys(value, keys)
    return value


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest
