"""The record service's reads: one record, a page of a list, a capped count, an export and a
record's audit trail — each of what the actor may read, under one metadata version, with
the personal data it may not see masked (`pii.Masking`) and its reads of records holding
personal data written to the access log."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import and_, or_

from engine.errors import NotFound
from engine.records import query as list_query
from engine.records.access_log import log_access
from engine.crypto.copies import Copies
from engine.privacy.purposes import checked_purpose, consented
from engine.records.audit import record_history
from engine.records.conditions_sql import condition_where
from engine.records.export import export_records
from engine.records.inputs import record_id_of as _record_id
from engine.records.pinning import confirm_rows, one_version, versioned, versioned_row
from engine.records.sharing import restricted


class RecordReads:
    """The record service's `get` (and `get_clear`), `list`, `count`, `export` and `history`."""

    def get(self, entity_name, record_id, fields=None):
        """One record; `fields` (the text of ``fields=``) narrows it as in a list."""
        entity, _table, _shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        record = self.get_clear(entity_name, record_id, fields)
        self._accessed(entity, "read", [record_id])
        return self.masking.record(entity, record)

    @one_version
    def get_clear(self, entity_name, record_id, fields=None):
        """`get` without masking or logging: what `unmask` and Loom's own steps read."""
        entity, table, shape = self._entity(entity_name)
        self.permissions.require(entity, "read")
        record_id = _record_id(record_id, entity_name)
        columns = list_query.parse_fields(self.permissions.visible(entity), fields)
        where = table.c.id == record_id
        clause = self.sharing.read_clause(entity)
        if clause is not None:
            where = and_(where, clause)
        with self.storage.connect() as conn:
            rows = conn.execute(versioned_row(table, where, self.storage.schema)).mappings().all()
            rows = confirm_rows(conn, self.storage.schema, self.metadata.version, rows)
        row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"no {entity_name} record {record_id}", code="record_not_found")
        return shape.dump(row, self.permissions.columns(entity, columns))

    @one_version
    def list(self, entity_name, params=(), condition=None):
        """A page of readable records matching the list filters ``params`` and, when given,
        ``condition`` (the condition language, compiled to SQL; BadQuery if it is invalid)."""
        entity, table, shape = self._entity(entity_name)
        params = list(params)
        query = self._list_query(entity, table, params, condition)
        shared = self.sharing.read_terms(entity)
        with self.storage.connect() as conn:
            if shared is not None and len(shared) > 1 and self.sharing.by_union(entity, conn.dialect.name):
                stmt = list_query.build_union_select(table, query, shared)
            else:
                if shared is not None:
                    query = replace(query, where=query.where + (or_(*shared),))
                stmt = versioned(list_query.build_select(table, query), conn, self.storage.schema)
            rows = conn.execute(stmt).mappings().all()
            confirm_rows(conn, self.storage.schema, self.metadata.version, rows)
        rows, cursor = list_query.page(rows, query)
        columns = self.permissions.columns(entity, query.columns)
        searched = [raw for key, raw in params if key == "q" and raw]
        self._accessed(entity, "search" if searched else "list", [r["id"] for r in rows],
                       {"q": searched[0][:200]} if searched else None)
        dump = shape.dump
        return {"items": self.masking.records(entity, [dump(r, columns) for r in rows]),
                "next_cursor": cursor}

    def check_list(self, entity_name, params=(), condition=None) -> None:
        """BadQuery if `list` would refuse ``params`` and ``condition``; nothing is read
        (a saved view is checked so, before it is kept)."""
        entity, table, _ = self._entity(entity_name)
        self._list_query(entity, table, list(params), condition)

    def _list_query(self, entity, table, params, condition):
        """The parsed list query of ``params`` and ``condition`` on what the actor may read."""
        self.permissions.require(entity, "read")
        visible = self.permissions.visible(entity)
        query = list_query.parse_list_query(visible, table, params, *self.masking.unqueried(entity))
        if condition is not None:
            query = replace(query, where=query.where + (condition_where(visible, table, condition),))
        return query

    @one_version
    def count(self, entity_name, params=(), cap=1001, condition=None) -> int:
        """How many readable records match the list filters ``params`` (and ``condition``,
        as in `list`), at most `cap` (a screen shows "1,000+" at the cap without a full
        count). Paging parameters (sort, limit, cursor, fields) are accepted and do not
        change the count."""
        entity, table, _ = self._entity(entity_name)
        query = self._list_query(entity, table, params, condition)
        clause = self.sharing.read_clause(entity)
        if clause is not None:
            query = replace(query, where=query.where + (clause,))
        with self.storage.connect() as conn:
            found = conn.execute(list_query.build_count(table, query, cap)).scalar_one()
            self._confirm(conn)
        return found

    def export(self, entity_name, params=(), condition=None, purpose=None):
        """Every readable record matching the list filters (and ``condition``, as in
        `list`): an iterator read in keyset batches. For a `purpose` other than `service`,
        only the records whose party holds a valid consent for it (`engine.privacy.purposes`)."""
        entity, table, shape = self._entity(entity_name)
        params = list(params)
        purpose = checked_purpose(purpose)
        self.permissions.require(entity, "read")
        self.permissions.require(entity, "export")
        visible = self.permissions.visible(entity)
        where = (condition_where(visible, table, condition),) if condition is not None else ()
        consent = consented(self.metadata, entity, table, purpose)
        where += (consent,) if consent is not None else ()
        records = export_records(self, entity, table, shape, params, where)
        self._accessed(entity, "export", (), {"filters": [[k, v[:200]] for k, v in list(params)[:20]],
                                              "purpose": purpose})
        return self.masking.exported_all(entity, records)

    def history(self, entity_name, record_id) -> list[dict]:
        """The audit trail of a record, oldest first; deleted records keep theirs."""
        entity, _, _ = self._entity(entity_name)
        self.permissions.require(entity, "read")
        record_id = _record_id(record_id, entity_name)
        if restricted(entity, self.actor):  # a deleted record's trail stays with those who see all
            self.get(entity_name, record_id)
        items = record_history(self.storage, entity.name, record_id)
        if not items:
            raise NotFound(f"no {entity_name} record {record_id}", code="record_not_found")
        copies = Copies(self.metadata)  # encrypted values are sealed in the trail: opened, then masked
        return [{**item, "changes": self.masking.changes(entity, self.permissions.strip(
            entity, copies.opened_changes(item["changes"])))} for item in items]

    def masked_changes(self, entity_name, changes):
        """An audit row's changes of `entity_name` as the actor may read them (for a screen
        that reads the audit log itself, as the timeline does)."""
        entity = self.metadata.entity(entity_name)
        changes = Copies(self.metadata).opened_changes(changes)
        return changes if entity is None else self.masking.changes(entity, self.permissions.strip(entity, changes))

    def _accessed(self, entity, action, record_ids, detail=None) -> None:
        """A user's read of records of `entity` holding personal data, logged (Loom's own
        reads, and reads of entities without personal data, are not)."""
        if self.actor is None or self.system or not self.masking.holds_pii(entity):
            return
        if record_ids or action in ("export", "search"):
            log_access(self.storage, self.actor.id, action, entity.name, record_ids, detail)

