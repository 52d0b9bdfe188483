"""The tenant's search index `loom_search`: kept in step with every record write, read by
the global search.

Each row is one term (`engine.records.search_terms`) of one searchable field of one
record. The record service calls `index_events` inside each write's transaction, so the
index commits or rolls back with the record. `reindex` rebuilds it from the records
(`loom search reindex TENANT`: after an upgrade, or after a field became searchable or
hidden). `find` answers which records hold a term starting with the query, best first;
it knows nothing of sharing: the caller reads the records through the record service,
which drops those the user may not read."""
from __future__ import annotations

from sqlalchemy import and_, case, delete, false, func, insert, or_, select

from engine.records.search_terms import query_forms, terms_of, upper_bound
from engine.systables import loom_table

SEARCHABLE = frozenset({"string", "email", "phone"})
BATCH = 5000
SCAN = 2000  # term rows one search ranks at most


def searchable_fields(entity) -> dict[str, str]:
    """`{field: base type}` of the fields of `entity` the search indexes (short text,
    e-mail and phone fields that are not hidden)."""
    return {f.name: f.base_type or f.type for f in entity.fields
            if (f.base_type or f.type) in SEARCHABLE and not f.hidden}


def _rows(entity_name, record_id, fields, values) -> list[dict]:
    return [{"entity": entity_name, "record_id": record_id, "field": name, "term": term, "at_start": at_start}
            for name, base in fields.items() if name in values
            for term, at_start in sorted(terms_of(base, values[name]))]


def index_events(conn, schema, metadata, events) -> None:
    """Bring the index in step with record events written in `conn`'s transaction."""
    table = loom_table(schema, "loom_search")
    rows = []
    for event in events:
        entity = metadata.entity(event.entity)
        fields = searchable_fields(entity) if entity is not None else {}
        if event.action == "deleted":
            conn.execute(delete(table).where(table.c.entity == event.entity, table.c.record_id == event.record_id))
            continue
        changed = {name: change[1] for name, change in event.changes.items() if name in fields}
        if not changed:
            continue
        if event.action != "created":
            conn.execute(delete(table).where(table.c.entity == event.entity, table.c.record_id == event.record_id,
                                             table.c.field.in_(sorted(changed))))
        rows += _rows(event.entity, event.record_id, fields, changed)
    if rows:
        conn.execute(insert(table), rows)


def reindex(storage, metadata) -> int:
    """Rebuild the whole index from the records; returns the number of terms written."""
    table = loom_table(storage.schema, "loom_search")
    written = 0
    with storage.begin() as conn:
        conn.execute(delete(table))
        for entity in metadata.package.entities:
            fields = searchable_fields(entity)
            if not fields:
                continue
            records = metadata.tables[entity.name]
            columns = [records.c.id] + [records.c[name] for name in fields]
            rows = []
            for row in conn.execute(select(*columns)).mappings():
                rows += _rows(entity.name, row["id"], fields, row)
                if len(rows) >= BATCH:
                    conn.execute(insert(table), rows)
                    written, rows = written + len(rows), []
            if rows:
                conn.execute(insert(table), rows)
                written += len(rows)
    return written


def find(storage, query: str, entities, limit: int, fields=None) -> list[tuple[str, int, int]]:
    """`[(entity, record_id, rank)]` of up to `limit` records of `entities` holding a term
    that starts with `query`, best first: rank 0 a value equal to the query, 1 a value
    starting with it, 2 a word or character inside a value starting with it. With `fields`
    (`{entity: searchable field names}`, from `searchable_fields` of today's metadata) only
    those fields' terms count: a field hidden since it was indexed finds nothing."""
    forms = query_forms(query)
    entities = sorted(entities)
    if not forms or not entities:
        return []
    table = loom_table(storage.schema, "loom_search")
    matches = [and_(table.c.term >= form, table.c.term < upper_bound(form)) for form in forms]
    # A short, common prefix ("1", "+86 1") matches a term of nearly every record: rank the
    # first SCAN term rows the index range gives, not all of them, so every keystroke costs
    # at most that much; typing more narrows the range and the ranking becomes exact.
    hits = (select(table.c.entity, table.c.record_id, table.c.field, table.c.term, table.c.at_start)
            .where(or_(*matches), func.coalesce(table.c.entity, "").in_(entities))  # coalesce: not the record index
            .order_by(table.c.term).limit(SCAN).subquery())  # in index order: equal terms first
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

