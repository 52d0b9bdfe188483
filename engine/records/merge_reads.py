"""Reading merges: one merge as the API answers it, and the merges that stand into a
record with the losers the reader may see (the survivor's timeline). What a merge kept
comes from `merging.MergeWrites` (`_merge_row`, `_opened`, `_restored_row`), beside which
this is mixed into the record service."""
from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.sql.util import ClauseAdapter

from engine.errors import Conflict, NotFound
from engine.records.inputs import record_id_of
from engine.records.sharing import restricted
from engine.systables import loom_table
from engine.timefmt import iso_utc


class MergeReads:
    """The record service's reads of merges (mixed into `RecordService`)."""

    def get_merge(self, merge_id) -> dict:
        """A merge as the API answers it (404 unless the actor may read its entity and, where
        sharing applies, its survivor)."""
        merge_id = record_id_of(merge_id, "merge", "merge_not_found")
        with self.storage.connect() as conn:
            merge = self._merge_row(conn, merge_id)
        entity, _table, _shape = self._entity(merge["entity"])
        self.permissions.require(entity, "read")
        if restricted(entity, self.actor):
            try:
                self.get_clear(entity.name, merge["survivor_id"], "id")
            except NotFound:
                raise NotFound(f"no merge {merge_id}", code="merge_not_found") from None
        return self._merge_json(entity, merge)

    def merged_into(self, entity_name, record_id) -> list[dict]:
        """The merges into a record that stand (not undone), newest first: their ids and the
        losers' records as they were, as the actor may read them (for the survivor's
        timeline). A loser the actor could not read (the entity's sharing, judged on the
        loser's values as the merge kept them) is left out: `hidden` counts those."""
        entity, table, shape = self._entity(entity_name)
        merges = loom_table(self.storage.schema, "loom_merges")
        with self.storage.connect() as conn:
            rows = conn.execute(select(merges).where(
                merges.c.entity == entity_name, merges.c.survivor_id == record_id,
                merges.c.undone_at.is_(None)).order_by(merges.c.id.desc())).mappings().all()
            out = []
            for r in rows:
                losers = self._opened(r["undo"]).get("losers", [])
                readable = [loser for loser in losers if self._could_read(conn, entity, table, shape, loser)]
                out.append({"id": r["id"], "at": iso_utc(r["at"]),
                            "losers": [self.answer(entity, loser) for loser in readable],
                            "hidden": len(losers) - len(readable)})
        return out

    def _could_read(self, conn, entity, table, shape, loser: dict) -> bool:
        """Whether the actor's sharing lets them read `loser` (a record as a merge kept it):
        the entity's read condition, asked of a one-row select of its values."""
        clause = self.sharing.read_clause(entity)
        if clause is None:
            return True
        try:
            row = self._restored_row(entity, shape, loser)
        except Conflict:
            return False
        kept = select(*[literal(row.get(c.name), type_=c.type).label(c.name) for c in table.c]).subquery()
        adapter = ClauseAdapter(kept, include_fn=lambda element: getattr(element, "table", None) is table,
                                adapt_on_names=True)
        return conn.execute(select(literal(1)).select_from(kept).where(adapter.traverse(clause))).first() is not None

    def _merge_json(self, entity, merge) -> dict:
        undo = self._opened(merge["undo"])
        changes = {name: [old, undo.get("after", {}).get(name)] for name, old in undo.get("before", {}).items()}
        refs: dict = {}
        for ref in undo.get("references", []):
            refs.setdefault(ref["entity"], {})[ref["field"]] = ref["records"]
        return {"id": merge["id"], "entity": merge["entity"], "survivor": merge["survivor_id"],
                "losers": merge["losers"], "at": iso_utc(merge["at"]), "actor_id": merge["actor_id"],
                "undone_at": iso_utc(merge["undone_at"]), "undone_by": merge["undone_by"],
                "changes": self.masking.changes(entity, self.permissions.strip(entity, changes)), "references": refs}

