"""Naming a record in an import's reference cell: by the natural key of the reference's
target (its declared `natural_key`, else its `external_id`, `name`, `number`, `code` or
`email`), among the records the importer may read."""
from __future__ import annotations

from sqlalchemy import String, cast, select

REFERENCE_KEYS = ("external_id", "name", "number", "code", "email")
LOOKUP = 500  # values per IN (...) of a lookup


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
        for i in range(0, len(wanted), LOOKUP):
            stmt = select(table.c.id, column).where(column.in_(wanted[i:i + LOOKUP]))
            if readable is not None:
                stmt = stmt.where(readable)
            by_key: dict = {}
            for record_id, value in conn.execute(stmt):
                by_key.setdefault(str(value), set()).add(record_id)
            found.update(by_key)
    return found
