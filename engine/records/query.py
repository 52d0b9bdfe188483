"""List queries: the query string of ``GET .../records/<entity>`` as a ListQuery.

Every parameter is checked before anything is refused, so one BadQuery lists all
problems.  Filters are read by ``filters``, the cursor by ``keyset``; the SELECT is
built by ``list_sql``.  Callers use this module alone: it gives their functions too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_

from engine.errors import BadQuery
from engine.fieldtypes import UNSTORABLE
from engine.records.filters import (
    OPAQUE_TYPES, OPERATORS, RESERVED, ParamProblem, base_type, filter_clause, known_field, search_clauses,
)
from engine.records.key_lookup import key_clause, key_search
from engine.records.keyset import CursorInvalid, decode_checked, decode_cursor, encode_cursor, page
from engine.records.list_sql import build_count, build_select, build_union_select

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "OPERATORS", "ListQuery", "build_count", "build_select",
           "build_union_select", "decode_cursor", "encode_cursor", "page", "parse_fields", "parse_list_query"]

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_SORT_KEYS = 5
MAX_VALUE_LENGTH = 1000
ALWAYS_SELECTED = ("id", "version")


@dataclass(frozen=True)
class ListQuery:
    where: tuple            # SQLAlchemy boolean clauses (AND-ed)
    order: tuple            # ((column_name, descending), ...) ending with ("id", ...)
    limit: int
    after: tuple | None     # sort-key values of the previous page's last row
    columns: tuple | None   # field names from fields= (None = all), id and version included


def parse_list_query(entity, table, params, masked=frozenset(), unsearched=frozenset()) -> ListQuery:
    """The ListQuery of ``params`` (``[(key, raw)]``); BadQuery naming every parameter that is wrong.
    Fields in `masked` (read masked by the caller) are compared only with `=` and `isnull`:
    a range or a part would give their values away without unmasking them (an exact value
    is confirmed, as a user who knows it could; sorting by them stays, for lists ordered by
    name). `q` does not search the fields in `unsearched`."""
    where, problems, single = [], [], {}
    for key, raw in params:
        try:
            _check_text(raw)
            if key == "q":
                where.extend(with_key_search(search_clauses(entity, table, raw, skip=unsearched),
                                             key_search(entity, table, raw, unsearched)))
            elif key in RESERVED:
                if key in single:
                    raise ParamProblem(f"{key} may be given only once")
                single[key] = raw
            else:
                name, _sep, op = key.partition("__")
                if name in masked and op not in ("", "isnull"):
                    raise ParamProblem(f"{name} is personal data you read masked: filter it with {name}=value "
                                       f"or {name}__isnull, or unmask the record's value")
                lookup = key_clause(entity, table, key, raw)  # phone= / email=: on match keys
                where.append(filter_clause(entity, table, key, raw) if lookup is None else lookup)
        except ParamProblem as problem:
            problems.append(problem.detail(key))
    order = _guard(problems, "sort", _parse_sort, entity, single.get("sort"))
    limit = _guard(problems, "limit", _parse_limit, single.get("limit"))
    columns = _guard(problems, "fields", _parse_fields, entity, single.get("fields"))
    after = None
    if "cursor" in single and order is not None:
        after = _guard(problems, "cursor", decode_checked, table, order, single["cursor"])
    if problems:
        raise BadQuery("the query has invalid parameters", details=problems)
    return ListQuery(tuple(where), order, limit, after, columns)


def with_key_search(clauses: tuple, by_key) -> tuple:
    """`q`'s text search, or-ed with the phone-key lookup of the query (when it reads as one)."""
    return clauses if by_key is None or not clauses else (or_(clauses[0], by_key),)


def _guard(problems, key, parse, *args):
    try:
        return parse(*args)
    except ParamProblem as problem:
        problems.append(problem.detail(key))
    except CursorInvalid as problem:
        problems.append({"field": key, "message": str(problem)})
        return None


def _check_text(raw):
    if len(raw) > MAX_VALUE_LENGTH:
        raise ParamProblem(f"is longer than {MAX_VALUE_LENGTH} characters")
    if UNSTORABLE.search(raw):
        raise ParamProblem("must be text without NUL characters")


def _parse_sort(entity, raw) -> tuple:
    """Sort keys plus ``id`` as the tie-breaker that makes the order total (keys after ``id`` are moot:
    checked as every key is, then left out)."""
    if raw is None:
        return (("id", False),)
    items = raw.split(",")
    if len(items) > MAX_SORT_KEYS:
        raise ParamProblem(f"at most {MAX_SORT_KEYS} sort keys are allowed (got {len(items)})")
    order = []
    for item in items:
        descending = item.startswith("-")
        name = item[1:] if descending else item
        field = known_field(entity, name)
        base = base_type(field)
        if base in OPAQUE_TYPES:
            raise ParamProblem(f"cannot sort by {name!r}: a {base} field")
        if field.encrypted:
            raise ParamProblem(f"cannot sort by {name!r}: it is encrypted at rest")
        if any(name == seen for seen, _ in order):
            raise ParamProblem(f"{name!r} is given more than once")
        order.append((name, descending))
    names = [name for name, _ in order]
    if "id" in names:
        return tuple(order[:names.index("id") + 1])
    return tuple(order) + (("id", order[-1][1]),)


def _parse_limit(raw) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ParamProblem(f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def parse_fields(entity, raw):
    """``fields=`` of a single record's GET: the list's rule and the list's 400."""
    try:
        return _parse_fields(entity, raw)
    except ParamProblem as problem:
        raise BadQuery("the query has invalid parameters", details=[("fields", str(problem))]) from None


def _parse_fields(entity, raw):
    if raw is None:
        return None
    names = list(ALWAYS_SELECTED)
    for name in raw.split(","):
        if not name:
            raise ParamProblem("has an empty field name")
        known_field(entity, name)
        if name not in names:
            names.append(name)
    return tuple(names)
