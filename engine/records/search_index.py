"""The tenant's search index `loom_search`: kept in step with the records after each
write commits and with every publication, read by the global search.

Each row is one term (`engine.records.search_terms`) of one searchable field of one
record, keyed by (term, entity, record id, field): one B-tree that a typed prefix ranges
over and that holds every column the search reads, and a second by record. A write does
not compute terms: the record service calls `queue_events` inside each write's
transaction and inserts one row per record whose searchable values changed into
`loom_search_queue`, beside the write's audit and outbox rows, so the queue commits or
rolls back with the record at the cost of one small row. `follow_writes` then replaces
the terms of the queued records with those of their values as they stand: the worker
runs it after each drain, and `find` runs it before it reads, so a search always sees
every committed write (the first search after a large import may index it). Followers
take turns (SQLite's write lock, an advisory lock on PostgreSQL), and each removes only
the queue rows it read, so a write that commits meanwhile is followed the next time.
The publisher calls `follow_publication` in the publication's transaction for the
fields that became or stopped being searchable. The tenant revision that rebuilds the
table marks the index stale (`STALE`); `catch_up` rebuilds it from the records the first
time a process opens the tenant. `reindex` rebuilds it whole (`loom search reindex
TENANT`, a repair). `find` answers which records hold a term starting with the query,
best first; it knows nothing of sharing: the caller reads the records through the
record service, which drops those the user may not read."""
from __future__ import annotations

from sqlalchemy import and_, case, delete, false, func, or_, select, union_all

from engine.records.bulk_rows import Rows
from engine.records.search_rows import insert_rows
from engine.records.search_terms import query_forms, terms_of, upper_bound
from engine.systables import loom_table

SEARCHABLE = frozenset({"string", "email", "phone"})
BATCH = 5000  # records read per statement when an entity is indexed from its table
FOLLOW = 1000  # queued records one transaction of `follow_writes` re-indexes
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


def queue_events(schema, metadata, events) -> Rows:
    """The queue rows of record events being written in a transaction: one per record
    whose searchable values the event sets, changes or removes, for the caller to
    insert in the same transaction (`bulk_rows.insert_all`, beside the write's other rows)."""
    fields_of: dict[str, dict] = {}
    queued = {}
    for event in events:
        fields = fields_of.get(event.entity)
        if fields is None:
            entity = metadata.entity(event.entity)
            fields = fields_of[event.entity] = searchable_fields(entity) if entity is not None else {}
        if not fields:
            continue
        if event.action == "deleted":
            touched = any(event.record.get(name) not in (None, "") for name in fields)
        else:
            touched = not fields.keys().isdisjoint(event.changes)
        if touched:
            queued[(event.entity, event.record_id)] = None
    return Rows(loom_table(schema, "loom_search_queue"), ("entity", "record_id"), list(queued), packed=True)


