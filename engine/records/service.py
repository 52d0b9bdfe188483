"""The record service: the one way anything above the engine reads and writes records.

Each write is one transaction holding the record, its audit row and its outbox row;
plugins see it before commit (and may refuse it) and after commit. Each operation runs
under one metadata version (see `pinning`). A reference to a record the actor may not
read is refused as a reference to a missing one, before any row is written or any hook
reads it."""
from __future__ import annotations

from dataclasses import replace
from functools import partial

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import effects
from engine.crypto.copies import Copies
from engine.dedup.entry import check_entry, checks_entry, with_duplicates
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.events import RecordEvent, thaw
from engine.records.deletes import Deletion
from engine.records.inputs import expected_version_of, record_id_of as _record_id, refuse_keys, stale_version
from engine.records.integrity import check_references, explain_integrity_error, reference_problems
from engine.records.pinning import MetadataChanged, confirm, held, one_version
from engine.records.permissions import Permissions
from engine.records.search_index import queue_events
from engine.records.sharing import Sharing, refuse
from engine.records.access import AccessReads
from engine.records.bulk_rows import insert_all
from engine.records.conditional import ConditionalWrites, conditional
from engine.records.reads import RecordReads
from engine.records.states import StateWrites
from engine.records.ownership import OwnershipWrites
from engine.records.pii import Masking
from engine.records.unmask import UnmaskReads
from engine.records.within import WithinWrites
from engine.records.merge_reads import MergeReads
from engine.records.merging import MergeWrites
from engine.records.batch import BatchWrites
from engine.records.writes import audit_row, created_changes, encoded_rows, sealed_audit, utcnow
from engine.schemas import errors_to_details



