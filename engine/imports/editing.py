"""What an update the plan keeps must pass that the batch loader does not check, refused
in the plan as the record service would refuse it when it is written (in the order it
checks them), so that the dry run says what the real run does: a read-only field the row
changes ("is read-only", unless the importer is the system), a record the importer may
read but not change (read-only sharing: "person 7 is shared with you to read, not to
change", `read_only`, on the key's column), a value outside what a field rule shares
with the importer (`not_shared`, on the key's column) and a workflow's state field, which
changes only through a transition ("set by the workflow", `set_by_workflow`). Which
records the importer may change is asked once per chunk for the stored records its rows
may update (`prepare`), with the record service's own sharing check
(`Sharing.editable_among`), and kept for the later chunks."""
from __future__ import annotations

from engine.in_lists import in_lists
from engine.records.sharing import NotShared, outside, restricted
from engine.schemas import READ_ONLY


class Editing:
    def __init__(self, planner):
        self.planner = planner
        service = planner.service
        self.restricted = restricted(planner.entity, service.sharing.actor)
        self.readonly = frozenset() if service.system else frozenset(f.name for f in planner.entity.fields
                                                                      if f.readonly)
        self._editable: dict = {}  # id -> whether the importer may change that record
        workflow = service.metadata.package.workflow_for(planner.entity.name)
        self.state = workflow.field if workflow is not None else None

    def prepare(self, conn, ids) -> None:
        """Ask at once which of the stored records `ids` the importer may change."""
        if not self.restricted:
            return
        wanted = sorted(set(ids) - set(self._editable))
        sharing, entity = self.planner.service.sharing, self.planner.entity
        for some in in_lists(wanted):
            editable = sharing.editable_among(conn, entity, some)
            self._editable.update((record_id, record_id in editable) for record_id in some)

    def problems(self, conn, record_id, changes: dict, loaded: dict) -> list[tuple[str, str, str]]:
        """(field, code, message) of what refuses the update of `changes` (in JSON form;
        `loaded`: the same values as the batch loader loads them, which the field rules
        compare) to the stored record `record_id` (None: a record the run creates) as it is
        written."""
        fixed = [(name, "read_only", READ_ONLY) for name in changes if name in self.readonly]
        if fixed:
            return fixed
        entity, column = self.planner.entity, self.planner.options.key or "id"
        if record_id is not None and self.restricted:
            if record_id not in self._editable:
                self.prepare(conn, [record_id])
            if not self._editable[record_id]:
                return [(column, "read_only", f"{entity.name} {record_id} is shared with you to read, not to change")]
        if self.restricted and self.planner.service.sharing.refused(entity, loaded):
            return [(column, NotShared.code, outside(entity))]
        if self.state in changes:
            return [(self.state, "set_by_workflow", "set by the workflow")]
        return []
