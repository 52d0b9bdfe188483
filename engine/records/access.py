"""What the actor may do with a record, asked before a screen offers it: the same check a
write makes (`Sharing.require_edit`), without writing, so a screen does not offer an edit or
a workflow step the engine would refuse."""
from __future__ import annotations

from engine.errors import Forbidden
from engine.records.inputs import record_id_of as _record_id


class AccessReads:
    """The record service's `may_edit`."""

    def may_edit(self, entity_name, record_id) -> bool:
        """True when the actor may change the record; False when it may only read it
        (NotFound, as for a read, when it may not even read it)."""
        entity, _table, _shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        with self.storage.connect() as conn:
            try:
                self.sharing.require_edit(conn, entity, record_id)
            except Forbidden:
                return False
        return True