class RecordService(BatchWrites, RecordReads, StateWrites, WithinWrites, OwnershipWrites, AccessReads, ConditionalWrites,
                    UnmaskReads, MergeWrites, MergeReads):
    def __init__(self, storage, metadata, hooks, actor=None, tenant=None, renew=None, system=False):
        self.storage = storage
        self.metadata = metadata
        self.hooks = hooks
        self.actor = actor
        self.tenant = tenant or storage.slug
        # Loom itself writes (the actions of rules and workflows): it may fill read-only
        # fields, such as the number the `number` action gives; a user may set them only
        # when creating a record.
        self.system = system
        self.sharing = Sharing(metadata, actor, storage)  # who may read / edit which records
        self.permissions = self._permissions()  # what the actor may do with each entity and field
        self.masking = Masking(actor, system)  # which personal data the actor reads masked
        self._renew = renew  # () -> the tenant's current compiled metadata

    def renew(self) -> None:
        """Take the tenant's current metadata, after it moved under this service."""
        if self._renew is None:
            raise MetadataChanged()
        self.metadata = self._renew()
        self.sharing = Sharing(self.metadata, self.actor, self.storage)
        self.permissions = self._permissions()
        self.masking = Masking(self.actor, self.system)

    def _permissions(self) -> Permissions:
        """The actor's rights under this service's metadata, also bound to the actor (its
        `may_unmask` and `may_export_pii` ask them)."""
        permissions = Permissions(self.metadata.package, self.actor)
        if self.actor is not None:
            self.actor._cache["permissions"] = permissions
        return permissions

    def answer(self, entity, record: dict) -> dict:
        """A record as the actor may read it: without the fields their roles hide, and with
        the personal data they may not see in clear masked — what every write answers."""
        return self.masking.record(entity, self.permissions.strip(entity, record))

    def visible_entity(self, name):
        """The entity as the actor sees it (hidden fields left out; NotFound when the actor
        may not read it): what screens draw forms, columns and CSV headers from."""
        entity, _table, _shape = self._entity(name)
        self.permissions.require(entity, "read")
        return self.permissions.visible(entity)

    # -- helpers --------------------------------------------------------------------
    @property
    def actor_id(self):
        return self.actor.id if self.actor else None

    @property
    def actor_email(self):
        return self.actor.email if self.actor else None

    def _entity(self, name):
        entity = self.metadata.entity(name)
        if entity is None:
            raise NotFound(f"no entity {name!r}", code="entity_not_found")
        self.permissions.require_entity(entity)
        return entity, self.metadata.tables[name], self.metadata.shape(name)

    def event(self, entity, action, record_id, record, changes, at) -> RecordEvent:
        return RecordEvent.of(self.tenant, entity.name, action, record_id, record, changes, self.actor_email, at)

    def _finish(self, conn, events, audits, at, last=False, records=()) -> list:
        """Inside the write's transaction: `records` (a batch's new rows, `bulk_rows.Rows`)
        inserted first; then the rows `_prepared` makes, inserted together (one round trip
        on PostgreSQL; `last`: the write's last statements, its COMMIT in the same round
        trip). Returns the events as they stand after the hooks. `_prepared`'s work is done while the database
        inserts `records` when nothing it runs may use the connection: no pack plugin checks
        writes (their hooks write through it) and the storage is not one transaction its
        readers share (a trial's)."""
        if records and not self.hooks.packs_before_write and not self.storage.single_transaction:
            final, rows = insert_all(conn, records, meanwhile=partial(self._prepared, None, events, audits, at))
        else:
            if records:
                insert_all(conn, records)
            final, rows = self._prepared(conn, events, audits, at)
        insert_all(conn, rows, commit=last)
        return final

    def _prepared(self, conn, events, audits, at) -> tuple[list, list]:
        """(the events as they stand after the plugins' hooks, the rows the write leaves
        beside its records): plugins may refuse or set values (applied to the row, the
        event and its audit row; a pack's hooks through `conn`, which is None when no pack
        plugin checks writes); then the audit and outbox rows and the search index's queue
        rows."""
        self.hooks.before_write_core(events)  # Loom's own plugins: once for the whole write
        final = [self._packs_checked(conn, e, audits) for e in events] if self.hooks.packs_before_write else events
        schema, copies = self.storage.schema, Copies(self.metadata)  # encrypted values sealed in the copies
        if any(map(copies.names, {e.entity for e in final} | {a["entity"] for a in audits})):
            events, audits = [copies.event(e) for e in final], [sealed_audit(copies, a) for a in audits]
        else:
            events = final
        return final, [*encoded_rows(schema, at, events, audits), queue_events(schema, self.metadata, final)]

    def _packs_checked(self, conn, event, audits):
        """The event as it stands after the pack plugins' before-write hooks (which may
        refuse it, or set values: applied to its row and audit row)."""
        values = self.hooks.before_write_packs(event, self, conn)
        if not values:
            return event
        event = self._apply_set(conn, event, values)
        for audit in audits:
            if audit["entity"] == event.entity and audit["record_id"] == event.record_id:
                audit["changes"] = {**audit["changes"], **thaw(event.changes)}  # markers kept
        return event

    def _apply_set(self, conn, event, values: dict):
        """Values a before-write hook set on the record being written, checked as the
        system's input (read-only fields included) and written to its row."""
        entity, table, shape = self._entity(event.entity)
        if event.action == "deleted":
            raise Conflict(f"a plugin set {', '.join(sorted(values))} on a {entity.name} record being deleted",
                           code="plugin_set_on_delete")
        self._refuse_state_change(entity, values)
        loaded = self._load(entity, self.metadata.update_schema(entity.name, readonly=True), dict(values),
                            partial=True)
        conn.execute(table.update().where(table.c.id == event.record_id).values(shape.to_columns(loaded)))
        dumped = shape.dump_values(loaded)
        changes = {k: list(v) for k, v in event.changes.items()}
        for name, value in dumped.items():
            old = changes[name][0] if name in changes else (
                None if event.action == "created" else event.record.get(name))
            if old == value:
                changes.pop(name, None)
            else:
                changes[name] = [old, value]
        return replace(event, record={**event.record, **dumped}, changes=changes)

    def _fetch(self, conn, table, record_id, lock=False, where=None):
        stmt = select(table).where(table.c.id == record_id)
        if where is not None:
            stmt = stmt.where(where)
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return conn.execute(stmt).mappings().first()

    def _editable(self, conn, entity, table, record_id, expected_version):
        """The row a change is about to write, locked: it exists, the actor may edit it and
        it is at `expected_version` (when one is given)."""
        old = self._fetch(conn, table, record_id, lock=True)
        if old is None:
            raise NotFound(f"no {entity.name} record {record_id}", code="record_not_found")
        self.sharing.require_edit(conn, entity, record_id)
        if expected_version is not None and old["version"] != expected_version:
            raise stale_version(entity.name, record_id, old["version"], expected_version)
        return old

    def _load(self, entity, schema, data, **kwargs) -> dict:
        """Field values through the marshmallow schema; every problem of the record at
        once, missing references included."""
        if not isinstance(data, dict):
            raise ValidationFailed("the body must be a JSON object of fields")
        try:
            values = schema.load(data, **kwargs)
        except ValidationError as exc:
            readonly = {f.name for f in entity.fields if f.readonly}
            details = errors_to_details(exc.messages, readonly)
            with self.storage.connect() as conn:
                details += reference_problems(conn, self.metadata, entity, [exc.valid_data or {}],
                                              sharing=self.sharing)
            raise ValidationFailed(f"invalid {entity.name} record",
                                   details=sorted(details, key=lambda d: d["field"])) from None
        return values

    def _check_readable_references(self, conn, entity, values) -> None:
        """A single write's references, when the actor may not read every record they
        could name: checked here, before the row and the hooks (otherwise the foreign key
        refuses a missing record and the same message comes from the integrity error)."""
        if self.sharing.references_limited(entity):
            check_references(conn, self.metadata, entity, [values], self.sharing)

    def _claim(self, conn, effect_key) -> bool:
        """Claim an effect key in the write's transaction; False if it was done before."""
        if not effect_key:
            return True
        if effects.done(conn, self.storage.schema, effect_key):
            return False
        effects.record(conn, self.storage.schema, effect_key)
        return True

    def _write(self):
        """A write transaction under this service's metadata version (`pinning.held`)."""
        return held(self.storage, self.metadata.version)

    def _confirm(self, conn) -> None:
        confirm(conn, self.storage.schema, self.metadata.version)

    # -- creating ---------------------------------------------------------------------
    @one_version
    def create(self, entity_name, data, effect_key=None, allow_duplicates=False):
        """Create a record. With `effect_key`, a second call with the same key (a retried
        job) writes nothing and returns None. Duplicate rules (`engine.dedup.entry`) may
        refuse it (`allow_duplicates` overrides an overridable one) or add `_duplicates`."""
        entity, table, shape = self._entity(entity_name)
        self.permissions.require(entity, "create")
        self.permissions.check_write(entity, data)
        values = self._new_values(entity, data)
        try:
            with self._write() as conn:
                if not self._claim(conn, effect_key):
                    return None
                checked = checks_entry(self, entity)  # then the check's queries come before the COMMIT
                record, event = self._insert(conn, entity, table, shape, values, last=not checked)
                duplicates = check_entry(self, conn, entity, record, allow_duplicates) if checked else []
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc) from None
        self.hooks.after_commit(event)
        return with_duplicates(self.answer(entity, record), duplicates)

    def create_within(self, conn, entity_name, data):
        """Create a record inside a write already under way: `conn` is the transaction a
        `loom_record_before_write` hook received, so the new record commits or rolls back
        with the one being written (a ledger entry a redemption takes). Validation,
        sharing, hooks before write, audit and outbox as for `create`; after-commit hooks
        do not run for it — its outbox event reaches rules and the job queue."""
        entity, table, shape = self._entity(entity_name)
        values = self._new_values(entity, data)
        try:
            record, _ = self._insert(conn, entity, table, shape, values)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc) from None
        return record

    def _new_values(self, entity, data) -> dict:
        """A new record's values: loaded and checked, sharing fields filled, its state set."""
        values = self._load(entity, self.metadata.create_schema(entity.name), self.sharing.fill(entity, data))
        refuse(entity, self.sharing.refused(entity, values))
        problem = self._start_state(entity, values)
        if problem:
            raise ValidationFailed(f"invalid {entity.name} record", details=[problem])
        if conditional(entity):
            self._require_conditions(entity, self.metadata.shape(entity.name).dump_values(values))
        return values

    def _insert(self, conn, entity, table, shape, values, last=False):
        self._check_readable_references(conn, entity, values)
        at = utcnow()
        row = {**shape.empty_columns, **shape.to_columns(values), "created_at": at, "updated_at": at,
               "created_by": self.actor_id, "updated_by": self.actor_id,
               "owner_id": self.actor_id, "version": 1}
        insert = self.metadata.memo(("insert_returning_id", entity.name),
                                    lambda: table.insert().returning(table.c.id))  # built once a version
        row["id"] = conn.execute(insert, row).scalar_one()
        record = shape.dump(row)
        changes = created_changes(shape, values, record)
        event = self.event(entity, "created", row["id"], record, changes, at)
        audit = audit_row(at, self.actor_id, "create", entity.name, row["id"], 1, changes)
        [event] = self._finish(conn, [event], [audit], at, last)
        return event.record, event

    # -- updating ---------------------------------------------------------------------
    @one_version
    def update(self, entity_name, record_id, data, expected_version=None, effect_key=None,
               allow_duplicates=False):
        """Change the fields in `data`; `version` in it (or `expected_version`, the
        If-Match header) must be the record's current version. With `effect_key`, a
        repeated call writes nothing and returns None. Duplicate rules as for `create`."""
        entity, table, shape = self._entity(entity_name)
        self.permissions.require(entity, "update")
        self.permissions.check_write(entity, data)
        record_id = _record_id(record_id, entity_name)
        values, expected_version = self._update_values(entity, data, expected_version)
        try:
            with self._write() as conn:
                if not self._claim(conn, effect_key):
                    return None
                checked = checks_entry(self, entity)
                record, event = self._change(conn, entity, table, shape, record_id, values, expected_version,
                                             last=not checked)
                duplicates = check_entry(self, conn, entity, record, allow_duplicates,
                                         changed=event.changes if event else ()) if checked else []
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc,
                                          record_id=record_id) from None
        if event is not None:
            self.hooks.after_commit(event)
        return with_duplicates(self.answer(entity, record), duplicates)

    def _update_values(self, entity, data, expected_version):
        """The fields a change sets, loaded and checked, and the version it expects (`version`
        in `data`, else `expected_version`: the If-Match header)."""
        if not isinstance(data, dict):
            raise ValidationFailed("the body must be a JSON object of fields to change")
        data = dict(data)
        expected_version = expected_version_of(data.pop("version", None), expected_version)
        values = self._load(entity, self.metadata.update_schema(entity.name, readonly=self.system), data,
                            partial=True)
        return values, expected_version

    def _change(self, conn, entity, table, shape, record_id, values, expected_version, last=False):
        """The update of one record in `conn`: (the record, its event or None if nothing changed)."""
        old = self._editable(conn, entity, table, record_id, expected_version)
        before = shape.dump(old)
        changes = {k: [before[k], v] for k, v in shape.dump_values(values).items() if before[k] != v}
        if not changes:
            return before, None
        refuse(entity, self.sharing.refused(entity, {k: values[k] for k in changes}))
        self._refuse_state_change(entity, changes)
        self._require_conditions(entity, {**before, **{k: new for k, (_, new) in changes.items()}})
        self._check_readable_references(conn, entity, {k: values[k] for k in changes})
        at = utcnow()
        new_columns = {**shape.to_columns({k: values[k] for k in changes}),
                       "version": old["version"] + 1, "updated_at": at,
                       "updated_by": self.actor_id}
        conn.execute(table.update().where(table.c.id == record_id).values(new_columns))
        record = shape.dump({**old, **new_columns})
        event = self.event(entity, "updated", record_id, record, changes, at)
        audit = audit_row(at, self.actor_id, "update", entity.name, record_id,
                          new_columns["version"], changes)
        [event] = self._finish(conn, [event], [audit], at, last)
        return event.record, event

    # -- deleting ---------------------------------------------------------------------
    @one_version
    def delete(self, entity_name, record_id, expected_version=None, body=None):
        """Delete a record (If-Match: `expected_version`, or `version` in `body`, the request's
        body: both must agree) and apply its referrers' on_delete rules. A missing record is
        named before a body that holds anything but `version` is refused."""
        entity, table, _ = self._entity(entity_name)
        self.permissions.require(entity, "delete")
        record_id = _record_id(record_id, entity_name)
        body = {} if body is None else body
        expected_version = expected_version_of(body.get("version"), expected_version)
        at = utcnow()
        try:
            with self._write() as conn:
                old = self._editable(conn, entity, table, record_id, expected_version)
                refuse_keys(body, ("version",))
                deletion = Deletion(self, conn, at)
                deletion.run(entity, old)
                deletion.events = self._finish(conn, deletion.events, deletion.audits, at, last=True)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [], exc) from None
        for event in deletion.events:
            self.hooks.after_commit(event)
        deleted = sum(1 for e in deletion.events if e.action == "deleted")
        return {"deleted": True, "id": record_id, "cascaded": deleted - 1,
                "cleared": len(deletion.events) - deleted}

