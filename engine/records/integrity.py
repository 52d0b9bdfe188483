"""Clean errors for references and uniqueness, never a raw IntegrityError.

In a batch (`indexed=True`) every problem names its record: `/index/field`."""
from __future__ import annotations

from sqlalchemy import select

from engine.errors import Conflict, ValidationFailed
from engine.fieldstorage import dump_value, indexed_column
from engine.problem_codes import problem

CHUNK = 1000
MAX_DETAILS = 100  # problems reported for one batch
MAX_LISTED = 20
UNCOMPARABLE = ("currency", "json", "multi_choice")  # no plain value to look up


def _path(field, index, indexed) -> str:
    return f"/{index}/{field}" if indexed else field


def reference_problems(conn, metadata, entity, records, indexed=False, sharing=None) -> list[dict]:
    """Every reference value must name an existing record of its target — one the actor
    may read, with `sharing`: a hidden record is reported exactly as a missing one."""
    details = []
    for field in entity.fields:
        if (field.base_type or field.type) != "reference":
            continue
        wanted = sorted({r[field.name] for r in records if r.get(field.name) is not None})
        if not wanted:
            continue
        target = metadata.tables[field.to]
        readable = sharing.read_clause(metadata.entity(field.to)) if sharing is not None else None
        found = set()
        for start in range(0, len(wanted), CHUNK):
            stmt = select(target.c.id).where(target.c.id.in_(wanted[start:start + CHUNK]))
            if readable is not None:
                stmt = stmt.where(readable)
            found |= set(conn.execute(stmt).scalars())
        missing = set(wanted) - found
        listed = 0
        for index, values in enumerate(records):
            if values.get(field.name) in missing and listed < MAX_LISTED:
                listed += 1
                details.append(problem(_path(field.name, index, indexed), "unknown_reference",
                                       f"no {field.to} record with id {values[field.name]}",
                                       entity=field.to, id=values[field.name]).to_dict())
    return details


def check_references(conn, metadata, entity, records, sharing, indexed=False, details=()) -> None:
    """Raise every problem of `records` at once: `details` found before, then each reference
    to a record that is missing or that the actor (`sharing`) may not read."""
    details = list(details) + reference_problems(conn, metadata, entity, records, indexed, sharing)
    if details:
        raise ValidationFailed(_invalid_message(entity, records, details, indexed),
                               details=details[:MAX_DETAILS])


def _invalid_message(entity, records, details, indexed) -> str:
    if not indexed:
        return f"invalid {entity.name} record"
    failing = len({d["field"].split("/")[1] for d in details})
    return f"{failing} of {len(records)} records are invalid; nothing was written"


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
                details.append(problem(f"/{index}/{field.name}", "repeated_in_batch",
                                       f"repeats the value of record {seen[key]}; must be unique",
                                       index=seen[key]).to_dict())
            else:
                seen[key] = index
    return details


def explain_integrity_error(storage, metadata, entity, records, exc, record_id=None, indexed=False):
    """After the failed transaction rolled back, find which unique field collided or which
    reference names a missing record (single writes leave that check to the foreign key)."""
    table = metadata.tables[entity.name]
    details = []
    reference = _foreign_key_refused(exc)  # then no unique value is to blame (a merge's are still held)
    with storage.connect() as conn:
        for field in entity.fields:
            base = field.base_type or field.type
            if reference or not field.unique or base in UNCOMPARABLE:
                continue
            column = table.c[field.name]
            wanted = {v[field.name] for v in records if v.get(field.name) is not None}
            holders = {}
            values = sorted(wanted, key=repr)
            for start in range(0, len(values), CHUNK):
                stmt = select(column, table.c.id).where(
                    table.c[indexed_column(field)].in_(values[start:start + CHUNK]))
                if record_id is not None:
                    stmt = stmt.where(table.c.id != record_id)
                holders.update((value, holder) for value, holder in conn.execute(stmt))
            for index, values_of in enumerate(records):
                value = values_of.get(field.name)
                if value in holders and len(details) < MAX_LISTED:
                    details.append(problem(_path(field.name, index, indexed), "already_used",
                                           f"{dump_value(base, value)!r} is already used by "
                                           f"{entity.name} {holders[value]}", holder=holders[value]).to_dict())
        if not details and not reference:
            details = _composite_holders(conn, table, entity, records, record_id, indexed)
        missing = [] if details else reference_problems(conn, metadata, entity, records, indexed)
    if details:
        return Conflict(f"a unique field of {entity.name} already has this value", details=details,
                        code="unique_violation")
    if missing:  # the foreign key refused it: say which reference, as validation would
        return ValidationFailed(f"invalid {entity.name} record", details=missing)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "integrity error"
    return Conflict(f"the database refused the write: {reason}", code="integrity_error")


def _foreign_key_refused(exc) -> bool:
    """Was it a foreign key that refused the write (PostgreSQL's SQLSTATE 23503, SQLite's
    message)?"""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "23503" or "FOREIGN KEY constraint failed" in str(orig)


def _composite_holders(conn, table, entity, records, record_id, indexed) -> list[dict]:
    """Which unique composite index a record collided with, and the record holding it."""
    details = []
    for index in (i for i in entity.indexes if i.unique):
        for position, values in enumerate(records):
            if any(values.get(f) is None for f in index.fields if f in values) or \
                    not all(f in values for f in index.fields):
                continue
            stmt = select(table.c.id).where(*[table.c[f] == values[f] for f in index.fields])
            if record_id is not None:
                stmt = stmt.where(table.c.id != record_id)
            holder = conn.execute(stmt.limit(1)).scalar()
            if holder is not None and len(details) < MAX_LISTED:
                shown = ", ".join(index.fields)
                details.append(problem(_path(shown, position, indexed), "combination_used",
                                       f"the combination ({shown}) is already used by {entity.name} {holder}",
                                       fields=list(index.fields), holder=holder).to_dict())
    return details
