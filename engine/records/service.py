"""The record service: the one way anything above the engine reads and writes records.

Each write is one transaction holding the record, its audit row and its outbox row;
plugins see it before commit (and may refuse it) and after commit."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from engine.events import RecordEvent
from engine.records import query as list_query
from engine.records.dump import SYSTEM_FIELDS
from engine.records.ids import allocate_ids
from engine.records.integrity import check_references, explain_integrity_error, duplicates_within
from engine.records.writes import audit_row, outbox_row, write_audit, write_outbox
from engine.schemas import errors_to_details

MAX_BATCH = 100_000
MAX_DETAILS = 100


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class RecordService:
    def __init__(self, storage, metadata, hooks, actor=None, tenant=None):
        self.storage = storage
        self.metadata = metadata
        self.hooks = hooks
        self.actor = actor
        self.tenant = tenant or storage.slug

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
        return entity, self.metadata.tables[name], self.metadata.shape(name)

    def _event(self, entity, action, record_id, record, changes) -> RecordEvent:
        return RecordEvent(self.tenant, entity.name, action, record_id, record, changes, self.actor_email)

    def _finish(self, conn, events, audits, at) -> None:
        for event in events:
            self.hooks.before_write(event)
        write_audit(conn, self.storage.schema, audits)
        write_outbox(conn, self.storage.schema, [outbox_row(at, e) for e in events])

    def _fetch(self, conn, table, record_id, lock=False):
        stmt = select(table).where(table.c.id == record_id)
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return conn.execute(stmt).mappings().first()

    # -- reading ----------------------------------------------------------------------
    def get(self, entity_name, record_id):
        entity, table, shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        with self.storage.connect() as conn:
            row = self._fetch(conn, table, record_id)
        if row is None:
            raise NotFound(f"no {entity_name} record {record_id}", code="record_not_found")
        return shape.dump(row)

    def list(self, entity_name, params=()):
        entity, table, shape = self._entity(entity_name)
        query = list_query.parse_list_query(entity, table, params)
        with self.storage.connect() as conn:
            rows = conn.execute(list_query.build_select(table, query)).mappings().all()
        rows, cursor = list_query.page(rows, query)
        only = set(query.columns) if query.columns else None
        return {"items": [shape.dump(r, only) for r in rows], "next_cursor": cursor}

    # -- creating ---------------------------------------------------------------------
    def create(self, entity_name, data):
        entity, table, shape = self._entity(entity_name)
        _refuse_system_fields(data)
        try:
            values = self.metadata.create_schema(entity_name).load(data)
        except ValidationError as exc:
            raise ValidationFailed(f"invalid {entity_name} record",
                                   details=errors_to_details(exc.messages)) from None
        return self._insert_one(entity, table, shape, values)

    def _insert_one(self, entity, table, shape, values):
        at = utcnow()
        row = {**shape.to_columns(values), "created_at": at, "updated_at": at,
               "created_by": self.actor_id, "updated_by": self.actor_id,
               "owner_id": self.actor_id, "version": 1}
        try:
            with self.storage.begin() as conn:
                check_references(conn, self.metadata, entity, [values])
                row["id"] = conn.execute(table.insert().returning(table.c.id), row).scalar_one()
                record = shape.dump(row)
                event = self._event(entity, "created", row["id"], record,
                                    {k: [None, v] for k, v in shape.dump_values(values).items()})
                audit = audit_row(at, self.actor_id, "create", entity.name, row["id"], 1, event.changes)
                self._finish(conn, [event], [audit], at)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc) from None
        self.hooks.after_commit(event)
        return record

    def create_many(self, entity_name, items):
        """Validate every item first; write all of them in one transaction, or none."""
        entity, table, shape = self._entity(entity_name)
        if not isinstance(items, list) or not items:
            raise ValidationFailed("records must be a non-empty list")
        if len(items) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} records in one batch (got {len(items)})")
        loader = self.metadata.batch_loader(entity_name)
        loaded, details, failing = [], [], 0
        for index, item in enumerate(items):
            values, errors = loader.load_one(item)
            if errors:
                failing += 1
                details += [{"field": f"/{index}/{f}".rstrip("/"), "message": m} for f, m in errors]
            loaded.append(values)
        details += duplicates_within(entity, loaded)
        if details:
            raise ValidationFailed(
                f"{failing or len(details)} of {len(items)} records are invalid; nothing was written",
                details=details[:MAX_DETAILS])
        at = utcnow()
        actor = self.actor_id
        wants_events = self.hooks.wants_record_events
        try:
            with self.storage.begin() as conn:
                check_references(conn, self.metadata, entity, loaded)
                ids = allocate_ids(conn, table, len(loaded))
                rows, audits, events = [], [], []
                for record_id, values in zip(ids, loaded):
                    rows.append({**shape.empty_columns, **shape.to_columns(values), "id": record_id, "created_at": at,
                                 "updated_at": at, "created_by": actor, "updated_by": actor,
                                 "owner_id": actor, "version": 1})
                    changes = {k: [None, v] for k, v in shape.dump_values(values).items()}
                    audits.append(audit_row(at, actor, "create", entity.name, record_id, 1, changes))
                    events.append(self._event(entity, "created", record_id,
                                              shape.dump(rows[-1]) if wants_events else {"id": record_id},
                                              changes))
                conn.execute(table.insert(), rows)
                self._finish(conn, events, audits, at)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, loaded, exc) from None
        for event in events:
            self.hooks.after_commit(event)
        return ids

    # -- updating ---------------------------------------------------------------------
    def update(self, entity_name, record_id, data, expected_version=None):
        entity, table, shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        if not isinstance(data, dict):
            raise ValidationFailed("the body must be a JSON object of fields to change")
        data = dict(data)
        expected_version = _expected_version(data.pop("version", None), expected_version)
        _refuse_system_fields(data)
        readonly = [f.name for f in entity.fields if f.readonly and f.name in data]
        if readonly:
            raise ValidationFailed("read-only fields cannot be changed",
                                   details=[{"field": n, "message": "is read-only"} for n in readonly])
        try:
            values = self.metadata.update_schema(entity_name).load(data, partial=True)
        except ValidationError as exc:
            raise ValidationFailed(f"invalid {entity_name} record",
                                   details=errors_to_details(exc.messages)) from None
        try:
            with self.storage.begin() as conn:
                old = self._fetch(conn, table, record_id, lock=True)
                if old is None:
                    raise NotFound(f"no {entity_name} record {record_id}", code="record_not_found")
                if expected_version is not None and old["version"] != expected_version:
                    raise _stale(entity_name, record_id, old["version"], expected_version)
                before = shape.dump(old)
                after_values = shape.dump_values(values)
                changes = {k: [before[k], v] for k, v in after_values.items() if before[k] != v}
                if not changes:
                    return before
                check_references(conn, self.metadata, entity, [values])
                at = utcnow()
                new_columns = {**shape.to_columns({k: values[k] for k in changes}),
                               "version": old["version"] + 1, "updated_at": at,
                               "updated_by": self.actor_id}
                done = conn.execute(table.update().where(
                    table.c.id == record_id, table.c.version == old["version"]).values(new_columns))
                if done.rowcount != 1:
                    raise _stale(entity_name, record_id, None, old["version"])
                record = shape.dump({**old, **new_columns})
                event = self._event(entity, "updated", record_id, record, changes)
                audit = audit_row(at, self.actor_id, "update", entity.name, record_id,
                                  new_columns["version"], changes)
                self._finish(conn, [event], [audit], at)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc,
                                          record_id=record_id) from None
        self.hooks.after_commit(event)
        return record

    # -- deleting ---------------------------------------------------------------------
    def delete(self, entity_name, record_id, expected_version=None):
        entity, table, shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        expected_version = _expected_version(None, expected_version)
        at = utcnow()
        with self.storage.begin() as conn:
            old = self._fetch(conn, table, record_id, lock=True)
            if old is None:
                raise NotFound(f"no {entity_name} record {record_id}", code="record_not_found")
            if expected_version is not None and old["version"] != expected_version:
                raise _stale(entity_name, record_id, old["version"], expected_version)
            events, audits = [], []
            self._delete_rows(conn, entity, [old], at, events, audits, seen=set())
            self._finish(conn, events, audits, at)
        for event in events:
            self.hooks.after_commit(event)
        return {"deleted": True, "id": record_id, "cascaded": len(events) - 1}

    def _delete_rows(self, conn, entity, rows, at, events, audits, seen):
        """Apply every referrer's on_delete rule, then delete `rows`; all audited."""
        ids = [r["id"] for r in rows if (entity.name, r["id"]) not in seen]
        seen.update((entity.name, i) for i in ids)
        if not ids:
            return
        for ref_entity, ref_field in self.metadata.referrers(entity.name):
            ref_table = self.metadata.tables[ref_entity.name]
            dependants = conn.execute(select(ref_table).where(
                ref_table.c[ref_field.name].in_(ids))).mappings().all()
            dependants = [d for d in dependants if (ref_entity.name, d["id"]) not in seen]
            if not dependants:
                continue
            rule = ref_field.on_delete or "restrict"
            if rule == "restrict":
                raise Conflict(
                    f"{len(dependants)} {ref_entity.name} record(s) refer to this {entity.name} "
                    f"through {ref_field.name}; change or delete them first",
                    details=[{"field": f"{ref_entity.name}.{ref_field.name}",
                              "message": f"ids {', '.join(str(d['id']) for d in dependants[:20])}"}],
                    code="referenced")
            if rule == "set_null":
                self._clear_reference(conn, ref_entity, ref_field, dependants, at, events, audits)
            else:
                self._delete_rows(conn, ref_entity, dependants, at, events, audits, seen)
        table, shape = self.metadata.tables[entity.name], self.metadata.shape(entity.name)
        for row in rows:
            if row["id"] not in ids:
                continue
            record = shape.dump(row)
            conn.execute(table.delete().where(table.c.id == row["id"]))
            changes = {k: [v, None] for k, v in record.items() if k not in SYSTEM_FIELDS}
            events.append(self._event(entity, "deleted", row["id"], record, changes))
            audits.append(audit_row(at, self.actor_id, "delete", entity.name, row["id"],
                                    row["version"], changes))

    def _clear_reference(self, conn, entity, field, rows, at, events, audits):
        table, shape = self.metadata.tables[entity.name], self.metadata.shape(entity.name)
        for row in rows:
            version = row["version"] + 1
            conn.execute(table.update().where(table.c.id == row["id"]).values(
                {field.name: None, "version": version, "updated_at": at, "updated_by": self.actor_id}))
            record = shape.dump({**row, field.name: None, "version": version, "updated_at": at,
                                 "updated_by": self.actor_id})
            changes = {field.name: [row[field.name], None]}
            events.append(self._event(entity, "updated", row["id"], record, changes))
            audits.append(audit_row(at, self.actor_id, "update", entity.name, row["id"], version, changes))


