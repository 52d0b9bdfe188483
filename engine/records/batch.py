"""The record service's batch create: every item validated first, then all of them
written in one transaction (records, audit and outbox rows, search queue), or none."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from engine.dedup.entry import check_batch
from engine.errors import ValidationFailed
from engine.heap import paused
from engine.records.bulk_rows import Rows
from engine.records.conditional import conditional, missing
from engine.records.ids import allocate_ids
from engine.records.integrity import MAX_DETAILS, check_references, duplicates_within, explain_integrity_error
from engine.records.new_rows import NewRows
from engine.records.pinning import one_version
from engine.records.sharing import refuse, restricted
from engine.records.writes import audit_row, utcnow

MAX_BATCH = 100_000


class BatchWrites:
    """`create_many`, for `RecordService`."""

    @one_version
    def create_many(self, entity_name, items, allow_duplicates=False, within=None, exclude_ids=(), before=None):
        """Validate every item first; write all of them in one transaction, or none.
        Returns the new ids in the order of `items`. A blocking duplicate rule refuses
        the items it matches, stored records or earlier items of the batch
        (`allow_duplicates` overrides an overridable one; records in `exclude_ids` are
        not compared: an import's own, which its plan compared as rows of its file).
        `within(conn, ids)`, when given, is the caller's last step in that transaction
        (an import's updates and checkpoint), `before(conn)` its first (an import locks the
        records it updates, before the duplicate checks' key locks)."""
        with paused():  # the objects a batch makes, it frees itself (engine.heap)
            ids, events = self._create_all(entity_name, items, allow_duplicates, within, exclude_ids, before)
        self.hooks.after_commit_all(events)
        return ids

    def _create_all(self, entity_name, items, allow_duplicates, within, exclude_ids, before):
        """`create_many`'s checks and its transaction: the new ids and their events."""
        entity, table, shape = self._entity(entity_name)
        self.permissions.require(entity, "create")
        self.permissions.require(entity, "import")
        if not isinstance(items, list) or not items:
            raise ValidationFailed("records must be a non-empty list",
                                   details=[{"field": "records", "message": "must be a non-empty list"}])
        if len(items) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} records in one batch (got {len(items)})")
        loader = self.metadata.batch_loader(entity_name)
        loaded, details, refused = [], [], []
        shared = restricted(entity, self.actor)  # checked once: big batches pay nothing without sharing
        conditions = conditional(entity)  # the same: nothing to dump without a required_if
        workflow = self._workflow(entity) is not None  # the same: no start state to set without one
        checked = not self.permissions.unrestricted  # the same: no field to check for an admin
        for index, item in enumerate(items):
            if checked:
                self.permissions.check_write(entity, item, prefix=f"/{index}/")
            values, errors = loader.load_one(self.sharing.fill(entity, item) if shared else item)
            if shared:
                refused += [{**p, "field": f"/{index}/{p['field']}"} for p in self.sharing.refused(entity, values)]
            if errors:
                details += [{**p.to_dict(), "field": f"/{index}/{p.path}" if p.path else f"/{index}"} for p in errors]
            problem = self._start_state(entity, values) if workflow else None
            if problem:
                details.append({**problem, "field": f"/{index}/{problem['field']}"})
            if conditions and not errors:
                details += [{**p.to_dict(), "field": f"/{index}/{p.path}"}
                            for p in missing(entity, shape.dump_values(values))]
            loaded.append(values)
        refuse(entity, refused[:MAX_DETAILS])
        details += duplicates_within(entity, loaded)
        at = utcnow()
        actor = self.actor_id
        wants_events = self.hooks.wants_record_events
        try:
            with self._write() as conn:
                if before is not None:
                    before(conn)
                check_references(conn, self.metadata, entity, loaded, self.sharing, indexed=True,
                                 details=details)
                check_batch(self, conn, entity, loaded, allow_duplicates, exclude_ids)
                ids = allocate_ids(conn, table, len(loaded))
                new = NewRows(shape, at, actor)
                rows, audits, events = [], [], []
                for record_id, values in zip(ids, loaded):
                    row, record, changes = new.make(record_id, values)
                    rows.append(row)
                    audits.append(audit_row(at, actor, "create", entity.name, record_id, 1, changes))
                    events.append(self.event(entity, "created", record_id,
                                             record if wants_events else {"id": record_id}, changes, at))
                events = self._finish(conn, events, audits, at, last=within is None,
                                      records=[Rows(table, new.columns, rows, typed=True)])
                if within is not None:
                    within(conn, ids)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, loaded, exc,
                                          indexed=True) from None
        return ids, events
