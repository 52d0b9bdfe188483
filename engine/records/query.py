"""List queries: the query string of ``GET .../records/<entity>`` as a keyset-paginated SELECT.

Keyset (not OFFSET) pagination keeps deep pages as cheap as the first and never skips
or repeats a row when others are inserted or deleted between requests.  NULL sorts as
the smallest value on every backend (ascending: first; descending: last), and the
keyset predicate follows the same rule, so nullable sort keys paginate correctly.

A field literally named like a reserved parameter (``q``, ``sort`` ...) can still be
filtered with an explicit operator: ``sort__eq=x``.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, String, and_, cast, false, func, literal, or_, select, union

from engine.errors import BadQuery
from engine.fieldtypes import CURRENCY_SUFFIX, INT64, FieldInvalid, dump_value, parse_query_value
from engine.records.conditions_sql import condition_clause
from engine.records.options import holds
from metadata.model import Field

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_SORT_KEYS = 5
MAX_IN_VALUES = 100
MAX_VALUE_LENGTH = 1000

RESERVED = ("q", "sort", "limit", "cursor", "fields")
OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "isnull", "any", "all")
OPTION_OPERATORS = ("eq", "ne", "any", "all", "isnull")  # a multi_choice field: holds / lacks an option
RANGE_OPERATORS = {"lt": "__lt__", "lte": "__le__", "gt": "__gt__", "gte": "__ge__"}
SYSTEM_TYPES = {"id": "integer", "created_at": "datetime", "updated_at": "datetime",
                "created_by": "integer", "updated_by": "integer", "owner_id": "integer",
                "version": "integer"}
ALWAYS_SELECTED = ("id", "version")
LIKE_TYPES = frozenset({"string", "text", "email", "phone", "url", "choice"})
SEARCH_TYPES = LIKE_TYPES - {"choice"}
OPAQUE_TYPES = frozenset({"multi_choice", "json"})      # not sorted; json only __isnull
UNORDERED_TYPES = OPAQUE_TYPES | {"boolean"}            # no lt/lte/gt/gte
SYSTEM_FIELDS = {name: Field(name=name, type=kind, label={}, base_type=kind)
                 for name, kind in SYSTEM_TYPES.items()}
CURSOR_TAGS = {"d": Decimal, "dt": datetime.fromisoformat, "date": date.fromisoformat}
CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class ListQuery:
    where: tuple            # SQLAlchemy boolean clauses (AND-ed)
    order: tuple            # ((column_name, descending), ...) ending with ("id", ...)
    limit: int
    after: tuple | None     # sort-key values of the previous page's last row
    columns: tuple | None   # field names from fields= (None = all), id and version included


class _Problem(Exception):
    """What is wrong with one parameter; collected so all are reported together."""

    def detail(self, key) -> dict:
        """The problem of parameter `key`: a value's problem keeps its code and details."""
        cause = self.__cause__
        return cause.problem(key).to_dict() if isinstance(cause, FieldInvalid) else {"field": key, "message": str(self)}


# -- parsing -------------------------------------------------------------------------

def parse_list_query(entity, table, params) -> ListQuery:
    """Every parameter is checked before anything is refused, so one BadQuery lists all problems."""
    where, problems, single = [], [], {}
    for key, raw in params:
        try:
            _check_text(raw)
            if key == "q":
                where.extend(_search(entity, table, raw))
            elif key in RESERVED:
                if key in single:
                    raise _Problem(f"{key} may be given only once")
                single[key] = raw
            else:
                where.append(_filter(entity, table, key, raw))
        except _Problem as problem:
            problems.append(problem.detail(key))
    order = _guard(problems, "sort", _parse_sort, entity, single.get("sort"))
    limit = _guard(problems, "limit", _parse_limit, single.get("limit"))
    columns = _guard(problems, "fields", _parse_fields, entity, single.get("fields"))
    after = None
    if "cursor" in single and order is not None:
        after = _guard(problems, "cursor", _decode_checked, table, order, single["cursor"])
    if problems:
        raise BadQuery("the query has invalid parameters", details=problems)
    return ListQuery(tuple(where), order, limit, after, columns)


