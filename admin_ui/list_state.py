"""What a list screen shows, read from its query string: the columns, the sort, the quick
search, the filters, the page (a cursor) and whether the list layout's default filter (a
condition) is switched off (`default_filter=off`). The same state becomes the engine's list
parameters (`records.list`, `count`, `export`), the links of the screen (sort headers, next
page, kanban, CSV) and a saved view's definition, so all of them show the same records.

Filters are the list API's own parameters (`amount__gte=100`, `stage__in=a,b`): the
screen only checks that they name fields the user can see, and the engine checks the rest
(a bad value is its 400, shown as a page)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from flask import abort
from flask_babel import gettext as _

from admin_ui.list_filters import base_of, engine_value
from admin_ui.view import entity_view
from engine.errors import BadQuery

SORTABLE_SYSTEM = ("id", "created_at", "updated_at", "owner_id")
SYSTEM_FILTERS = ("id", "created_at", "updated_at", "owner_id")
UNSORTABLE_TYPES = ("multi_choice", "json")
JOINED_OPERATORS = ("in", "any", "all")  # several checked values make one comma-joined parameter
STATE_KEYS = ("columns", "sort", "q", "cursor", "view", "default_filter")
DEFAULT_COLUMNS = 6


@dataclass(frozen=True)
class ListState:
    columns: tuple
    sort: str
    q: str
    filters: tuple          # ((key, value), ...) as the list API takes them
    cursor: str | None = None
    view: str | None = None
    engine_filters: tuple = ()  # the filters as the engine takes them (a day as an instant)
    condition: dict | None = None  # the list layout's default filter (a condition), unless switched off
    default_off: bool = False  # `default_filter=off`: the layout's filter switched off

    def params(self, page_size: int, also=()) -> list:
        """The engine's list parameters for this page (`also`: fields read but not shown)."""
        fields = ",".join(dict.fromkeys([*self.columns, *also]))
        out = [*self.engine_filters, ("fields", fields), ("limit", str(page_size))]
        if self.q:
            out.append(("q", self.q))
        if self.sort:
            out.append(("sort", self.sort))
        if self.cursor:
            out.append(("cursor", self.cursor))
        return out

    def filter_params(self) -> list:
        """What decides which records match (for the count and the export)."""
        return [*self.engine_filters, *([("q", self.q)] if self.q else [])]

    def query(self, **changes) -> str:
        """The query string of this state (first page unless a cursor is given)."""
        state = replace(self, **{"cursor": None, **changes})
        pairs = [("columns", c) for c in state.columns]
        pairs += [(k, v) for k, v in (("sort", state.sort), ("q", state.q), ("view", state.view),
                                      ("cursor", state.cursor)) if v]
        pairs += [("default_filter", "off")] if state.default_off else []
        return urlencode(pairs + list(state.filters))

    def sort_of(self, name: str) -> str | None:
        """`ascending`/`descending` when the list is sorted by `name` first (for aria-sort)."""
        first = self.sort.split(",")[0] if self.sort else ""
        if first.lstrip("-") != name:
            return None
        return "descending" if first.startswith("-") else "ascending"

    def definition(self, mode="list") -> dict:
        return {"columns": list(self.columns), "sort": self.sort, "q": self.q,
                "filters": [list(pair) for pair in self.filters], "mode": mode}

    def filtered_columns(self) -> list:
        """The shown columns, then any other field a filter is set on (so it can be cleared)."""
        return list(dict.fromkeys([*self.columns, *(key.split("__")[0] for key, value in self.filters)]))

    def filter_value(self, key: str) -> str:
        return next((v for k, v in self.filters if k == key), "")

    def filter_values(self, key: str) -> list:
        return self.filter_value(key).split(",") if self.filter_value(key) else []


def list_entity(name: str) -> dict:
    """The entity as the user sees it, or the 404 page."""
    entity = entity_view(name)
    if entity is None:
        abort(404, description=_("There is no list called %(name)s.", name=name[:60]))
    return entity


def list_layout(view: dict, entity: dict) -> dict | None:
    return next((layout for layout in view["layouts"]
                 if layout.get("entity") == entity["name"] and layout.get("kind") == "list"), None)


def default_state(view: dict, entity: dict) -> ListState:
    layout = list_layout(view, entity) or {}
    columns = [c["name"] for c in layout.get("columns", ())]
    if not columns:
        columns = [f["name"] for f in entity["fields"]][:DEFAULT_COLUMNS]
    return ListState(tuple(columns), layout.get("sort") or "", "", (), condition=layout.get("filter"))


def read_state(args, view: dict, entity: dict) -> ListState:
    """The state of a request's query string (a MultiDict); BadQuery, listing every
    problem, for a column, sort key or filter of a field the user cannot see."""
    default = default_state(view, entity)
    fields = entity["field_by_name"]
    problems = []
    columns = tuple(args.getlist("columns")) or default.columns
    for name in columns:
        if name not in fields and name not in SYSTEM_FILTERS:
            problems.append(("columns", f"no column {name[:60]!r}"))
    sort = args.get("sort", default.sort)
    for key in filter(None, sort.split(",")):
        name = key.lstrip("-")
        field = fields.get(name)
        if name not in SORTABLE_SYSTEM and (field is None or field["base_type"] in UNSORTABLE_TYPES):
            problems.append(("sort", f"the list cannot be sorted by {name[:60]!r}"))
    filters, engine_filters = [], []
    for key in dict.fromkeys(k for k in args.keys() if k not in STATE_KEYS):
        name, _, op = key.partition("__")
        if name not in fields and name not in SYSTEM_FILTERS:
            problems.append((key[:60], f"no field {name[:60]!r} to filter"))
            continue
        values = [v.strip() for v in args.getlist(key) if v.strip()]
        if values:
            value = ",".join(values) if op in JOINED_OPERATORS else values[-1]
            filters.append((key, value))
            engine_filters.append((key, engine_value(base_of(entity, name), op, value)))
    if problems:
        raise BadQuery("the list cannot show this", details=problems)
    off = args.get("default_filter") == "off" and default.condition is not None
    return ListState(columns, sort, args.get("q", "").strip(), tuple(filters),
                     args.get("cursor") or None, args.get("view") or None, tuple(engine_filters),
                     None if off else default.condition, off)


def sortable(field: dict | None, name: str) -> bool:
    return name in SORTABLE_SYSTEM or (field is not None and field["base_type"] not in UNSORTABLE_TYPES)
