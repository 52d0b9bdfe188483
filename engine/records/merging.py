"""Merging records of one entity into a survivor, and undoing a merge (reading merges:
`merge_reads`).

A merge is one transaction of named steps: every reference of every entity to a loser is
re-pointed to the survivor (each re-pointed record gets a new version), the losers are
deleted, the survivor takes the winning values (`merge_plan`), and a `loom_merges` row
keeps what the merge changed. The actor needs the update right on the survivor and the
delete right on the losers (roles and sharing, as for an update and a delete). The
survivor's audit trail gets ONE entry (`merge`, its field changes) and the outbox ONE
event (`record.merged`; `extra`: `merge_id`, `losers` and the re-pointed references per
`entity.field`); each re-pointed record an `update` row and a `record.updated` event, each
loser a `delete` row and a `record.deleted` event, marked with the merge (`MERGE_KEY`).
The losers' own audit rows stay; `merged_into` names them for the survivor's timeline.

Undo is all or nothing, with the same rights: the survivor takes back the values the
merge replaced, the losers come back with their ids, values and versions, and the
re-pointed references point at them again — unless a later change would be overwritten
(the survivor's merged fields changed, a re-pointed record deleted or pointing elsewhere,
the survivor gone): then it is refused with 409 `merge_conflict`, each record and field in
the details, and nothing changes. One audit entry (`unmerge`) and one event
(`record.unmerged`) for the undo too, and the reverse rows and events for the records it
points back and brings back (`UNMERGE_KEY`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engine.crypto.copies import Copies
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.events import RecordEvent
from engine.records.bulk_rows import Rows, insert_all
from engine.records.dump import SYSTEM_FIELDS
from engine.records.inputs import record_id_of
from engine.records.integrity import check_references, explain_integrity_error
from engine.records.merge_plan import MergePlan, Repoint, merge_request, references, unique_conflicts, winners
from engine.records.pinning import one_version
from engine.records.search_index import searchable_fields
from engine.records.sharing import refuse
from engine.records.writes import audit_row, utcnow
from engine.systables import loom_table
from engine.timefmt import iso_utc

CHUNK = 1000
MERGE_KEY = "_merge"  # in the audit changes of the records a merge re-pointed or deleted: its id
UNMERGE_KEY = "_unmerge"  # ... and of those its undo re-pointed back or brought back
MERGED_INTO_KEY = "_merged_into"  # in a loser's `delete` audit row: the survivor
STAMPS = ("created_at", "updated_at")


class MergeWrites:
    """The record service's merges: `merge`, `undo_merge`, `get_merge`, `merged_into`."""

    # -- merging ------------------------------------------------------------------------
    @one_version
    def merge(self, entity_name, survivor, losers, fields=None, dry_run=False) -> dict:
        """Merge `losers` (ids) into `survivor`; `fields` names winners (field -> record id
        or {"value": …}). With `dry_run`, what it would do, nothing written."""
        entity, table, shape = self._entity(entity_name)
        self.permissions.require(entity, "update")
        self.permissions.require(entity, "delete")
        state_field = self._state_field(entity)
        request = merge_request(entity, survivor, losers, fields, state_field)
        self.permissions.check_write(entity, request.choices)
        values = {}
        try:
            with self._write() as conn:
                plan, values = self._merge_plan(conn, entity, table, shape, request, state_field)
                if dry_run:
                    return self._masked_preview(entity, plan.preview())
                if plan.conflicts:
                    raise Conflict(f"merging would break a unique index: {plan.conflicts[0]['message']}",
                                   details=plan.conflicts, code="merge_conflict")
                events, merge = self._merge_steps(conn, entity, table, shape, plan, values)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [values], exc,
                                          record_id=request.survivor) from None
        for event in events:
            self.hooks.after_commit(event)
        return {**self._merge_json(entity, merge), "record": self.answer(entity, event.record)}

    def _masked_preview(self, entity, preview: dict) -> dict:
        """The preview as the actor may read it: hidden fields left out, personal data masked."""
        values = self.masking.record(entity, {name: w["value"] for name, w in preview["winners"].items()})
        winners = {name: {**w, "value": values[name]} for name, w in preview["winners"].items()}
        return {**preview, "winners": self.permissions.strip(entity, winners),
                "changes": self.masking.changes(entity, self.permissions.strip(entity, preview["changes"]))}

    def _state_field(self, entity):
        workflow = self._workflow(entity)
        return workflow.field if workflow is not None else None

    def _merge_plan(self, conn, entity, table, shape, request, state_field):
        """The plan (`merge_plan.MergePlan`) and the survivor's new values, loaded."""
        survivor = shape.dump(self._editable(conn, entity, table, request.survivor, None))
        losers = [shape.dump(self._editable(conn, entity, table, loser, None)) for loser in request.losers]
        won = {name: w for name, w in winners(entity, state_field, survivor, losers, request.choices).items()
               if self.permissions.access(entity, name) == "edit"}
        proposed = {name: w["value"] for name, w in won.items() if w["value"] != survivor[name]}
        values = self._load(entity, self.metadata.update_schema(entity.name, readonly=True), proposed, partial=True)
        dumped = shape.dump_values(values)
        changes = {name: [survivor[name], value] for name, value in dumped.items() if value != survivor[name]}
        values = {name: values[name] for name in changes}
        for name, winner in won.items():
            winner["value"] = dumped.get(name, winner["value"])
        refuse(entity, self.sharing.refused(entity, values))
        given = {name: values[name] for name, (kind, _) in request.choices.items() if kind == "value" and name in values}
        check_references(conn, self.metadata, entity, [given], self.sharing)  # a value typed in: as an update checks it
        self._require_conditions(entity, {**survivor, **{k: new for k, (_, new) in changes.items()}})
        repoints = references(conn, self.metadata, entity.name, survivor["id"], request.losers)
        plan = MergePlan(entity.name, survivor, losers, won, changes, repoints,
                         unique_conflicts(conn, self.metadata, survivor["id"], repoints))
        return plan, values

    def _merge_steps(self, conn, entity, table, shape, plan, values):
        at = utcnow()
        survivor_id = plan.survivor["id"]
        merges = loom_table(self.storage.schema, "loom_merges")
        loser_ids = [r["id"] for r in plan.losers]
        merge_id = conn.execute(merges.insert().returning(merges.c.id), {
            "at": at, "actor_id": self.actor_id, "entity": entity.name, "survivor_id": survivor_id,
            "losers": loser_ids, "undo": {}}).scalar_one()
        mark = {MERGE_KEY: [None, merge_id]}
        events, audits = [], []
        for repoint in plan.references:
            for loser, ids in repoint.records.items():
                self._point(conn, repoint, ids, survivor_id, at)
                self._pointed(conn, repoint, ids, int(loser), survivor_id, mark, at, events, audits)
        conn.execute(table.delete().where(table.c.id.in_(loser_ids)))
        for loser in plan.losers:
            gone = {**mark, MERGED_INTO_KEY: [None, survivor_id]}
            audits.append(audit_row(at, self.actor_id, "delete", entity.name, loser["id"], loser["version"], gone))
            events.append(RecordEvent(self.tenant, entity.name, "deleted", loser["id"], loser, {}, self.actor_email,
                                      extra={"merge_id": merge_id, "merged_into": survivor_id}, at=at))
        version = plan.survivor["version"] + 1
        new_columns = {**shape.to_columns(values), "version": version, "updated_at": at,
                       "updated_by": self.actor_id}
        old = self._fetch(conn, table, survivor_id)
        conn.execute(table.update().where(table.c.id == survivor_id).values(new_columns))
        extra = {"merge_id": merge_id, "losers": loser_ids,
                 "references": {f"{r.entity}.{r.field}": r.count for r in plan.references}}
        event = RecordEvent(self.tenant, entity.name, "merged", survivor_id, shape.dump({**old, **new_columns}),
                            plan.changes, self.actor_email, extra=extra, at=at)
        audit = audit_row(at, self.actor_id, "merge", entity.name, survivor_id, version, plan.changes)
        *others, event = self._finish(conn, [*events, event], [*audits, audit], at)
        after = {name: event.record[name] for name in event.changes}
        undo = {"before": {name: old for name, (old, _new) in plan.changes.items()}, "after": after,
                "losers": plan.losers, "references": [r.to_dict() for r in plan.references]}
        conn.execute(merges.update().where(merges.c.id == merge_id).values(undo=self._sealed(entity, undo)))
        self._queue_search(conn, entity, loser_ids)
        merge = conn.execute(select(merges).where(merges.c.id == merge_id)).mappings().one()
        return [*others, event], merge

    def _pointed(self, conn, repoint, ids, old, new, mark, at, events, audits) -> None:
        """An `update` audit row and a `record.updated` event for each record `_point` just
        re-pointed from `old` to `new`, marked with the merge (or its undo) that did it."""
        ref_table, ref_shape = self.metadata.tables[repoint.entity], self.metadata.shape(repoint.entity)  # as _point
        merge_id = next(iter(mark.values()))[1]
        for start in range(0, len(ids), CHUNK):
            for row in conn.execute(select(ref_table).where(ref_table.c.id.in_(ids[start:start + CHUNK]))).mappings():
                record = ref_shape.dump(row)
                changes = {repoint.field: [old, new]}
                audits.append(audit_row(at, self.actor_id, "update", repoint.entity, record["id"], record["version"],
                                        {**changes, **mark}))
                events.append(RecordEvent(self.tenant, repoint.entity, "updated", record["id"], record, changes,
                                          self.actor_email, extra={"merge_id": merge_id, **(
                                              {"undo": True} if UNMERGE_KEY in mark else {})}, at=at))

    def _point(self, conn, repoint, ids, target, at) -> None:
        """Point `repoint.field` of the records `ids` at `target`, one new version each."""
        table = self.metadata.tables[repoint.entity]
        for start in range(0, len(ids), CHUNK):
            conn.execute(update(table).where(table.c.id.in_(ids[start:start + CHUNK])).values(
                {repoint.field: target, "version": table.c.version + 1, "updated_at": at,
                 "updated_by": self.actor_id}))

    def _queue_search(self, conn, entity, ids) -> None:
        """The search index follows the records a merge or its undo removed or brought back."""
        if searchable_fields(entity):
            insert_all(conn, [Rows(loom_table(self.storage.schema, "loom_search_queue"), ("entity", "record_id"),
                                   [(entity.name, record_id) for record_id in ids], packed=True)])

    # -- undoing ------------------------------------------------------------------------
    @one_version
    def undo_merge(self, merge_id) -> dict:
        """Undo merge `merge_id`, all or nothing (409 `merge_conflict` naming what a later
        change would lose)."""
        merge_id = record_id_of(merge_id, "merge", "merge_not_found")
        try:
            with self._write() as conn:
                merge = self._merge_row(conn, merge_id, lock=True)
                entity, table, shape = self._entity(merge["entity"])
                self.permissions.require(entity, "update")
                self.permissions.require(entity, "delete")
                if merge["undone_at"] is not None:
                    raise Conflict(f"merge {merge_id} was undone already", code="merge_undone",
                                   details=[{"field": "merge", "message": f"undone at {iso_utc(merge['undone_at'])}"}])
                if "erased_at" in (merge["undo"] or {}):
                    raise Conflict(f"merge {merge_id} can no longer be undone: an erasure of personal data "
                                   f"removed what it kept to undo itself", code="merge_erased",
                                   details=[{"field": "merge", "message": f"erased at {merge['undo']['erased_at']}"}])
                events, merge = self._undo_steps(conn, entity, table, shape, merge)
        except IntegrityError as exc:
            raise Conflict(f"merge {merge_id} cannot be undone: a record it would restore collides with "
                           f"a later one ({type(exc.orig).__name__})", code="merge_conflict") from None
        for event in events:
            self.hooks.after_commit(event)
        return {**self._merge_json(entity, merge), "record": self.answer(entity, event.record)}

    def _undo_steps(self, conn, entity, table, shape, merge):
        undo, survivor_id = self._opened(merge["undo"]), merge["survivor_id"]
        old = self._fetch(conn, table, survivor_id, lock=True)
        if old is None:
            raise Conflict(f"merge {merge['id']} cannot be undone: {entity.name} {survivor_id}, the survivor, "
                           "was deleted or merged since", code="merge_conflict",
                           details=[{"field": f"{entity.name}.id", "message": f"{entity.name} {survivor_id} is gone"}])
        self.sharing.require_edit(conn, entity, survivor_id)
        before = shape.dump(old)
        conflicts = [{"field": f"{entity.name}.{name}",
                      "message": f"{entity.name} {survivor_id}: {name} changed after the merge"}
                     for name, value in undo["after"].items() if before.get(name) != value]
        conflicts += self._reference_conflicts(conn, survivor_id, undo["references"])
        if conflicts:
            raise Conflict(f"merge {merge['id']} cannot be undone: {conflicts[0]['message']} "
                           f"({len(conflicts)} conflict(s); nothing was changed)",
                           details=conflicts, code="merge_conflict")
        at = utcnow()
        loser_ids = [loser["id"] for loser in undo["losers"]]
        # References among the merged records wait until every loser is back (foreign keys).
        later = {}
        values = self._restored(entity, self._put_aside(entity, survivor_id, undo["before"], loser_ids, later))
        new_columns = {**shape.to_columns(values), "version": old["version"] + 1, "updated_at": at,
                       "updated_by": self.actor_id}
        conn.execute(table.update().where(table.c.id == survivor_id).values(new_columns))
        for loser in undo["losers"]:
            kept = self._put_aside(entity, loser["id"], loser, loser_ids, later)
            conn.execute(table.insert(), self._restored_row(entity, shape, kept))
        for record_id, references in later.items():
            conn.execute(table.update().where(table.c.id == record_id).values(references))
            if record_id == survivor_id:
                new_columns.update(references)
        mark = {UNMERGE_KEY: [None, merge["id"]]}
        events, audits = [], []
        for loser in undo["losers"]:
            back = shape.dump(self._fetch(conn, table, loser["id"]))
            audits.append(audit_row(at, self.actor_id, "create", entity.name, loser["id"], back["version"], mark))
            events.append(RecordEvent(self.tenant, entity.name, "created", loser["id"], back, {}, self.actor_email,
                                      extra={"merge_id": merge["id"], "undo": True}, at=at))
        for ref in undo["references"]:
            repoint = Repoint(ref["entity"], ref["field"], {})
            for loser, ids in ref["records"].items():
                self._point(conn, repoint, ids, int(loser), at)
                self._pointed(conn, repoint, ids, survivor_id, int(loser), mark, at, events, audits)
        merges = loom_table(self.storage.schema, "loom_merges")
        conn.execute(merges.update().where(merges.c.id == merge["id"]).values(undone_at=at,
                                                                               undone_by=self.actor_id))
        changes = {name: [undo["after"][name], value] for name, value in undo["before"].items()}
        extra = {"merge_id": merge["id"], "losers": loser_ids}
        event = RecordEvent(self.tenant, entity.name, "unmerged", survivor_id, shape.dump({**old, **new_columns}),
                            changes, self.actor_email, extra=extra, at=at)
        audit = audit_row(at, self.actor_id, "unmerge", entity.name, survivor_id, new_columns["version"], changes)
        events = self._finish(conn, [*events, event], [*audits, audit], at)
        self._queue_search(conn, entity, loser_ids)
        return events, conn.execute(select(merges).where(merges.c.id == merge["id"])).mappings().one()

    @staticmethod
    def _put_aside(entity, record_id, values, loser_ids, later) -> dict:
        """`values` without the references to the losers among them, which go to `later`."""
        kept = dict(values)
        for f in entity.fields:
            if (f.base_type or f.type) == "reference" and f.to == entity.name and kept.get(f.name) in loser_ids:
                later.setdefault(record_id, {})[f.name] = kept[f.name]
                kept[f.name] = None
        return kept

    def _reference_conflicts(self, conn, survivor_id, refs) -> list:
        conflicts = []
        for ref in refs:
            if self.metadata.entity(ref["entity"]) is None or \
                    ref["field"] not in self.metadata.tables[ref["entity"]].c:
                conflicts.append({"field": f"{ref['entity']}.{ref['field']}", "message": "no longer in the metadata"})
                continue
            table = self.metadata.tables[ref["entity"]]
            ids = [i for group in ref["records"].values() for i in group]
            now = {}
            for start in range(0, len(ids), CHUNK):
                now.update(conn.execute(select(table.c.id, table.c[ref["field"]]).where(
                    table.c.id.in_(ids[start:start + CHUNK]))).all())
            for record_id in ids:
                if record_id not in now:
                    conflicts.append({"field": f"{ref['entity']}.{ref['field']}",
                                      "message": f"{ref['entity']} {record_id} was deleted after the merge"})
                elif now[record_id] != survivor_id:
                    conflicts.append({"field": f"{ref['entity']}.{ref['field']}", "message":
                                      f"{ref['entity']} {record_id}: {ref['field']} changed after the merge"})
        return conflicts

    def _restored(self, entity, values: dict) -> dict:
        """Field values kept as JSON, loaded back (a value the metadata no longer accepts is a conflict)."""
        try:
            return self._load(entity, self.metadata.update_schema(entity.name, readonly=True), dict(values),
                              partial=True)
        except ValidationFailed as exc:
            raise Conflict(f"a value the merge kept is no longer valid for {entity.name}: {exc}",
                           details=exc.details, code="merge_conflict") from None

    def _restored_row(self, entity, shape, record: dict) -> dict:
        fields = {f.name: record[f.name] for f in entity.fields if f.name in record}
        row = {**shape.empty_columns, **shape.to_columns(self._restored(entity, fields))}
        for name in SYSTEM_FIELDS:
            value = record.get(name)
            row[name] = datetime.fromisoformat(value) if name in STAMPS and value else value
        return row

    def _merge_row(self, conn, merge_id, lock=False):
        merges = loom_table(self.storage.schema, "loom_merges")
        stmt = select(merges).where(merges.c.id == merge_id)
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise NotFound(f"no merge {merge_id}", code="merge_not_found")
        return row

    def _sealed(self, entity, undo: dict) -> dict:
        """What a merge keeps to undo itself, with the values of fields encrypted at rest
        sealed as in the audit trail (`engine.crypto.copies`)."""
        copies = Copies(self.metadata)
        return {**undo, "before": copies.record(entity.name, undo["before"]),
                "after": copies.record(entity.name, undo["after"]),
                "losers": [copies.record(entity.name, loser) for loser in undo["losers"]]}

    def _opened(self, undo) -> dict:
        """`_sealed`'s undo in clear (as it was: an erasure may have emptied it)."""
        if not undo or "before" not in undo:
            return undo or {}
        copies = Copies(self.metadata)
        return {**undo, "before": copies.opened_record(undo["before"]), "after": copies.opened_record(undo["after"]),
                "losers": [copies.opened_record(loser) for loser in undo["losers"]]}
