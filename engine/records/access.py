"""Asked of a record before writing it: whether the actor may change it (the same checks a
write makes: its roles' `update` right and `Sharing.require_edit`), so a screen does not offer an edit the engine would
refuse; and how it would read with some fields filled, so a workflow step is checked on
the fields it asks for before it writes them."""
from __future__ import annotations

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.records.inputs import record_id_of as _record_id


class AccessReads:
    """The record service's `may_edit`, `editable_among`, `filled` and `why`."""

    def why(self, entity_name, field_name=None, record_id=None) -> dict:
        """Why this service's actor may (or may not) do what with `entity_name`'s records:
        each right with the roles and permission sets that give it; with `field_name`, the
        field's access and who gives it; with `record_id`, the sharing terms that let the
        actor read and edit that record (for an admin's "why can they see this?")."""
        entity = self.metadata.entity(entity_name)
        if entity is None:
            raise NotFound(f"no entity {str(entity_name)[:60]!r}", code="entity_not_found")
        if field_name is not None and entity.field(field_name) is None:
            raise ValidationFailed(f"{entity.name} has no field {str(field_name)[:60]!r}",
                                   details=[{"field": "field", "message": "unknown field"}])
        out = self.permissions.explain(entity, field_name)
        if record_id is not None:
            record_id = _record_id(record_id, entity.name)
            with self.storage.connect() as conn:
                if self._fetch(conn, self.metadata.tables[entity.name], record_id) is None:
                    raise NotFound(f"no {entity.name} record {record_id}", code="record_not_found")
                sharing = self.sharing.explain(conn, entity, record_id)
            readable = "read" in self.permissions.rights(entity.name)
            out["record"] = {"id": record_id, "may_read": readable and bool(sharing["read"]),
                             "may_edit": readable and "update" in self.permissions.rights(entity.name)
                             and bool(sharing["edit"]), "sharing": sharing}
        return out

    def may_edit(self, entity_name, record_id) -> bool:
        """True when the actor may change the record; False when it may only read it
        (NotFound, as for a read, when it may not even read it)."""
        entity, _table, _shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        if not self.permissions.may(entity.name, "update"):
            return False
        with self.storage.connect() as conn:
            try:
                self.sharing.require_edit(conn, entity, record_id)
            except Forbidden:
                return False
        return True

    def editable_among(self, entity_name, record_ids) -> set[int]:
        """The ids among `record_ids` of records the actor may change, asked in one query
        (a board asks it of a page of cards); an id it may only read, or not read, or
        that is no record, is left out."""
        entity, _table, _shape = self._entity(entity_name)
        ids = sorted({_record_id(i, entity_name) for i in record_ids})
        if not ids or not self.permissions.may(entity.name, "update"):
            return set()
        with self.storage.connect() as conn:
            return self.sharing.editable_among(conn, entity, ids)

    def filled(self, entity_name, record: dict, data: dict) -> dict:
        """`record` as it would read with the fields of `data` (an update's body) written:
        checked and converted as the update would (ValidationFailed as it would), written
        nowhere — what a workflow step's guard is evaluated on before the step writes both."""
        entity, _table, shape = self._entity(entity_name)
        values, _version = self._update_values(entity, data, None)
        self._refuse_state_change(entity, values)  # only the step itself moves the state
        return {**record, **shape.dump_values(values)}
