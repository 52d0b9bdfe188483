"""Duplicate rules applied to the rows an import would create: each is matched against
the records that existed before the run (`engine.dedup.find_duplicates`; the run's own
new records are left out) and against the file's earlier rows that would be created
(`engine.dedup.among`: row 17 is a duplicate of row 3), so the real run decides as its
dry run did whatever the chunk size. What a match does is the import's `on_duplicate` —
skip the row, update the best match (a stored record, or the record an earlier row
creates), or create anyway — by default the rule's own: a blocking rule skips, a warning
creates. A blocking rule that may not be overridden refuses the row when asked to create
anyway. Every match is reported with its row: the record (or the earlier row), the rule,
the score and the reasons — a stored record the importer may not read without which one
or why (`engine.dedup.entry.as_seen`).

A stored record an earlier row updates is compared with the later rows as it was before
the run (`before`): the real run, whose earlier chunks have written that update, decides
as its dry run, which wrote nothing, whatever the chunk size. A later row's update of it
is changed from what the earlier rows planned (`planned`), so the file's last word wins."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from engine.dedup import find_duplicates
from engine.dedup.among import Pool, ordered
from engine.dedup.entry import as_seen, entry_rules

LOOKUP = 500


class Matcher:
    def __init__(self, planner, on_duplicate):
        self.planner = planner
        self.on_duplicate = on_duplicate
        service = planner.service
        self.rules = entry_rules(service.metadata, planner.entity)
        self.labels = {r.name: r.label for r in self.rules}
        self.ours: set = set()  # ids this run created: never a duplicate of its rows (the pool's instead)
        self.pool = Pool(self.rules)  # the rows planned as creates so far
        self.created: dict = {}  # row -> the values its create sets (and later rows' updates of it)
        self.ids: dict = {}  # row -> the id of the record it created (a real run, once written)
        self.before: dict = {}  # id -> a stored record a row updates, as it was before the run
        self.planned: dict = {}  # id -> what the rows so far change of that record (later rows change from it)
        self.kept = Pool(self.rules)  # those records, indexed by their ids
        key = planner.options.key
        self._indexed = tuple(f.name for f in planner.entity.fields if f.unique or f.name == key)
        self._held: dict = {name: {} for name in self._indexed}  # field -> value -> ids of those records

    def apply(self, conn, plans) -> None:
        """Decide about the planned creates of `plans` that match an existing record or an
        earlier row of the file."""
        creates = [p for p in plans if p.action == "create"]
        if not self.rules or not creates:
            return
        service = self.planner.service
        stored = find_duplicates(conn, service.metadata, self.planner.entity, [p.data for p in creates],
                                 exclude_ids=self.ours | set(self.before), rules=self.rules)
        updates = []
        for plan, found in zip(creates, stored):
            keys = self.pool.keys(plan.data)
            matches = ordered(found + self._updated(plan.data, keys) + self.pool.match(plan.data, keys))
            if matches:
                self._decide(plan, matches, updates)
            if plan.action == "create" and not (updates and updates[-1][0] is plan):
                self.pool.add(plan.row, plan.data, keys)
                self.created[plan.row] = dict(plan.data)
        if updates:
            records = self._records(conn, sorted({m.record_id for _, m in updates if m.record_id is not None}))
            for plan, match in updates:
                if match.record_id is not None:
                    self.planner.update_match(plan, records[match.record_id])
                else:
                    self._update_row(plan, match.row)
        self._shown(conn, creates)

    def _updated(self, data, keys) -> list:
        """The matches of `data` among the stored records rows update, as they were before the run."""
        return [replace(m, record_id=m.row, row=None) for m in self.kept.match(data, keys)] if self.before else []

    def remember(self, record: dict) -> None:
        """`record` (stored, as it was before the run) is updated by a row: later rows are
        compared with it as it was."""
        if record["id"] not in self.before:
            self.before[record["id"]] = record
            self.kept.add(record["id"], record)
            key = self.planner.options.key
            for name in self._indexed:
                value = record[name]
                if value is not None and name == key:  # the key as the batch loader loads it
                    value = self.planner.loader.load_one({name: value})[0].get(name, value)
                if value is not None:
                    self._held[name].setdefault(value, []).append(record["id"])

    def holding(self, name: str, value) -> list:
        """The ids of the records rows update whose `name` (the key, loaded, or a unique
        field) held `value` before the run."""
        return self._held.get(name, {}).get(value, [])

    def _decide(self, plan, matches, updates) -> None:
        plan.duplicates = [{**m.to_dict(), "label": self.labels[m.rule]} for m in matches]
        blocking = [m for m in matches if m.action == "block"]
        policy = self.on_duplicate or ("skip" if blocking else "create")
        if policy == "skip":
            plan.action, plan.reason, plan.record_id, plan.data = "skip", "duplicate", matches[0].record_id, None
        elif policy == "update":
            updates.append((plan, matches[0]))
        elif any(not m.overridable for m in blocking):
            rule = next(m for m in blocking if not m.overridable)
            like = f"record {rule.record_id}" if rule.record_id is not None else f"row {rule.row} of the file"
            self.planner._refuse(plan, rule.rule, "duplicate",
                                 f"looks like {like} ({'; '.join(rule.reasons)}) by a rule that may not be "
                                 "overridden")

    def _update_row(self, plan, row: int) -> None:
        """Turn a planned create into the update of the record row `row` creates."""
        values = self.created[row]
        record = {**{f.name: values.get(f.name) for f in self.planner.entity.fields}, "id": None}
        self.planner.update_match(plan, record)
        plan.of_row = row
        if plan.action == "update":
            self.created[row] = {**values, **plan.data}

    def _shown(self, conn, plans) -> None:
        """The matches as the importer may see them: a stored record they may not read
        keeps its rule, score and action but not which record or why; a row is not
        skipped as, nor updates, such a record by its id (an update of it is refused)."""
        flat = [m for p in plans for m in p.duplicates]
        if not flat:
            return
        shown = iter(as_seen(self.planner.service, conn, self.planner.entity, flat))
        for plan in plans:
            plan.duplicates = [next(shown) for _ in plan.duplicates]
            best = plan.duplicates[0] if plan.duplicates else None
            if plan.record_id is None or best is None or best["record_id"] is not None or best.get("row") is not None:
                continue
            if plan.action == "skip":
                plan.record_id = None
            elif plan.action == "update":
                self.planner._refuse(plan, best["rule"], "duplicate",
                                     "looks like a record you may not read: it cannot be updated from the file")

    def resume(self, conn, rows: list, ids: list, before: dict) -> None:
        """A resumed run: the rows its committed chunks created (`rows` with their `ids`),
        as the pool had them, and the stored records they updated as they were before the
        run (`before`: {id: {field: value before}}, the fields the run changed)."""
        for record_id, record in self._records(conn, sorted(before)).items():
            self.remember({**record, **before[record_id]})
            self.planned[record_id] = {name: record[name] for name in before[record_id]}
        records = self._records(conn, sorted(ids))
        for row, record_id in sorted(zip(rows, ids)):
            self.ids[row] = record_id
            if record_id in records:
                values = {f.name: records[record_id][f.name] for f in self.planner.entity.fields}
                self.pool.add(row, values)
                self.created[row] = values

    def _records(self, conn, ids) -> dict:
        """{id: record} of `ids`, a record a row updates as it was before the run."""
        table, shape = self.planner.table, self.planner.shape
        found = {i: self.before[i] for i in ids if i in self.before}
        ids = [i for i in ids if i not in found]
        for i in range(0, len(ids), LOOKUP):
            for row in conn.execute(select(table).where(table.c.id.in_(ids[i:i + LOOKUP]))).mappings():
                found[row["id"]] = shape.dump(row)
        return found