def _guard(problems, key, parse, *args):
    try:
        return parse(*args)
    except _Problem as problem:
        problems.append(problem.detail(key))
        return None


def _check_text(raw):
    if len(raw) > MAX_VALUE_LENGTH:
        raise _Problem(f"is longer than {MAX_VALUE_LENGTH} characters")
    if not _clean(raw):
        raise _Problem("must be text without NUL characters")


def _clean(text) -> bool:
    """PostgreSQL refuses NUL characters and lone surrogates in text."""
    return not UNSTORABLE.search(text)


def _base(field) -> str:
    return field.base_type or field.type


def _known(entity, name):
    """A field, or a synthetic one for a system column, so both filter and sort alike."""
    field = SYSTEM_FIELDS.get(name) or entity.field(name)
    if field is None:
        raise _Problem(f"unknown field {name!r}")
    return field


def _search(entity, table, raw) -> tuple:
    columns = [table.c[f.name] for f in entity.fields if _base(f) in SEARCH_TYPES]
    if not columns:
        raise _Problem(f"{entity.name} has no text fields to search")
    if raw == "":
        return ()
    return (or_(*(column.icontains(raw, autoescape=True) for column in columns)),)


def _filter(entity, table, key, raw):
    """One ``field`` / ``field__op`` parameter as a SQL condition."""
    name, sep, op = key.partition("__")
    field = _known(entity, name)
    op = op if sep else "eq"
    _check_operator(name, _base(field), op)
    column = table.c[name]
    if op == "isnull":
        missing = _missing(column, _base(field))
        return missing if _flag(raw) else ~missing
    if op in ("contains", "startswith"):
        return (column.icontains if op == "contains" else column.istartswith)(raw, autoescape=True)
    if op in ("any", "all"):
        return holds(column, _in_values(field, raw, op), every=op == "all")
    # eq, ne, in and the ranges are leaves of the condition language, compiled by its one
    # SQL compiler: "not X" includes records with no value, as a condition's ne does.
    if _base(field) == "multi_choice":  # field=option holds it, field__ne=option lacks it
        leaf = {"field": name, "op": "contains", "value": _convert(field, raw)}
        return condition_clause(leaf if op == "eq" else {"not": leaf}, entity, column.table, parsed=True)
    value = _in_values(field, raw) if op == "in" else _convert(field, raw)
    if "" in (value if op == "in" else [value]):
        raise _Problem("compare with a non-empty value: an empty value fails eq and in and passes ne "
                       f"(see the conditions' truth table); {name}__isnull=true finds records without one")
    return condition_clause({"field": name, "op": op, "value": value}, entity, column.table, parsed=True)


def _check_operator(name, base, op):
    """Refuses operators that mean nothing for the field's type, naming what would work."""
    if base == "currency" and op.split("__")[0] == CURRENCY_SUFFIX[2:]:
        raise _Problem(f"{name}{CURRENCY_SUFFIX} cannot be filtered; filter on {name!r} (the amount)")
    if op not in OPERATORS:
        raise _Problem(f"unknown operator {op!r}; use one of: {', '.join(OPERATORS)}")
    if base == "multi_choice" and op not in OPTION_OPERATORS:
        raise _Problem(f"a multi_choice field is filtered with {name}=option (holds it), {name}__ne=option, "
                       f"{name}__any=a,b, {name}__all=a,b or {name}__isnull")
    if op in ("any", "all") and base != "multi_choice":
        hint = f"; use {name}__in=a,b" if op == "any" else ""
        raise _Problem(f"{op} works only on multi_choice fields, not on a {base} field{hint}")
    if op != "isnull" and base == "json":
        raise _Problem(f"a json field can only be filtered with {name}__isnull")
    if op in ("contains", "startswith") and base not in LIKE_TYPES:
        raise _Problem(f"{op} works only on text fields, not on a {base} field")
    if op in RANGE_OPERATORS and base in UNORDERED_TYPES:
        raise _Problem(f"{op} does not work on a {base} field")


