"""The preview of a publication: a plain, JSON-able plan of what it would do.

Each change with whether it destroys data and how many rows and stored values it
touches, every data check with its result, the records a state map would move, the
workflows and rule sets affected, and what a real publication would refuse."""
from __future__ import annotations

from sqlalchemy import func, select


def preview(conn, changes, old_pkg, new_pkg, old_tables, checks, moves, refused) -> dict:
    counter = _Counter(conn, old_tables)
    return {"changes": [_change(counter, c) for c in changes],
            "destructive": [c.target for c in changes if c.destructive],
            "checks": checks,
            "moves": moves,
            "affected": _affected(changes, old_pkg, new_pkg),
            "refused": refused}


def _change(counter, change) -> dict:
    out = {"kind": change.kind, "entity": change.entity, "field": change.field,
           "description": change.describe(), "ddl": change.needs_ddl, "destructive": change.destructive,
           "rows": counter.rows(change.entity), "values": None}
    if change.kind == "drop_state":
        out["state"], out["values"] = change.old, counter.holding(change.entity, change.field, change.old)
    elif change.field:
        out["values"] = counter.values(change.entity, change.field)
    return out


class _Counter:
    """Row and value counts of the tables as they are before the publication."""

    def __init__(self, conn, tables):
        self.conn, self.tables, self._rows = conn, tables, {}

    def rows(self, entity) -> int:
        table = self.tables.get(entity)
        if table is None:
            return 0
        if entity not in self._rows:
            self._rows[entity] = self.conn.execute(select(func.count()).select_from(table)).scalar_one()
        return self._rows[entity]

    def values(self, entity, field) -> int:
        """Rows holding a value in `field` (0 for a field the table does not have yet)."""
        table = self.tables.get(entity)
        if table is None or field not in table.c:
            return 0
        return self.conn.execute(select(func.count()).where(table.c[field].is_not(None))).scalar_one()

    def holding(self, entity, field, value) -> int:
        table = self.tables.get(entity)
        if table is None or field not in table.c:
            return 0
        return self.conn.execute(select(func.count()).where(table.c[field] == value)).scalar_one()


def _affected(changes, old_pkg, new_pkg) -> dict:
    """The workflows and rule sets over an entity the changes touch, or changed themselves."""
    entities = {c.entity for c in changes if c.entity}
    workflows, rulesets = set(), set()
    for change in changes:
        if change.kind.endswith("_workflow"):
            workflows.add((change.new or change.old).name)
        elif change.kind.endswith("_ruleset"):
            rulesets.add((change.new or change.old).get("name"))
    for package in (old_pkg, new_pkg):
        if package is None:
            continue
        workflows |= {w.name for w in package.workflows if w.entity in entities}
        rulesets |= {r.get("name") for r in package.rulesets if r.get("entity") in entities}
    return {"workflows": sorted(workflows), "rulesets": sorted(n for n in rulesets if n)}
