"""A create the plan keeps meets the sharing field rules (`{"field": ..., "user": ...}`) as
the record service's batch path (`create_many`) judges it: each field-rule field the row
leaves empty is set to the importer's attribute when the importer has exactly one value
for it (`Sharing.fill`), and a value outside what the rules share with the importer is
refused (`not_shared`, with the record service's message, on the field's column) — in
the dry run as in the real run, whatever the chunk size. A row a duplicate rule turns
into an update gives its own values only: an update fills nothing."""
from __future__ import annotations

from engine.records.sharing import NotShared, outside, restricted


class FieldRules:
    def __init__(self, planner):
        self.planner = planner
        self.sharing = planner.service.sharing
        self.restricted = restricted(planner.entity, self.sharing.actor)
        self.filled: dict = {}  # this chunk: row -> the fields its create took from the importer

    def fill(self, plan, values: dict) -> dict:
        """`values` (a row's converted cells) with the empty field-rule fields filled."""
        if not self.restricted:
            return values
        full = self.sharing.fill(self.planner.entity, values)
        self.filled[plan.row] = set(full) - set(values)
        return full

    def outside(self, loaded: dict) -> list[dict]:
        """The problems of a create's loaded values the rules do not share with the importer."""
        if not self.restricted:
            return []
        entity = self.planner.entity
        return [self.planner._problem(p["field"], NotShared.code, outside(entity))
                for p in self.sharing.refused(entity, loaded)]

    def given(self, plan) -> dict:
        """What a planned create's row gives as an update: its values, without the filled ones."""
        filled = self.filled.get(plan.row, ())
        return {k: v for k, v in plan.data.items() if k not in filled}
