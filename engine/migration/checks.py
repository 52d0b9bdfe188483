"""Counting, before any DDL runs, the rows a change would hurt.

Every change that could lose or break data is checked against the live rows; a change
with blocking rows is refused with their number and nothing is touched."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from engine.fieldstorage import indexed_column
from engine.fieldtypes import FieldInvalid
from engine.migration import restore
from engine.migration.convert import base_of, convert, stored_value
from engine.migration.moves import chunks, field_columns
from engine.words import counted, listed


def run_checks(conn, changes, old_pkg, new_pkg, old_tables, restoring=False) -> list[dict]:
    """Every data check the changes call for, with its result: {"field", "check" (the
    change's kind), "passed", "message" (why it fails; None when it passes)}."""
    results = []
    for change in changes:
        table = old_tables.get(change.entity)
        if change.kind == "add_index" and table is not None:
            message = _add_unique_index(conn, table, change.new, new_pkg.entity(change.entity))
            results.append(_result(change.entity, change.kind, message))
            continue
        check = _CHECKS.get(change.kind)
        if check is None or table is None:
            continue
        old_field = old_pkg.entity(change.entity).field(change.field)
        new_field = new_pkg.entity(change.entity).field(change.field)
        message = check(conn, table, old_field, new_field, old_tables, restoring)
        results.append(_result(f"{change.entity}.{change.field}", change.kind, message))
    return results


def _result(target, kind, message) -> dict:
    return {"field": target, "check": kind, "passed": not message, "message": message or None}


def _count(conn, stmt) -> int:
    return conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def _empty(name, n) -> str:
    return f"{name} is empty in {counted(n, 'row')}; fill in the values or give the field a default first"


def _add_field(conn, table, _old, field, _tables, restoring):
    if not field.required and not field.unique:
        return None
    if restoring:
        lacking = restore.rows_without_value(conn, table.schema, table.name, field, table)
    else:
        lacking = conn.execute(select(func.count()).select_from(table)).scalar_one()
    if field.required and not field.has_default and lacking:
        return (f"{table.name}.{field.name} is required and has no default, but {counted(lacking, 'existing row')} "
                "would have no value; give it a default or make it optional first")
    if field.unique and field.has_default and lacking > 1:
        return (f"{counted(lacking, 'existing row')} would share the default {field.default!r} of the "
                f"unique field {field.name}; add it without a default first")
    return None


def _alter_required(conn, table, _old, field, _tables, _restoring):
    if not field.required or field.has_default:
        return None
    empty = _count(conn, select(table.c.id).where(table.c[field.name].is_(None)))
    return _empty(field.name, empty) if empty else None


def _alter_unique(conn, table, old, field, _tables, _restoring):
    if not field.unique:
        return None
    column = table.c[indexed_column(old)]  # equal values, equal keyed hashes
    dupes = (select(func.count().label("n")).where(column.is_not(None))
             .group_by(column).having(func.count() > 1).subquery())
    rows = conn.execute(select(func.coalesce(func.sum(dupes.c.n), 0))).scalar_one()
    if rows:
        return f"{field.name} has duplicate values in {counted(rows, 'row')}, so it cannot become unique"
    return None


def _add_unique_index(conn, table, index, entity):
    """A unique composite index over rows that already repeat a combination of values.
    NULL never collides; a field added by the same migration holds NULL or its default."""
    if not index.unique:
        return None
    columns = []
    for name in index.fields:
        if name in table.c:
            columns.append(table.c[name])
        elif not entity.field(name).has_default:
            return None  # every row gets NULL there
    if not columns:
        return None  # all new with a default: fails only with 2+ rows, the database says so
    dupes = (select(func.count().label("n")).where(*(c.is_not(None) for c in columns))
             .group_by(*columns).having(func.count() > 1).subquery())
    rows = conn.execute(select(func.coalesce(func.sum(dupes.c.n), 0))).scalar_one()
    if rows:
        return (f"{counted(rows, 'row')} of {table.name} repeat a combination of "
                f"({', '.join(index.fields)}), so the unique index on them cannot be created")
    return None


def _alter_length(conn, table, old, field, _tables, _restoring):
    if field.max_length is None or (old.max_length is not None and field.max_length >= old.max_length):
        return None
    longer = _count(conn, select(table.c.id).where(func.length(table.c[field.name]) > field.max_length))
    if longer:
        return (f"{field.name} is longer than {field.max_length} characters in {counted(longer, 'row')}; "
                f"shortening max_length would cut {'it' if longer == 1 else 'them'}")
    return None


def _alter_options(conn, table, old, field, _tables, _restoring):
    removed = sorted(set(old.option_values()) - set(field.option_values()))
    if not removed:
        return None
    column = table.c[field.name]
    if base_of(field) == "choice":
        holding = _count(conn, select(table.c.id).where(column.in_(removed)))
    else:
        holding = sum(1 for rows in chunks(conn, table, [column], where=column.is_not(None))
                      for row in rows if set(row[field.name] or ()) & set(removed))
    if holding:
        options = f"option {removed[0]} is" if len(removed) == 1 else f"options {', '.join(removed)} are"
        return (f"the removed {options} still used in {counted(holding, 'row')}; "
                f"change {'that row' if holding == 1 else 'those rows'} first")
    return None


def _rewrite(conn, table, old, field, tables, _restoring):
    """Changes that move values into a new column: every value must convert exactly, and
    the converted values must still be unique, present and pointing at existing records."""
    failing, example, empty, seen = 0, None, 0, Counter()
    for rows in chunks(conn, table, field_columns(table, old)):
        for row in rows:
            try:
                value = convert(old, field, stored_value(old, row))
            except FieldInvalid as exc:
                failing, example = failing + 1, example or f"row {row['id']}: {exc}"
                continue
            if value is None:
                empty += 1
            elif field.unique:
                seen[repr(value)] += 1
    if failing:
        return (f"changing {field.name} from {_describe(old)} to {_describe(field)} would lose "
                f"data in {counted(failing, 'row')} (for example {example})")
    duplicates = sum(n for n in seen.values() if n > 1)
    if duplicates:
        return f"{field.name} would have duplicate values in {counted(duplicates, 'row')}, so it cannot stay unique"
    if empty and field.required and not field.has_default:
        return _empty(field.name, empty)
    if base_of(field) == "reference":
        return _orphans(conn, table, field, tables)
    return None


def _orphans(conn, table, field, tables):
    column = table.c[field.name]
    stmt = select(table.c.id).where(column.is_not(None))
    target = tables.get(field.to)  # a table created by this migration has no rows yet
    if target is not None:
        stmt = stmt.where(column.not_in(select(target.c.id)))
    orphans = _count(conn, stmt)
    if orphans:
        return f"{field.name} refers to missing {field.to} records in {counted(orphans, 'row')}"
    return None


def _describe(field) -> str:
    base = base_of(field)
    if base in ("decimal", "currency"):
        return f"{base}({field.precision},{field.scale})"
    if base == "reference":
        return f"reference to {field.to}"
    return base


def refusal(problems) -> str:
    return f"refused: {counted(len(problems), 'change')} would lose or break data; nothing was changed"


def drop_refusal(drops) -> str:
    fields = [c.target for c in drops if c.field]
    entities = [c.target for c in drops if not c.field]
    parts = [f"{'field' if len(fields) == 1 else 'fields'} {listed(fields)}"] if fields else []
    parts += [f"{'entity' if len(entities) == 1 else 'entities'} {listed(entities)}"] if entities else []
    return (f"refused: applying this document would drop {' and '.join(parts)}; apply it again with "
            "allow_drop (CLI: --allow-drop) to archive their data and drop them")


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
