"""Clean errors for references and uniqueness, never a raw IntegrityError."""
from __future__ import annotations

from sqlalchemy import select

from engine.errors import Conflict, ValidationFailed


def check_references(conn, metadata, entity, records) -> None:
    """Every reference value must name an existing record of its target."""
    details = []
    for field in entity.fields:
        if (field.base_type or field.type) != "reference":
            continue
        wanted = {r[field.name] for r in records if r.get(field.name) is not None}
        if not wanted:
            continue
        target = metadata.tables[field.to]
        found = set()
        wanted_list = sorted(wanted)
        for start in range(0, len(wanted_list), 1000):
            chunk = wanted_list[start:start + 1000]
            found |= set(conn.execute(select(target.c.id).where(target.c.id.in_(chunk))).scalars())
        for missing in sorted(wanted - found)[:20]:
            details.append({"field": field.name, "message": f"no {field.to} record with id {missing}"})
    if details:
        raise ValidationFailed("a reference names a record that does not exist", details=details,
                               code="missing_reference")


def duplicates_within(entity, records) -> list[dict]:
    """Unique fields repeated inside one batch."""
    details = []
    for field in entity.fields:
        if not field.unique:
            continue
        seen = {}
        for index, values in enumerate(records):
            value = values.get(field.name)
            if value is None:
                continue
            key = repr(value)
            if key in seen:
                details.append({"field": f"/{index}/{field.name}",
                                "message": f"repeats the value of record {seen[key]}; must be unique"})
            else:
                seen[key] = index
    return details


def explain_integrity_error(storage, metadata, entity, records, exc, record_id=None):
    """After the failed transaction rolled back, find which unique field collided."""
    table = metadata.tables[entity.name]
    details = []
    with storage.connect() as conn:
        for field in entity.fields:
            if not field.unique:
                continue
            for values in records:
                value = values.get(field.name)
                if value is None:
                    continue
                stmt = select(table.c.id).where(table.c[field.name] == value)
                if record_id is not None:
                    stmt = stmt.where(table.c.id != record_id)
                holder = conn.execute(stmt.limit(1)).scalar()
                if holder is not None:
                    details.append({"field": field.name,
                                    "message": f"{value!r} is already used by {entity.name} {holder}"})
                    break
    if details:
        return Conflict(f"a unique field of {entity.name} already has this value", details=details,
                        code="unique_violation")
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "integrity error"
    return Conflict(f"the database refused the write: {reason}", code="integrity_error")