def _take_turn(conn, schema) -> None:
    """Wait for any other follower of this tenant's writes to finish (SQLite's write
    transactions already take turns)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{schema}.loom_search",))


def _reindex_records(conn, schema, metadata, entity_name: str, record_ids: list[int]) -> None:
    """Replace the terms of these records with those of their values as they stand
    (a record deleted since, or of an entity dropped since, keeps none)."""
    table = loom_table(schema, "loom_search")
    conn.execute(delete(table).where(table.c.entity == entity_name, table.c.record_id.in_(record_ids)))
    entity = metadata.entity(entity_name)
    fields = searchable_fields(entity) if entity is not None else {}
    if not fields:
        return
    records = metadata.tables[entity_name]
    values = [records.c[name] for name in fields]
    found = conn.execute(select(records.c.id, *values).where(records.c.id.in_(record_ids))).mappings()
    insert_rows(conn, table, [row for record in found for row in _rows(entity_name, record["id"], fields, record)])


def follow_writes(storage, metadata, limit: int = FOLLOW) -> int:
    """Bring the index in step with the writes committed since it last followed them:
    re-index the queued records, `limit` per transaction; returns how many were queued.
    Cheap when nothing is queued (one indexed read)."""
    queue = loom_table(storage.schema, "loom_search_queue")
    with storage.connect() as conn:
        if conn.execute(select(queue.c.id).limit(1)).first() is None:
            return 0
    followed = 0
    while True:
        with storage.begin() as conn:
            _take_turn(conn, storage.schema)
            taken = conn.execute(select(queue.c.id, queue.c.entity, queue.c.record_id)
                                 .order_by(queue.c.id).limit(limit)).all()
            by_entity: dict[str, set] = {}
            for row in taken:
                by_entity.setdefault(row.entity, set()).add(row.record_id)
            for entity_name in sorted(by_entity):
                _reindex_records(conn, storage.schema, metadata, entity_name, sorted(by_entity[entity_name]))
            if taken:
                conn.execute(delete(queue).where(queue.c.id.in_([row.id for row in taken])))
        followed += len(taken)
        if len(taken) < limit:
            return followed


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


def reindex_record(conn, schema, entity, record_id: int, values: dict) -> None:
    """Replace every term of one record with those of `values` (its fields as stored):
    an erasure, which rewrites the record outside the record service, calls it."""
    table = loom_table(schema, "loom_search")
    conn.execute(delete(table).where(table.c.entity == entity.name, table.c.record_id == record_id))
    insert_rows(conn, table, _rows(entity.name, record_id, searchable_fields(entity), values))


def forget(conn, schema, entity_name: str, fields=None) -> None:
    """Remove the terms of `entity_name` (of its `fields` only, when given)."""
    table = loom_table(schema, "loom_search")
    stmt = delete(table).where(table.c.entity == entity_name)
    if fields is not None:
        stmt = stmt.where(table.c.field.in_(sorted(fields)))
    conn.execute(stmt)


def follow_publication(conn, schema, old_package, new_package, new_tables, added_empty: bool = False) -> None:
    """In a publication's transaction, after its DDL: remove the terms of the fields that
    stopped being searchable (hidden, dropped, their type changed, their entity dropped)
    and index the records' values of those that became searchable (added, shown, their
    type changed). Entities and fields whose searchability did not change are not read;
    nor are, when `added_empty`, fields the publication adds without a default and the
    entities it adds (nothing but a default filled the new columns, and a new table holds
    no rows: not a rollback restoring archived values, nor a pack upgrade's steps moving
    data)."""
    old_entities = {e.name: e for e in (old_package.entities if old_package else ())}
    before = {name: searchable_fields(e) for name, e in old_entities.items()}
    after = {e.name: searchable_fields(e) for e in new_package.entities}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        if name not in after:
            forget(conn, schema, name)
            continue
        gone = {field for field, base in old.items() if new.get(field) != base}
        # With `added_empty`, a field the publication adds holds no value unless its
        # default filled it in: its column is not read (an optional new field of 100,000
        # rows costs nothing).
        existed, entity = old_entities.get(name), new_package.entity(name)
        came = {field: base for field, base in new.items() if old.get(field) != base and (
            not added_empty or existed is not None and (
                entity.field(field).has_default or existed.field(field) is not None))}
        if gone:
            forget(conn, schema, name, gone)
        if came:
            index_entity(conn, schema, name, new_tables[name], came)


def _rebuild(conn, schema, metadata) -> int:
    # The queued records are indexed by the rebuild: remove the queue rows there are now
    # (not those a write commits meanwhile, on PostgreSQL: they are followed next time).
    queue = loom_table(schema, "loom_search_queue")
    _take_turn(conn, schema)
    queued = conn.execute(select(func.max(queue.c.id))).scalar()
    if queued is not None:
        conn.execute(delete(queue).where(queue.c.id <= queued))
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


def find(storage, metadata, query: str, entities, limit: int, fields=None) -> list[tuple[str, int, int]]:
    """`[(entity, record_id, rank)]` of up to `limit` records of `entities` holding a term
    that starts with `query`, best first: rank 0 a value equal to the query, 1 a value
    starting with it, 2 a word or character inside a value starting with it. With `fields`
    (`{entity: searchable field names}`, from `searchable_fields` of today's metadata) only
    those fields' terms count. Writes committed before the call are found: the index
    first follows them (`follow_writes`, with the tenant's compiled `metadata`)."""
    forms = query_forms(query)
    entities = sorted(entities)
    if not forms or not entities:
        return []
    follow_writes(storage, metadata)
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
