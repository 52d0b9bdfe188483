"""The record service's workflow state field: a record of a workflow entity starts in the
initial state, its state changes only through `write_state` (the one write a transition
makes), and the fields a step needs are written with the step, in its transaction."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict, NotFound
from engine.events import RecordEvent
from engine.problem_codes import problem
from engine.records.inputs import expected_version_of, record_id_of as _record_id
from engine.records.integrity import explain_integrity_error
from engine.records.writes import audit_row, utcnow


class StateWrites:
    """The record service's workflow state: `write_state` and the checks every write makes."""

    def _workflow(self, entity):
        return self.metadata.package.workflow_for(entity.name)

    def _start_state(self, entity, values) -> dict | None:
        """A record of a workflow entity starts in the workflow's initial state."""
        workflow = self._workflow(entity)
        if workflow is None:
            return None
        given = values.get(workflow.field)
        if given is not None and given != workflow.initial:
            return problem(workflow.field, "starts_at", f"starts at {workflow.initial!r}; it changes only through "
                           f"the workflow's transitions", state=workflow.initial).to_dict()
        values[workflow.field] = workflow.initial
        return None

    def _refuse_state_change(self, entity, changes) -> None:
        workflow = self._workflow(entity)
        if workflow is not None and workflow.field in changes:
            raise Conflict(
                f"{entity.name}.{workflow.field} changes only through a transition: "
                f"POST .../records/{entity.name}/<id>/transitions/<name>",
                details=[problem(workflow.field, "set_by_workflow", "set by the workflow")],
                code="state_by_transition")

    def write_state(self, entity_name, record_id, to_state, expected_version=None, extra=None,
                    on_write=None, effect_key=None, values=None):
        """Move a workflow record to `to_state`: the one write that may change a state
        field. `on_write(conn, before, after, at)` adds rows in the same transaction
        (the transition log, SLA timers); the event is `record.transitioned`. `values`
        (fields the step needs filled, as an update's body) are written first, in the same
        transaction: the fields and the step commit together or not at all. The caller
        chose the transition under this service's metadata, so a moved version is not
        retried here: it is `MetadataChanged`."""
        entity, table, shape = self._entity(entity_name)
        workflow = self._workflow(entity)
        if workflow is None:
            raise NotFound(f"{entity_name} has no workflow", code="no_workflow")
        record_id = _record_id(record_id, entity_name)
        expected_version = expected_version_of(None, expected_version)
        loaded = self._update_values(entity, values, None)[0] if values else None
        filled = None
        try:
            with self._write() as conn:
                if not self._claim(conn, effect_key):
                    return None
                if loaded:
                    _, filled = self._change(conn, entity, table, shape, record_id, loaded, expected_version)
                    expected_version = None  # checked by the fill, whose row this transaction holds
                event = self._step(conn, entity, table, shape, workflow, record_id, to_state,
                                   expected_version, extra, on_write)
        except IntegrityError as exc:
            raise explain_integrity_error(self.storage, self.metadata, entity, [loaded or {}], exc,
                                          record_id=record_id) from None
        for done in (filled, event):
            if done is not None:
                self.hooks.after_commit(done)
        return self.answer(entity, event.record)

    def _step(self, conn, entity, table, shape, workflow, record_id, to_state, expected_version, extra, on_write):
        """The state write of `write_state` in `conn`: its event, finished."""
        old = self._editable(conn, entity, table, record_id, expected_version)
        before = shape.dump(old)
        at = utcnow()
        new_columns = {workflow.field: to_state, "version": old["version"] + 1,
                       "updated_at": at, "updated_by": self.actor_id}
        self._require_conditions(entity, {**before, workflow.field: to_state})
        conn.execute(table.update().where(table.c.id == record_id).values(new_columns))
        record = shape.dump({**old, **new_columns})
        changes = {workflow.field: [before[workflow.field], to_state]}
        event = RecordEvent(self.tenant, entity.name, "transitioned", record_id, record, changes,
                            self.actor_email, dict(extra or {}), at)
        if on_write is not None:
            on_write(conn, before, record, at)
        audit = audit_row(at, self.actor_id, "transition", entity.name, record_id,
                          new_columns["version"], changes)
        [event] = self._finish(conn, [event], [audit], at)
        return event

