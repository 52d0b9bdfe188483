"""How a field's stored values would fare under a changed definition (a new type, scale,
target…), before anything is published: how many convert, how many are empty, and the
first records whose value would not convert, each with the reason — the values the
publisher's data check (`engine.migration.checks`) would refuse, one by one."""
from __future__ import annotations

from engine.fieldtypes import FieldInvalid
from engine.migration.convert import convert, stored_value
from engine.migration.moves import chunks, field_columns

SHOWN = 10  # failing records listed by name; the rest are counted


def conversion(conn, table, old_field, new_field, shown: int = SHOWN) -> dict:
    """`{"converting", "empty", "failing", "examples": [{"id", "value", "reason"}]}` for
    the rows of `table` (the live table of `old_field`'s entity), read in chunks. Both
    fields are of built-in base types (a draft's unknown type is a problem of its own)."""
    converting = empty = failing = 0
    examples: list[dict] = []
    for rows in chunks(conn, table, field_columns(table, old_field)):
        for row in rows:
            value = stored_value(old_field, row)
            if value is None:
                empty += 1
                continue
            try:
                convert(old_field, new_field, value)
            except FieldInvalid as exc:
                failing += 1
                if len(examples) < shown:
                    examples.append({"id": row["id"], "value": value, "reason": str(exc)})
                continue
            converting += 1
    return {"converting": converting, "empty": empty, "failing": failing, "examples": examples}


def rewritten(old_field, new_field) -> bool:
    """Whether publishing `new_field` over `old_field` moves the values into a new column
    (a new type, precision, scale or reference target): the changes whose every value must
    convert."""
    def key(field):
        return field.type, field.base_type, field.precision, field.scale, field.to

    return key(old_field) != key(new_field)