def _missing(column, base):
    """JSON columns may hold SQL NULL or a JSON null; both mean "no value"."""
    if base in OPAQUE_TYPES:
        return or_(column.is_(None), cast(column, String) == "null")
    return column.is_(None)


def _flag(raw) -> bool:
    if raw.lower() not in ("true", "false"):
        raise _Problem(f"{raw!r} is not true or false")
    return raw.lower() == "true"


def _in_values(field, raw, op="in") -> list:
    values = raw.split(",")
    if len(values) > MAX_IN_VALUES:
        raise _Problem(f"{op} takes at most {MAX_IN_VALUES} values (got {len(values)})")
    return [_convert(field, value) for value in values]


def _convert(field, raw):
    try:
        return parse_query_value(field, raw)
    except FieldInvalid as invalid:
        raise _Problem(str(invalid)) from invalid


def _parse_sort(entity, raw) -> tuple:
    """Sort keys plus ``id`` as the tie-breaker that makes the order total (keys after ``id`` are moot)."""
    if raw is None:
        return (("id", False),)
    items = raw.split(",")
    if len(items) > MAX_SORT_KEYS:
        raise _Problem(f"at most {MAX_SORT_KEYS} sort keys are allowed (got {len(items)})")
    order = []
    for item in items:
        descending = item.startswith("-")
        name = item[1:] if descending else item
        base = _base(_known(entity, name))
        if base in OPAQUE_TYPES:
            raise _Problem(f"cannot sort by {name!r}: a {base} field")
        if any(name == seen for seen, _ in order):
            raise _Problem(f"{name!r} is given more than once")
        order.append((name, descending))
        if name == "id":
            return tuple(order)
    return tuple(order) + (("id", order[-1][1]),)


