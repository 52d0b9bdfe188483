"""Giving a record to another owner: the one write that changes `owner_id` (which no
create or update body may set), so the owner a sharing rule reads changes only here,
audited as `assign` and announced as an update of `owner_id`.

Who may: a tenant admin, or Loom itself (rules and workflows); a member is refused. The
new owner must be an active user of the tenant. Transferring all of a user's records with
what follows them is the security issue's ownership transfer, built on this."""
from __future__ import annotations

from sqlalchemy import select

from engine.errors import Forbidden, ValidationFailed
from engine.records.inputs import record_id_of as _record_id
from engine.records.inputs import expected_version_of
from engine.records.pinning import one_version
from engine.records.writes import audit_row, utcnow
from engine.systables import loom_table


class OwnershipWrites:
    """The record service's `assign`."""

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
                return self.permissions.strip(entity, before)
            at = utcnow()
            new_columns = {"owner_id": owner_id, "version": old["version"] + 1, "updated_at": at,
                           "updated_by": self.actor_id}
            conn.execute(table.update().where(table.c.id == record_id).values(new_columns))
            changes = {"owner_id": [before["owner_id"], owner_id]}
            event = self.event(entity, "updated", record_id, shape.dump({**old, **new_columns}), changes, at)
            audit = audit_row(at, self.actor_id, "assign", entity.name, record_id, new_columns["version"], changes)
            [event] = self._finish(conn, [event], [audit], at)
        self.hooks.after_commit(event)
        return self.permissions.strip(entity, event.record)


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
