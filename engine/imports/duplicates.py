"""Duplicate rules applied to the rows an import would create: each row is matched
against the existing records; what a match does is the import's `on_duplicate` (skip
the row, update the matched record, or create anyway), by default the rule's own
action (a blocking rule skips, a warning creates). The matches are reported with the
row, with their scores and reasons."""
from __future__ import annotations


class Matcher:
    def __init__(self, service, entity, on_duplicate):
        self.service, self.entity, self.on_duplicate = service, entity, on_duplicate

    def apply(self, conn, plans) -> None:
        """Mark the planned creates of `plans` that duplicate an existing record."""
