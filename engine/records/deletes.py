"""Deleting a record and applying every referrer's on_delete rule, in one transaction.

The records a delete reaches are found breadth first (no recursion, so a long chain of
cascades cannot exhaust the stack): `cascade` referrers are deleted too, `set_null`
referrers that survive are cleared (one new version each), and a `restrict` referrer
that survives refuses the whole delete. Every deleted and cleared record is audited.
Records of an entity kept as evidence (`"privacy": {"evidence": true}`, such as consents)
are deleted only by an admin or the system, directly or through a cascade: a member is
refused (403 evidence_kept) and withdraws the consent instead."""
from __future__ import annotations

from collections import deque
from itertools import groupby

from sqlalchemy import bindparam, select

from engine.errors import Conflict, Forbidden
from engine.records.dump import SYSTEM_FIELDS
from engine.records.writes import audit_row

CHUNK = 1000
MAX_LISTED = 20


class Deletion:
    def __init__(self, service, conn, at):
        self.service = service
        self.metadata = service.metadata
        self.conn = conn
        self.at = at
        self.events, self.audits = [], []
        self._doomed = {}        # entity name -> {id: row}
        self._found = []         # (entity, row) in the order found: parents before children
        self._restricted = []    # (target, entity, field, rows): each row must be doomed too
        self._cleared = {}       # (entity name, id) -> (entity, row, [field names])

    def run(self, entity, row) -> None:
        self._find(entity, [row])
        self._refuse_restricted()
        self._refuse_evidence()
        for entity, row, field_names in self._clears():
            self._clear(entity, row, field_names)
        # Children first, so the database's own ON DELETE actions never fire (SQLite would
        # refuse a cascade deeper than its trigger depth).
        for entity, found in groupby(reversed(self._found), key=lambda pair: pair[0]):
            self._delete(entity, [row for _, row in found])

    def _find(self, entity, rows) -> None:
        queue = deque([(entity, rows)])
        while queue:
            entity, rows = queue.popleft()
            doomed = self._doomed.setdefault(entity.name, {})
            fresh = [r for r in rows if r["id"] not in doomed]
            doomed.update((r["id"], r) for r in fresh)
            self._found += [(entity, r) for r in fresh]
            if not fresh:
                continue
            ids = [r["id"] for r in fresh]
            for ref_entity, ref_field in self.metadata.referrers(entity.name):
                dependants = self._referring(ref_entity, ref_field, ids)
                if not dependants:
                    continue
                rule = ref_field.on_delete or "restrict"
                if rule == "cascade":
                    queue.append((ref_entity, dependants))
                elif rule == "set_null":
                    for dependant in dependants:
                        key = (ref_entity.name, dependant["id"])
                        self._cleared.setdefault(key, (ref_entity, dependant, []))[2].append(ref_field.name)
                else:
                    self._restricted.append((entity, ref_entity, ref_field, dependants))

    def _referring(self, entity, field, ids) -> list:
        table = self.metadata.tables[entity.name]
        rows = []
        for start in range(0, len(ids), CHUNK):
            rows += self.conn.execute(select(table).where(
                table.c[field.name].in_(ids[start:start + CHUNK])).order_by(table.c.id)).mappings().all()
        return rows

    def _refuse_restricted(self) -> None:
        for target, entity, field, rows in self._restricted:
            doomed = self._doomed.get(entity.name, {})
            blocking = [r["id"] for r in rows if r["id"] not in doomed]
            if blocking:
                listed = ", ".join(str(i) for i in blocking[:MAX_LISTED])
                more = f" and {len(blocking) - MAX_LISTED} more" if len(blocking) > MAX_LISTED else ""
                raise Conflict(
                    f"{len(blocking)} {entity.name} record(s) refer to this {target.name} through "
                    f"{field.name}; change or delete them first",
                    details=[{"field": f"{entity.name}.{field.name}", "message": f"ids {listed}{more}"}],
                    code="referenced")

    def _refuse_evidence(self) -> None:
        actor = self.service.actor
        if actor is None or actor.is_admin:
            return
        for name, rows in self._doomed.items():
            entity = self.metadata.entity(name)
            if rows and entity is not None and (entity.privacy or {}).get("evidence"):
                raise Forbidden(
                    f"{name} records are kept as evidence: only an admin may delete them "
                    f"({len(rows)} would be deleted); withdraw a consent instead of deleting it",
                    details=[{"field": name, "message": "kept as evidence"}], code="evidence_kept")

    def _clears(self):
        for (entity_name, record_id), (entity, row, field_names) in self._cleared.items():
            if record_id not in self._doomed.get(entity_name, {}):
                yield entity, row, field_names

    def _clear(self, entity, row, field_names) -> None:
        service = self.service
        table, shape = self.metadata.tables[entity.name], self.metadata.shape(entity.name)
        new = {**{name: None for name in field_names}, "version": row["version"] + 1,
               "updated_at": self.at, "updated_by": service.actor_id}
        self.conn.execute(table.update().where(table.c.id == row["id"]).values(new))
        changes = {name: [row[name], None] for name in field_names}
        self.events.append(service.event(entity, "updated", row["id"], shape.dump({**row, **new}), changes, self.at))
        self.audits.append(audit_row(self.at, service.actor_id, "update", entity.name, row["id"],
                                     new["version"], changes))

    def _delete(self, entity, rows) -> None:
        """`rows` in this order, one statement each (sent together)."""
        service = self.service
        table, shape = self.metadata.tables[entity.name], self.metadata.shape(entity.name)
        self.conn.execute(table.delete().where(table.c.id == bindparam("doomed_id")),
                          [{"doomed_id": row["id"]} for row in rows])
        for row in rows:
            record = shape.dump(row)
            changes = {k: [v, None] for k, v in record.items() if k not in SYSTEM_FIELDS and v is not None}
            self.events.append(service.event(entity, "deleted", row["id"], record, changes, self.at))
            self.audits.append(audit_row(self.at, service.actor_id, "delete", entity.name, row["id"],
                                         row["version"], changes))
