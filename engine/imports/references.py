"""Naming a record in an import's reference cell: by the natural key of the reference's
target (its declared `natural_key`, else its `external_id`, `name`, `number`, `code` or
`email`), among the records the importer may read (`resolve`: a chunk's cells at once)."""
from __future__ import annotations

import re

from sqlalchemy import String, cast, select

from engine.in_lists import in_lists

REFERENCE_KEYS = ("external_id", "name", "number", "code", "email")
WHOLE = re.compile(r"[0-9]{1,18}")


def keys_of(metadata, entity_name: str) -> list[str]:
    """The fields a reference cell may name a target by: its natural key, then the usual ones."""
    target = metadata.entity(entity_name)
    names = dict.fromkeys(([target.natural_key] if target.natural_key else []) + list(REFERENCE_KEYS))
    return [name for name in names if target.field(name) is not None] or ["id"]


def lookup(service, conn, entity_name: str, texts: set) -> dict:
    """{text: {ids}} by the first natural key of the target that holds the text."""
    target = service.metadata.entity(entity_name)
    table = service.metadata.tables[entity_name]
    readable = service.sharing.read_clause(target)
    found: dict = {}
    for name in keys_of(service.metadata, entity_name):
        if name == "id":
            break
        wanted = sorted(texts - set(found))
        column = table.c[name]
        if not isinstance(column.type, String):  # a number or date key: compared as its text
            column = cast(column, String)
        for some in in_lists(wanted):
            stmt = select(table.c.id, column).where(column.in_(some))
            if readable is not None:
                stmt = stmt.where(readable)
            by_key: dict = {}
            for record_id, value in conn.execute(stmt):
                by_key.setdefault(str(value), set()).add(record_id)
            found.update(by_key)
    return found


def resolve(service, conn, columns, plans, data, problem) -> None:
    """Each reference cell becomes the id of the one record of the target whose natural
    key holds it; a number (JSON) is a record id, and so is a whole-number text that no
    natural key holds (a customer code "10023" names the record whose code it is, not
    record 10023). A cell naming no record, or several, becomes a problem of its row's
    plan (`problem(field, code, message)`) and leaves its values."""
    for _, column, field in columns:
        if (field.base_type or field.type) != "reference":
            continue
        texts = {str(v[field.name]).strip() for v in data if field.name in v and not _is_number(v[field.name])}
        found = lookup(service, conn, field.to, texts) if texts else {}
        for plan, values in zip(plans, data):
            if field.name not in values:
                continue
            cell = values[field.name]
            text = str(cell).strip()
            ids = found.get(text)
            if _is_number(cell) or (ids is None and _is_id(text)):
                values[field.name] = int(text)
                continue
            if ids is None:
                keys = " or ".join(keys_of(service.metadata, field.to))
                plan.problems.append(problem(field.name, "reference_not_found",
                                             f"no {field.to} record has {text!r} as its {keys}"))
            elif len(ids) > 1:
                plan.problems.append(problem(field.name, "ambiguous_reference",
                                             f"{text!r} names {len(ids)} {field.to} records "
                                             f"({', '.join(map(str, sorted(ids)[:5]))}): give its id"))
            else:
                values[field.name] = next(iter(ids))
                continue
            del values[field.name]


def _is_number(cell) -> bool:
    """A JSON number (not a text): a record id."""
    return isinstance(cell, int) and not isinstance(cell, bool)


def _is_id(cell) -> bool:
    return (isinstance(cell, int) and not isinstance(cell, bool)) or (
        isinstance(cell, str) and WHOLE.fullmatch(cell.strip()) is not None)
