"""The tenant's search index `loom_search`: kept in step with every record write and every
publication, read by the global search.

Each row is one term (`engine.records.search_terms`) of one searchable field of one
record, keyed by (term, entity, record id, field): one B-tree that a typed prefix ranges
over and that holds every column the search reads. The record service calls
`index_events` inside each write's transaction and inserts the terms it returns with the
write's audit and outbox rows, so the index commits or rolls back with the record; a
write removes the terms of the values it replaces by their keys (computed
from the old values), so the index needs no second B-tree by record. The publisher calls
`follow_publication` in the publication's transaction for the fields that became or
stopped being searchable. The tenant revision that rebuilds the table marks the index
stale (`STALE`); `catch_up` rebuilds it from the records the first time a process opens
the tenant. `reindex` rebuilds it whole (`loom search reindex TENANT`, a repair). `find`
answers which records hold a term starting with the query, best first; it knows nothing
of sharing: the caller reads the records through the record service, which drops those
the user may not read."""
from __future__ import annotations

from sqlalchemy import and_, case, delete, false, func, or_, select, union_all

from engine.records.bulk_rows import Rows
from engine.records.search_rows import delete_rows, insert_rows, term_rows
from engine.records.search_terms import query_forms, terms_of, upper_bound
from engine.systables import loom_table

SEARCHABLE = frozenset({"string", "email", "phone"})
BATCH = 5000  # records read per statement when an entity is indexed from its table
SCAN = 2000  # term rows one search ranks at most
STALE = "search_index_stale"  # the loom_settings key a tenant revision sets when the index needs a rebuild


def searchable_fields(entity) -> dict[str, str]:
    """`{field: base type}` of the fields of `entity` the search indexes (short text,
    e-mail and phone fields that are not hidden nor encrypted at rest: their values stay out
    of the index, which holds terms in clear text)."""
    return {f.name: f.base_type or f.type for f in entity.fields
            if (f.base_type or f.type) in SEARCHABLE and not f.hidden and not f.encrypted}


def _rows(entity_name, record_id, fields, values) -> list[tuple]:
    return [(term, entity_name, record_id, name, at_start)
            for name, base in fields.items() for term, at_start in terms_of(base, values.get(name))]


def index_events(conn, schema, metadata, events) -> Rows:
    """Bring the index in step with record events written in `conn`'s transaction: the
    terms of the values an event replaces or deletes go now; the rows of the new values'
    terms are returned, for the caller to insert in the same transaction
    (`bulk_rows.insert_all`, beside the write's other rows)."""
    fields_of: dict[str, dict] = {}
    gone, rows = [], []
    for event in events:
        fields = fields_of.get(event.entity)
        if fields is None:
            entity = metadata.entity(event.entity)
            fields = fields_of[event.entity] = searchable_fields(entity) if entity is not None else {}
        if event.action == "deleted":
            gone += _rows(event.entity, event.record_id, fields, event.record)
            continue
        changed = {name: base for name, base in fields.items() if name in event.changes}
        if not changed:
            continue
        if event.action != "created":
            gone += _rows(event.entity, event.record_id, changed,
                          {name: event.changes[name][0] for name in changed})
        rows += _rows(event.entity, event.record_id, changed, {name: event.changes[name][1] for name in changed})
    table = loom_table(schema, "loom_search")
    delete_rows(conn, table, gone)
    return term_rows(table, rows)


def index_entity(conn, schema, entity_name: str, records, fields: dict[str, str]) -> int:
    """Index `fields` ({name: base type}) of every record in `records` (the entity's table);
    returns the number of terms written."""
    if not fields:
        return 0
    table, written = loom_table(schema, "loom_search"), 0
    values = [records.c[name] for name in fields]
    # Only records holding a value have terms: a field just added (and empty) reads nothing.
    holding = or_(*[column.isnot(None) for column in values])
    result = conn.execute(select(records.c.id, *values).where(holding).order_by(records.c.id)
                          .execution_options(yield_per=BATCH)).mappings()
    for chunk in result.partitions():
        rows = [row for record in chunk for row in _rows(entity_name, record["id"], fields, record)]
        insert_rows(conn, table, rows)
        written += len(rows)
    return written


def forget(conn, schema, entity_name: str, fields=None) -> None:
    """Remove the terms of `entity_name` (of its `fields` only, when given)."""
    table = loom_table(schema, "loom_search")
    stmt = delete(table).where(table.c.entity == entity_name)
    if fields is not None:
        stmt = stmt.where(table.c.field.in_(sorted(fields)))
    conn.execute(stmt)


