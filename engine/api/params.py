"""The query parameters of a tenant API endpoint: each view declares the ones it reads,
and a request naming any other is a 400 before the view runs, so a misspelt parameter
is never silently ignored.

`@accepts("fields")` under the route decorator declares them; a view without the mark
reads none; `@accepts_filters` marks the views whose parameters are list filters, which
the list query checks itself. A declared parameter is given once (`REPEATABLE` ones may
be given again): a second value is a 400, never silently dropped for the first."""
from __future__ import annotations

from flask import current_app, request

from engine.errors import BadQuery, ValidationFailed
from engine.migration.states import parse_state_map

ATTRIBUTE = "loom_query_parameters"
REPEATABLE = frozenset({"map_state"})  # read with getlist: each one a value


def accepts(*names):
    """Decorator: the view reads these query parameters and no others."""
    def mark(view):
        setattr(view, ATTRIBUTE, frozenset(names))
        return view
    return mark


def accepts_filters(view):
    """Decorator: the view reads list filters (any field name), and checks them itself."""
    setattr(view, ATTRIBUTE, None)
    return view


def refuse_unknown_parameters() -> None:
    """`before_request`: a 400 naming every query parameter the endpoint does not read."""
    view = current_app.view_functions.get(request.endpoint)
    accepted = getattr(view, ATTRIBUTE, frozenset())
    if accepted is None:
        return
    unknown = sorted(set(request.args) - accepted)
    if unknown:
        known = ", ".join(sorted(accepted)) or "none"
        raise BadQuery(f"unknown query parameter {unknown[0][:40]!r}; this endpoint accepts: {known}",
                       details=[{"field": name[:100], "message": "unknown query parameter"} for name in unknown])
    refuse_repeated(accepted - REPEATABLE)


def refuse_repeated(names) -> None:
    """A 400 naming every one of the query parameters `names` given more than once."""
    repeated = sorted(name for name in names if len(request.args.getlist(name)) > 1)
    if repeated:
        raise BadQuery(f"{repeated[0]} may be given only once",
                       details=[{"field": name, "message": "given more than once"} for name in repeated])


def flag(name) -> bool:
    """The query parameter `name` as true or false (absent: false)."""
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ValidationFailed(f"{name} must be true or false",
                               details=[{"field": name, "code": "not_boolean", "message": raw[:60]}])
    return raw in ("true", "1", "yes")


def state_map() -> dict:
    """`?map_state=service_request.waiting=in_progress` (repeatable): where a dropped state's records go."""
    try:
        return parse_state_map(request.args.getlist("map_state"))
    except ValueError as exc:
        raise ValidationFailed(str(exc), details=[{"field": "map_state", "code": "invalid", "message": str(exc)}]) from None
