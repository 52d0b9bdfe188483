"""Duplicate rules applied to the rows an import would create: each is matched against
the records that existed before the run (`engine.dedup.find_duplicates`; the run's own
new records are left out, so the real run decides as its dry run did). What a match does
is the import's `on_duplicate` — skip the row, update the best match, or create anyway —
by default the rule's own: a blocking rule skips, a warning creates. A blocking rule that
may not be overridden refuses the row when asked to create anyway. Every match is
reported with its row: the record, the rule, the score and the reasons."""
from __future__ import annotations

from sqlalchemy import select

from engine.dedup import find_duplicates
from engine.dedup.entry import entry_rules

LOOKUP = 500


class Matcher:
    def __init__(self, planner, on_duplicate):
        self.planner = planner
        self.on_duplicate = on_duplicate
        service = planner.service
        self.rules = entry_rules(service.metadata, planner.entity)
        self.labels = {r.name: r.label for r in self.rules}
        self.ours: set = set()  # ids this run created: never a duplicate of its rows

    def apply(self, conn, plans) -> None:
        """Decide about the planned creates of `plans` that match an existing record."""
        creates = [p for p in plans if p.action == "create"]
        if not self.rules or not creates:
            return
        service = self.planner.service
        found = find_duplicates(conn, service.metadata, self.planner.entity, [p.data for p in creates],
                                exclude_ids=self.ours, rules=self.rules)
        updates = []
        for plan, matches in zip(creates, found):
            if not matches:
                continue
            plan.duplicates = [{**m.to_dict(), "label": self.labels[m.rule]} for m in matches]
            blocking = [m for m in matches if m.action == "block"]
            policy = self.on_duplicate or ("skip" if blocking else "create")
            if policy == "skip":
                plan.action, plan.reason, plan.record_id, plan.data = "skip", "duplicate", matches[0].record_id, None
            elif policy == "update":
                updates.append((plan, matches[0].record_id))
            elif any(not m.overridable for m in blocking):
                rule = next(m for m in blocking if not m.overridable)
                self.planner._refuse(plan, rule.rule, "duplicate",
                                     f"looks like record {rule.record_id} ({'; '.join(rule.reasons)}) by a rule "
                                     "that may not be overridden")
        if updates:
            records = self._records(conn, sorted({record_id for _, record_id in updates}))
            for plan, record_id in updates:
                self.planner.update_match(plan, records[record_id])

    def _records(self, conn, ids) -> dict:
        table, shape = self.planner.table, self.planner.shape
        found = {}
        for i in range(0, len(ids), LOOKUP):
            for row in conn.execute(select(table).where(table.c.id.in_(ids[i:i + LOOKUP]))).mappings():
                found[row["id"]] = shape.dump(row)
        return found
