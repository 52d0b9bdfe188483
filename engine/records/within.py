"""Reads and writes inside a write already under way: what a `loom_record_before_write`
hook does through its plugin session, in the transaction of the record being written, so
that it commits or rolls back with it. Each write is finished as any write of the record
service (hooks before write, audit row, outbox event); after-commit hooks do not run for
it — its outbox event reaches rules and the job queue."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import NotFound, ValidationFailed
from engine.records import query as list_query
from engine.records.inputs import record_id_of as _record_id
from engine.records.integrity import explain_integrity_error
from engine.records.writes import audit_row, utcnow

NUMBER_TYPES = ("integer", "decimal")


class WithinWrites:
    """The record service's operations on a connection a write already holds."""

    def update_within(self, conn, entity_name, record_id, data):
        """Update a record inside a write already under way (see `create_within`)."""
        entity, table, shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        values, expected_version = self._update_values(entity, data, None)
        try:
            record, _ = self._change(conn, entity, table, shape, record_id, values, expected_version)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc,
                                          record_id=record_id) from None
        return record

    def increment_within(self, conn, entity_name, record_id, field_name, delta, at_least=None):
        """Add `delta` to a number field in one conditional UPDATE inside the write under
        way: with `at_least`, only if the result stays at or above it. The database checks
        the condition against the row it locks, so concurrent increments cannot both pass
        it. A system write (no sharing or read-only checks), audited and announced as
        `record.updated`. Returns the record, or None when the condition refused it
        (nothing written); NotFound when there is no such record."""
        entity, table, shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        field = entity.field(field_name)
        if field is None or (field.base_type or field.type) not in NUMBER_TYPES:
            raise ValidationFailed(f"{entity_name}.{field_name} is not a number field to increment",
                                   details=[{"field": field_name, "message": "must be an integer or decimal field"}])
        if field.encrypted:  # the database cannot add to a ciphertext
            raise ValidationFailed(f"{entity_name}.{field_name} is encrypted at rest: it cannot be incremented",
                                   details=[{"field": field_name, "message": "is encrypted at rest"}])
        if isinstance(delta, bool) or not isinstance(delta, (int, Decimal)):
            raise ValidationFailed("an increment is a whole or decimal number",
                                   details=[{"field": field_name, "message": "delta must be a number"}])
        column = table.c[field_name]
        current = func.coalesce(column, 0)
        at = utcnow()
        stmt = update(table).where(table.c.id == record_id)
        if at_least is not None:
            stmt = stmt.where(current + delta >= at_least)
        row = conn.execute(stmt.values({field_name: current + delta, "version": table.c.version + 1,
                                        "updated_at": at, "updated_by": self.actor_id})
                           .returning(*table.c)).mappings().first()
        if row is None:
            if self._fetch(conn, table, record_id) is None:
                raise NotFound(f"no {entity_name} record {record_id}", code="record_not_found")
            return None
        record = shape.dump(row)
        new = record[field_name]
        old = shape.dump({**row, field_name: row[field_name] - delta})[field_name]
        changes = {field_name: [old, new]}
        event = self.event(entity, "updated", record_id, record, changes, at)
        audit = audit_row(at, self.actor_id, "update", entity.name, record_id, row["version"], changes)
        [event] = self._finish(conn, [event], [audit], at)
        return event.record

    def get_within(self, conn, entity_name, record_id):
        """One record read inside a write under way, whoever may see it (a hook checks data)."""
        entity, table, shape = self._entity(entity_name)
        row = self._fetch(conn, table, _record_id(record_id, entity_name))
        return shape.dump(row) if row is not None else None

    def list_within(self, conn, entity_name, params=()) -> list[dict]:
        """Every record matching the list filters, read inside a write under way, whoever
        may see them."""
        entity, table, shape = self._entity(entity_name)
        query = list_query.parse_list_query(entity, table, [p for p in params if p[0] != "limit"])
        rows = conn.execute(select(table).where(*query.where).order_by(table.c.id)).mappings().all()
        return [shape.dump(r, query.columns) for r in rows]