def _parse_limit(raw) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise _Problem(f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def parse_fields(entity, raw):
    """``fields=`` of a single record's GET: the list's rule and the list's 400."""
    try:
        return _parse_fields(entity, raw)
    except _Problem as problem:
        raise BadQuery("the query has invalid parameters", details=[("fields", str(problem))]) from None


def _parse_fields(entity, raw):
    if raw is None:
        return None
    names = list(ALWAYS_SELECTED)
    for name in raw.split(","):
        if not name:
            raise _Problem("has an empty field name")
        _known(entity, name)
        if name not in names:
            names.append(name)
    return tuple(names)


# -- cursors -------------------------------------------------------------------------

def encode_cursor(values, query) -> str:
    """Opaque to clients; carries the sort signature so it cannot be replayed on another order."""
    body = {"s": _signature(query.order), "v": [_tag(value) for value in values]}
    text = json.dumps(body, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text, query) -> tuple:
    """The sort-key values in a cursor; BadQuery (never another error) for anything else."""
    try:
        return _decode(text, query.order)
    except _Problem as problem:
        raise BadQuery(f"cursor {problem}", details=[("cursor", str(problem))]) from None


def _signature(order) -> str:
    return ",".join(("-" if descending else "") + name for name, descending in order)


def _tag(value):
    """JSON has no decimals or dates: tag them so they come back exactly."""
    if isinstance(value, Decimal):
        return {"d": dump_value("decimal", value)}
    if isinstance(value, datetime):
        return {"dt": dump_value("datetime", value)}
    if isinstance(value, date):
        return {"date": dump_value("date", value)}
    return value


def _untag(value):
    if isinstance(value, dict):
        [(tag, text)] = value.items()
        if tag not in CURSOR_TAGS or not isinstance(text, str):
            raise ValueError(tag)
        return CURSOR_TAGS[tag](text)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise ValueError(value)


def _decode(text, order) -> tuple:
    invalid = _Problem("is not a valid cursor")
    try:
        if not CURSOR_CHARS.fullmatch(text):
            raise ValueError(text)
        body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        signature, values = body["s"], body["v"]
        if signature != _signature(order):
            raise _Problem("does not belong to this sort order")
        if not isinstance(values, list) or len(values) != len(order):
            raise ValueError(values)
        return tuple(_untag(value) for value in values)
    except (ValueError, TypeError, KeyError, ArithmeticError, binascii.Error):
        raise invalid from None


def _decode_checked(table, order, text) -> tuple:
    """Decoded values must fit their columns, or a tampered cursor would fail in the database."""
    values = _decode(text, order)
    for (name, _), value in zip(order, values):
        if not _fits(table.c[name], value):
            raise _Problem("is not a valid cursor")
    return values


def _fits(column, value) -> bool:
    if value is None:
        return column.nullable
    if type(value) is not column.type.python_type:
        return False
    if isinstance(value, int):
        return abs(value) <= INT64
    if isinstance(value, Decimal):
        digits = column.type.precision - column.type.scale
        return value.is_finite() and abs(value) < Decimal(10) ** digits
    if isinstance(value, datetime):
        return value.tzinfo is not None
    return _clean(value) if isinstance(value, str) else True


# -- SQL -----------------------------------------------------------------------------

def build_select(table, query: ListQuery) -> Select:
    """One row more than the limit is fetched: its presence says there is a next page."""
    stmt = select(*_selected(table, query)).where(*query.where)
    if query.after is not None:
        stmt = stmt.where(_keyset(table, query.order, query.after))
    return stmt.order_by(*_order_by(table, query.order)).limit(query.limit + 1)


def build_union_select(table, query: ListQuery, alternatives) -> Select:
    """The page of `build_select` for rows matching any of `alternatives`, as a UNION of
    one ordered, limited SELECT per alternative. SQLite plans an OR of indexed terms by
    collecting every matching row and sorting them all; each arm here reads at most a
    page through its own index (measured in bench/packs.py)."""
    arms = [select(build_select(table, replace(query, where=query.where + (term,))).subquery())
            for term in alternatives]
    merged = union(*arms).subquery("shared")
    return select(merged).order_by(*_order_by(merged, query.order)).limit(query.limit + 1)


def build_count(table, query: ListQuery, cap: int) -> Select:
    """How many rows match, counting at most `cap`: a count that stops early, so a screen
    can say "1,000+" without reading every match (sort, limit and cursor do not apply)."""
    matching = select(table.c.id).where(*query.where).limit(cap).subquery("matching")
    return select(func.count()).select_from(matching)


def _selected(table, query) -> list:
    if query.columns is None:
        return list(table.c)
    wanted = set(query.columns) | {name for name, _ in query.order}
    wanted |= {name + CURRENCY_SUFFIX for name in wanted}
    return [column for column in table.c if column.name in wanted]


def _order_by(table, order) -> list:
    clauses = []
    for name, descending in order:
        column = table.c[name]
        clause = column.desc() if descending else column.asc()
        if column.nullable:
            clause = clause.nulls_last() if descending else clause.nulls_first()
        clauses.append(clause)
    return clauses


def _keyset(table, order, after):
    """Rows strictly after ``after``: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..., NULL smallest."""
    terms, equal = [], []
    for (name, descending), value in zip(order, after):
        column = table.c[name]
        beyond = _beyond(column, descending, value)
        if beyond is not None:
            terms.append(and_(*equal, beyond))
        equal.append(column.is_(None) if value is None else column == literal(value, column.type))
    return or_(*terms) if terms else false()


def _beyond(column, descending, value):
    """``column`` comes strictly after ``value`` in this direction (None: nothing can)."""
    if value is None:
        return None if descending else column.is_not(None)
    value = literal(value, column.type)  # a bound value: SQLAlchemy refuses `column > True`
    if not descending:
        return column > value
    return or_(column < value, column.is_(None)) if column.nullable else column < value


def page(rows, query: ListQuery) -> tuple[list, str | None]:
    """Drops the look-ahead row; the cursor points at the last row kept."""
    rows = list(rows)
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[:query.limit]
    last = getattr(rows[-1], "_mapping", rows[-1])
    return rows, encode_cursor([last[name] for name, _ in query.order], query)
