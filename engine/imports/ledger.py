"""An import run's own records, row after row: the records its rows create (`created`,
with their ids once written: `ids`, `ours`) and the stored records its rows update, as
they were before the run (`before`) and what the rows so far change of them (`planned`).

The planner's parts read them from here — its key (`keys`), unique values (`unique`),
duplicate rules (`duplicates`) and the writer (`writing`) — so that each compares a row
with the records as the earlier rows leave them, and never with the run's own records
as stored records: the dry run has not written them and the real run has. A resumed run
rebuilds them from its checkpoints (`resume`)."""
from __future__ import annotations

from sqlalchemy import select

from engine.in_lists import in_lists


class Ledger:
    def __init__(self, planner):
        self.planner = planner
        self.ours: set = set()  # ids this run created
        self.created: dict = {}  # row -> the values its create sets (and later rows' updates of it)
        self.ids: dict = {}  # row -> the id of the record it created (a real run, once written)
        self.before: dict = {}  # id -> a stored record a row updates, as it was before the run
        self.planned: dict = {}  # id -> what the rows so far change of that record (later rows change from it)
        key = planner.options.key  # its lookups are `engine.imports.keys`
        self._indexed = tuple(f.name for f in planner.entity.fields if f.unique and f.name != key)
        self._held: dict = {name: {} for name in self._indexed}  # field -> value -> ids of those records

    @property
    def mine(self) -> set:
        """The ids of the records the run created or updates: never a stored record to
        compare a row with (the ledger has them as the rows leave them)."""
        return self.ours | set(self.before)

    def create(self, row: int, values: dict) -> None:
        """Row `row` stays a create of a record with `values`."""
        self.created[row] = dict(values)

    def update(self, base: dict, changes: dict) -> None:
        """A row's update of the stored record `base` (as it was before the run) is kept
        with `changes`: later rows change it from there."""
        self.remember(base)
        self.planned.setdefault(base["id"], {}).update(changes)

    def update_row(self, row: int, changes: dict) -> dict:
        """A row's update of the record row `row` creates is kept with `changes`; that
        record's values as the rows so far leave them."""
        self.created[row] = values = {**self.created[row], **changes}
        return values

    def remember(self, record: dict) -> None:
        """`record` (stored, as it was before the run) is updated by a row: its unique
        values are looked up as they were (`holding`)."""
        if record["id"] not in self.before:
            self.before[record["id"]] = record
            for name in self._indexed:
                value = record[name]
                if value is not None:
                    self._held[name].setdefault(value, []).append(record["id"])

    def holding(self, name: str, value) -> list:
        """The ids of the records rows update whose unique field `name` (not the key)
        held `value` before the run."""
        return self._held.get(name, {}).get(value, [])

    def resume(self, conn, rows: list, ids: list, before: dict) -> dict:
        """A resumed run: the rows its committed chunks created (`rows` with their `ids`)
        and the stored records they updated as they were before the run (`before`: {id:
        {field: value before}}, the fields the run changed). Returns {id: record} of those
        stored records as the chunks left them."""
        current = self.records(conn, sorted(before))
        for record_id, record in current.items():
            self.remember({**record, **before[record_id]})
            self.planned[record_id] = {name: record[name] for name in before[record_id]}
        records = self.records(conn, sorted(ids))
        fields = [f.name for f in self.planner.entity.fields]
        for row, record_id in sorted(zip(rows, ids)):
            self.ids[row] = record_id
            if record_id in records:
                self.created[row] = {name: records[record_id][name] for name in fields}
        return current

    def records(self, conn, ids) -> dict:
        """{id: record} of `ids`, a record a row updates as it was before the run."""
        table, shape = self.planner.table, self.planner.shape
        found = {i: self.before[i] for i in ids if i in self.before}
        ids = [i for i in ids if i not in found]
        for some in in_lists(ids):
            for row in conn.execute(select(table).where(table.c.id.in_(some))).mappings():
                found[row["id"]] = shape.dump(row)
        return found
