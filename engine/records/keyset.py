"""Keyset paging of list queries: the opaque cursor, the predicate of the rows after it,
and the page with its next cursor.

Keyset (not OFFSET) pagination keeps deep pages as cheap as the first and never skips
or repeats a row when others are inserted or deleted between requests.  NULL sorts as
the smallest value on every backend (ascending: first; descending: last), and the
keyset predicate follows the same rule, so nullable sort keys paginate correctly.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import and_, false, literal, or_

from engine.errors import BadQuery
from engine.fieldstorage import dump_value
from engine.fieldtypes import INT64_MAX, INT64_MIN, UNSTORABLE

CURSOR_TAGS = {"d": Decimal, "dt": datetime.fromisoformat, "date": date.fromisoformat}
CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")


class CursorInvalid(Exception):
    """Why a cursor cannot be used (its message follows the word "cursor")."""


def encode_cursor(values, query) -> str:
    """Opaque to clients; carries the sort signature so it cannot be replayed on another order."""
    body = {"s": _signature(query.order), "v": [_tag(value) for value in values]}
    text = json.dumps(body, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text, query) -> tuple:
    """The sort-key values in a cursor; BadQuery (never another error) for anything else."""
    try:
        return _decode(text, query.order)
    except CursorInvalid as problem:
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
    invalid = CursorInvalid("is not a valid cursor")
    try:
        if not CURSOR_CHARS.fullmatch(text):
            raise ValueError(text)
        body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        signature, values = body["s"], body["v"]
        if signature != _signature(order):
            raise CursorInvalid("does not belong to this sort order")
        if not isinstance(values, list) or len(values) != len(order):
            raise ValueError(values)
        return tuple(_untag(value) for value in values)
    except (ValueError, TypeError, KeyError, ArithmeticError, binascii.Error):
        raise invalid from None


def decode_checked(table, order, text) -> tuple:
    """Decoded values must fit their columns, or a tampered cursor would fail in the database."""
    values = _decode(text, order)
    for (name, _), value in zip(order, values):
        if not _fits(table.c[name], value):
            raise CursorInvalid("is not a valid cursor")
    return values


def _fits(column, value) -> bool:
    if value is None:
        return column.nullable
    if type(value) is not column.type.python_type:
        return False
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, Decimal):
        digits = column.type.precision - column.type.scale
        return value.is_finite() and abs(value) < Decimal(10) ** digits
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return False
        try:  # stored in UTC: a time whose UTC falls outside years 1 to 9999 is no stored time
            value.astimezone(timezone.utc)
        except OverflowError:
            return False
        return True
    return not UNSTORABLE.search(value) if isinstance(value, str) else True


def after_clause(table, order, after):
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


def page(rows, query) -> tuple[list, str | None]:
    """The rows of a page of ``query`` (a ListQuery) without the look-ahead row, and the
    cursor of the next page (None when there is none): it points at the last row kept."""
    rows = list(rows)
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[:query.limit]
    last = getattr(rows[-1], "_mapping", rows[-1])
    return rows, encode_cursor([last[name] for name, _ in query.order], query)
