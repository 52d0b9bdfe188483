"""Counting, before any DDL runs, the rows a change would hurt.

Every change that could lose or break data is checked against the live rows; a change
with blocking rows is refused with their number and nothing is touched."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.fieldtypes import FieldInvalid
from engine.migration.convert import base_of, convert, stored_value

REWRITES = {"alter_type", "alter_precision", "alter_reference"}
SCAN_CHUNK = 5000


def blocking_problems(conn, changes, old_pkg, new_pkg, old_tables, new_tables) -> list[dict]:
    problems = []
    for change in changes:
        check = _CHECKS.get(change.kind)
        if check is None:
            continue
        table = old_tables.get(change.entity)
        if table is None:
            continue
        old_field = old_pkg.entity(change.entity).field(change.field) if change.field else None
        new_field = new_pkg.entity(change.entity).field(change.field) if change.field else None
        message = check(conn, table, old_field, new_field, new_tables)
        if message:
            problems.append({"field": f"{change.entity}.{change.field}", "message": message})
    return problems


def _count(conn, stmt) -> int:
    return conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def _add_field(conn, table, _old, field, _tables):
    if not field.required or field.has_default:
        return None
    rows = conn.execute(select(func.count()).select_from(table)).scalar_one()
    if rows:
        return (f"new required field {table.name}.{field.name} has no default and {rows} "
                "existing rows would have no value; give it a default or make it optional first")
    return None


def _alter_required(conn, table, _old, field, _tables):
    if not field.required or field.has_default:
        return None
    empty = _count(conn, select(table.c.id).where(table.c[field.name].is_(None)))
    if empty:
        return f"{empty} rows have no {field.name}; fill them or give the field a default first"
    return None


def _alter_unique(conn, table, _old, field, _tables):
    if not field.unique:
        return None
    column = table.c[field.name]
    dupes = (select(column, func.count().label("n")).where(column.is_not(None))
             .group_by(column).having(func.count() > 1).subquery())
    rows = conn.execute(select(func.coalesce(func.sum(dupes.c.n), 0))).scalar_one()
    if rows:
        return f"{rows} rows share a value of {field.name}, so it cannot become unique"
    return None


def _alter_length(conn, table, old, field, _tables):
    if field.max_length is None or (old.max_length is not None and field.max_length >= old.max_length):
        return None
    column = table.c[field.name]
    longer = _count(conn, select(table.c.id).where(func.length(column) > field.max_length))
    if longer:
        return (f"{longer} rows hold a {field.name} longer than {field.max_length} characters; "
                "shortening max_length would cut them")
    return None


def _alter_options(conn, table, old, field, _tables):
    removed = set(old.option_values()) - set(field.option_values())
    if not removed:
        return None
    column = table.c[field.name]
    if base_of(field) == "choice":
        holding = _count(conn, select(table.c.id).where(column.in_(sorted(removed))))
    else:
        holding = sum(1 for (value,) in conn.execute(select(column).where(column.is_not(None)))
                      if set(value or ()) & removed)
    if holding:
        return (f"{holding} rows hold the removed option(s) {', '.join(sorted(removed))}; "
                "change those rows first")
    return None


def _rewrite(conn, table, old, field, tables):
    """Changes that move values into a new column: every value must convert exactly."""
    failing, example = 0, None
    columns = [c for c in table.c if c.name == old.name or c.name == old.name + "__currency"]
    result = conn.execution_options(yield_per=SCAN_CHUNK).execute(select(table.c.id, *columns))
    for row in result.mappings():
        try:
            convert(old, field, stored_value(old, row))
        except FieldInvalid as exc:
            failing += 1
            example = example or f"row {row['id']}: {exc}"
    if failing:
        return (f"changing {field.name} from {_describe(old)} to {_describe(field)} would lose "
                f"data in {failing} rows (for example {example})")
    if base_of(field) == "reference":
        target = tables[field.to]
        column = table.c[field.name]
        orphans = _count(conn, select(table.c.id).where(
            column.is_not(None), column.not_in(select(target.c.id))))
        if orphans:
            return f"{orphans} rows refer to {field.to} records that do not exist"
    return None


def _describe(field) -> str:
    base = base_of(field)
    if base in ("decimal", "currency"):
        return f"{base}({field.precision or 18},{field.scale if field.scale is not None else 2})"
    if base == "reference":
        return f"reference to {field.to}"
    return base


_CHECKS = {
    "add_field": _add_field,
    "alter_required": _alter_required,
    "alter_unique": _alter_unique,
    "alter_length": _alter_length,
    "alter_options": _alter_options,
    "alter_type": _rewrite,
    "alter_precision": _rewrite,
    "alter_reference": _rewrite,
}
