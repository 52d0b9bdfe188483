"""List queries as SQL: the SELECT of one page (one more row than the limit, whose
presence says there is a next page), its UNION form for alternatives, and the count."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Select, func, select, union

from engine.fieldstorage import CURRENCY_SUFFIX
from engine.records.keyset import after_clause


def build_select(table, query) -> Select:
    """The page of ``query`` (a ListQuery): one row more than the limit is fetched, its
    presence says there is a next page."""
    stmt = select(*_selected(table, query)).where(*query.where)
    if query.after is not None:
        stmt = stmt.where(after_clause(table, query.order, query.after))
    return stmt.order_by(*_order_by(table, query.order)).limit(query.limit + 1)


def build_union_select(table, query, alternatives) -> Select:
    """The page of `build_select` for rows matching any of `alternatives`, as a UNION of
    one ordered, limited SELECT per alternative. SQLite plans an OR of indexed terms by
    collecting every matching row and sorting them all; each arm here reads at most a
    page through its own index (measured in bench/packs.py)."""
    arms = [select(build_select(table, replace(query, where=query.where + (term,))).subquery())
            for term in alternatives]
    merged = union(*arms).subquery("shared")
    return select(merged).order_by(*_order_by(merged, query.order)).limit(query.limit + 1)


def build_count(table, query, cap: int) -> Select:
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