def _record_id(value, entity_name) -> int:
    try:
        record_id = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"no {entity_name} record {value!r}", code="record_not_found") from None
    if record_id < 1 or record_id > 2**63 - 1:
        raise NotFound(f"no {entity_name} record {value!r}", code="record_not_found")
    return record_id


def _expected_version(body_version, header_version):
    versions = []
    for source, value in (("version", body_version), ("If-Match", header_version)):
        if value is None:
            continue
        if isinstance(value, str):
            value = value.strip().strip('"').removeprefix("W/").strip('"')
            value = int(value) if value.isdigit() else value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationFailed("the expected version must be a positive whole number",
                                   details=[{"field": source, "message": f"{value!r} is not a version"}])
        versions.append(value)
    if len(set(versions)) > 1:
        raise ValidationFailed("If-Match and the body's version disagree",
                               details=[{"field": "version", "message": "differs from If-Match"}])
    return versions[0] if versions else None


def _refuse_system_fields(data) -> None:
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object of fields")
    present = [k for k in SYSTEM_FIELDS if k in data]
    if present:
        raise ValidationFailed("system fields are set by Loom",
                               details=[{"field": k, "message": "is read-only"} for k in present])


def _stale(entity_name, record_id, current, expected) -> StaleVersion:
    now = f"it is at version {current}" if current else "it changed meanwhile"
    return StaleVersion(f"{entity_name} {record_id} was changed by someone else: you sent "
                        f"version {expected}, {now}; reload it and try again")