def follow_publication(conn, schema, old_package, new_package, new_tables) -> None:
    """In a publication's transaction, after its DDL: remove the terms of the fields that
    stopped being searchable (hidden, dropped, their type changed, their entity dropped)
    and index the records' values of those that became searchable (added, shown, their
    type changed). Entities and fields whose searchability did not change are not read."""
    before = {e.name: searchable_fields(e) for e in (old_package.entities if old_package else ())}
    after = {e.name: searchable_fields(e) for e in new_package.entities}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        if name not in after:
            forget(conn, schema, name)
            continue
        gone = {field for field, base in old.items() if new.get(field) != base}
        came = {field: base for field, base in new.items() if old.get(field) != base}
        if gone:
            forget(conn, schema, name, gone)
        if came:
            index_entity(conn, schema, name, new_tables[name], came)


def _rebuild(conn, schema, metadata) -> int:
    conn.execute(delete(loom_table(schema, "loom_search")))
    written = sum(index_entity(conn, schema, entity.name, metadata.tables[entity.name], searchable_fields(entity))
                  for entity in metadata.package.entities)
    settings = loom_table(schema, "loom_settings")
    conn.execute(delete(settings).where(settings.c.key == STALE))
    return written


def reindex(storage, metadata) -> int:
    """Rebuild the whole index from the records; returns the number of terms written."""
    with storage.begin() as conn:
        return _rebuild(conn, storage.schema, metadata)


def catch_up(storage, metadata_of) -> int | None:
    """Rebuild the index when a tenant revision marked it stale (`metadata_of(conn)` gives
    the tenant's compiled metadata); the number of terms written, None when it was not
    stale. Processes meeting the mark at once rebuild it once: the mark is read again
    under the write lock (SQLite's, or the row's on PostgreSQL) and removed with the rebuild."""
    settings = loom_table(storage.schema, "loom_settings")
    marked = select(settings.c.key).where(settings.c.key == STALE)
    with storage.connect() as conn:
        if conn.execute(marked).first() is None:
            return None
    with storage.begin() as conn:
        if conn.execute(marked.with_for_update() if conn.dialect.name == "postgresql" else marked).first() is None:
            return None
        return _rebuild(conn, storage.schema, metadata_of(conn))


def find(storage, query: str, entities, limit: int, fields=None) -> list[tuple[str, int, int]]:
    """`[(entity, record_id, rank)]` of up to `limit` records of `entities` holding a term
    that starts with `query`, best first: rank 0 a value equal to the query, 1 a value
    starting with it, 2 a word or character inside a value starting with it. With `fields`
    (`{entity: searchable field names}`, from `searchable_fields` of today's metadata) only
    those fields' terms count."""
    forms = query_forms(query)
    entities = sorted(entities)
    if not forms or not entities:
        return []
    table = loom_table(storage.schema, "loom_search")
    columns = (table.c.entity, table.c.record_id, table.c.field, table.c.term, table.c.at_start)
    # A short, common prefix ("1", "+86 1") matches a term of nearly every record: rank the
    # first SCAN term rows the key's ranges give, not all of them, so every keystroke costs
    # at most that much; typing more narrows the ranges and the ranking becomes exact. One
    # range per form, each read in key order, then merged: SQLite's planner scans the whole
    # table for an OR of three ranges over a key without rowid.
    ranges = [select(*columns).where(table.c.term >= form, table.c.term < upper_bound(form),
                                     table.c.entity.in_(entities)).order_by(table.c.term).limit(SCAN).subquery()
              for form in forms if not any(form != other and form.startswith(other) for other in forms)]
    hits = ranges[0]  # in key order: equal terms first
    if len(ranges) > 1:
        merged = union_all(*(select(*r.c) for r in ranges)).subquery()
        hits = select(*merged.c).order_by(merged.c.term).limit(SCAN).subquery()
    exact = hits.c.term.in_(forms)
    rank = func.min(case((and_(hits.c.at_start, exact), 0), (hits.c.at_start, 1), else_=2)).label("rank")
    stmt = select(hits.c.entity, hits.c.record_id, rank)
    if fields is not None:
        stmt = stmt.where(or_(false(), *(and_(hits.c.entity == name, hits.c.field.in_(sorted(names)))
                                         for name, names in fields.items() if names)))
    stmt = (stmt.group_by(hits.c.entity, hits.c.record_id)
            .order_by(rank, hits.c.entity, hits.c.record_id.desc()).limit(limit))
    with storage.connect() as conn:
        return [(r.entity, r.record_id, r.rank) for r in conn.execute(stmt)]
