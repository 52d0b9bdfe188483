"""Giving a record to another owner: the one write that changes `owner_id` (which no
create or update body may set), so the owner a sharing rule reads changes only here,
audited as `assign` and announced as an update of `owner_id`.

Who may: a tenant admin, Loom itself (rules and workflows), or a user whose roles give the
entity's `transfer` right (only on the records they may edit); others are refused. The new
owner must be an active user of the tenant. `transfer` hands every record a user owns (of
one entity, or of every entity the actor may transfer) to another in one transaction, one
audit row per record: a departed salesperson's book to their successor."""
from __future__ import annotations

from sqlalchemy import select, update

from engine.errors import Forbidden, ValidationFailed
from engine.records.inputs import record_id_of as _record_id
from engine.records.inputs import expected_version_of
from engine.records.pinning import one_version
from engine.records.writes import audit_row, utcnow
from engine.systables import loom_table


class OwnershipWrites:
    """The record service's `assign` and `transfer`."""

    @one_version
    def assign(self, entity_name, record_id, owner_id, expected_version=None):
        """Make the active user `owner_id` the record's owner; the record as it is after."""
        entity, table, shape = self._entity(entity_name)
        if not self.permissions.may(entity.name, "transfer"):
            raise Forbidden("only a tenant admin or a role with the transfer right may give a record "
                            "to another owner", code="assign_refused")
        record_id = _record_id(record_id, entity_name)
        expected_version = expected_version_of(None, expected_version)
        with self._write() as conn:
            owner_id = _active_user(conn, self.storage, owner_id)
            old = self._editable(conn, entity, table, record_id, expected_version)
            before = shape.dump(old)
            if before["owner_id"] == owner_id:
                return self.answer(entity, before)
            at = utcnow()
            new_columns = {"owner_id": owner_id, "version": old["version"] + 1, "updated_at": at,
                           "updated_by": self.actor_id}
            conn.execute(table.update().where(table.c.id == record_id).values(new_columns))
            changes = {"owner_id": [before["owner_id"], owner_id]}
            event = self.event(entity, "updated", record_id, shape.dump({**old, **new_columns}), changes, at)
            audit = audit_row(at, self.actor_id, "assign", entity.name, record_id, new_columns["version"], changes)
            [event] = self._finish(conn, [event], [audit], at)
        self.hooks.after_commit(event)
        return self.answer(entity, event.record)

    @one_version
    def transfer(self, from_user, to_user, entity_name=None) -> dict:
        """Give every record `from_user` owns (of `entity_name`, or of every entity the actor
        may transfer) to the active user `to_user`: {entity: records moved}."""
        if entity_name is not None:
            entity, _table, _shape = self._entity(entity_name)
            if not self.permissions.may(entity.name, "transfer"):
                raise Forbidden(f"your roles do not allow you to transfer {entity.name} records",
                                code="assign_refused")
            entities = [entity]
        else:
            entities = [e for e in self.metadata.package.entities if self.permissions.may(e.name, "transfer")]
            if not entities:
                raise Forbidden("your roles do not allow you to transfer records", code="assign_refused")
        moved = {}
        with self._write() as conn:
            from_id = _user_id(conn, self.storage, from_user, "from")
            to_id = _active_user(conn, self.storage, to_user)
            at = utcnow()
            events, audits = [], []
            for entity in entities:
                found = self._transfer_entity(conn, entity, from_id, to_id, at)
                events += [e for e, _ in found]
                audits += [a for _, a in found]
                if found:
                    moved[entity.name] = len(found)
            events = self._finish(conn, events, audits, at)
        for event in events:
            self.hooks.after_commit(event)
        return moved

    def _transfer_entity(self, conn, entity, from_id, to_id, at) -> list:
        """(event, audit row) of each record of `entity` moved from `from_id` to `to_id`."""
        table, shape = self.metadata.tables[entity.name], self.metadata.shape(entity.name)
        stmt = select(table).where(table.c.owner_id == from_id).order_by(table.c.id)
        editable = self.sharing.edit_clause(entity)
        if editable is not None:
            stmt = stmt.where(editable)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        rows = conn.execute(stmt).mappings().all()
        if not rows or from_id == to_id:
            return []
        conn.execute(update(table).where(table.c.id.in_([r["id"] for r in rows]))
                     .values(owner_id=to_id, version=table.c.version + 1, updated_at=at, updated_by=self.actor_id))
        found = []
        for old in rows:
            new = {**old, "owner_id": to_id, "version": old["version"] + 1, "updated_at": at,
                   "updated_by": self.actor_id}
            changes = {"owner_id": [from_id, to_id]}
            found.append((self.event(entity, "updated", old["id"], shape.dump(new), changes, at),
                          audit_row(at, self.actor_id, "assign", entity.name, old["id"], new["version"], changes)))
        return found


def _user_id(conn, storage, user_id, field) -> int:
    """A user of the tenant, active or not (a departed user's records are the point)."""
    users = loom_table(storage.schema, "loom_users")
    number = _number(user_id)
    found = None if number is None else conn.execute(select(users.c.id).where(users.c.id == number)).scalar()
    if found is None:
        raise ValidationFailed(f"no user with id {str(user_id)[:20]} in this tenant",
                               details=[{"field": field, "message": "not a user of this tenant",
                                         "code": "unknown_user"}], code="unknown_user")
    return found


def _number(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        number = int(value)
    else:
        return None
    return number if 0 < number < 2**63 else None


def _active_user(conn, storage, owner_id) -> int:
    users = loom_table(storage.schema, "loom_users")
    found, number = None, None
    if isinstance(owner_id, int) and not isinstance(owner_id, bool):
        number = owner_id
    elif isinstance(owner_id, str) and owner_id.isascii() and owner_id.isdigit() and len(owner_id) < 19:
        number = int(owner_id)
    if number is not None and 0 < number < 2**63:
        found = conn.execute(select(users.c.id).where(users.c.id == number, users.c.active)).scalar()
    if found is None:
        raise ValidationFailed(f"no active user with id {str(owner_id)[:20]} to be the owner",
                               details=[{"field": "owner_id", "message": "not an active user of this tenant",
                                         "code": "unknown_user"}], code="unknown_user")
    return found
