"""What an import's key (`--key`, or the entity's natural key) names, row after row: a
stored record the run has not touched, found by the key it has, or a record the run's
earlier rows create or update, found by the key those rows leave it — never by the key
it had before the run. When row 3 moves a stored record from key A to key B, a later row
with B updates that record and a later row with A names nothing (a create, checked as
every create is); a later row whose key loads to the key a row's new record was given
updates that record.

The run's own records are looked up here rather than in the database: the dry run has
not written them and the real run has (and a resumed one has written some), so both
find them by the same keys, whatever the chunk size (the run's `ledger`). A resumed run
takes them from what `Ledger.resume` rebuilt from the checkpoints (`resume`)."""
from __future__ import annotations

from sqlalchemy import select

from engine.imports.converting import empty
from engine.imports.xlsx_cells import Unreadable
from engine.in_lists import in_lists


def repeats(rows: list, index: int) -> dict:
    """{row index: the row index where its key first appears} of the rows (of a file)
    whose key (the cell at `index`) an earlier row has: refused, the key names one record."""
    first, repeated = {}, {}
    for number, row in enumerate(rows):
        cell = row[index]
        if empty(cell) or cell.__class__ is Unreadable:  # refused for what it is, not as a repeat
            continue
        value = str(cell).strip()
        if value in first:
            repeated[number] = first[value]
        else:
            first[value] = number
    return repeated


class Keys:
    def __init__(self, planner):
        self.planner = planner
        self.name = planner.options.key
        self._held: dict = {}  # loaded key -> identities of the run's records with it (("row", n) or ("record", id))
        self._of: dict = {}  # identity -> its loaded key
        self._loaded: dict = {}  # a stored or dumped key -> the key as the batch loader loads it
        self.touched: set = set()  # the keys whose records `hold` changed since the chunk's rows were judged
        self.moved: dict = {}  # this chunk: row -> [identity, its key before, its key after] of the row's update

    def loaded(self, value):
        """`value` (a key as stored, or as a row's cell converted) as the batch loader loads
        it, None when it does not load."""
        if value is None:
            return None
        if value not in self._loaded:
            loaded, errors = self.planner.loader.load_one({self.name: value})
            self._loaded[value] = None if any(p.path == self.name for p in errors) else loaded.get(self.name)
        return self._loaded[value]

    def stored(self, conn, values) -> dict:
        """{loaded key: [the stored records holding it, as JSON]} of `values`, among the
        records the importer may read that the run has neither created nor updated."""
        planner = self.planner
        mine = planner.ledger.mine
        column = planner.table.c[self.name]
        readable = planner.service.sharing.read_clause(planner.entity)
        wanted = sorted(set(values), key=str)
        found = {}
        for some in in_lists(wanted):
            stmt = select(planner.table).where(column.in_(some))
            if readable is not None:
                stmt = stmt.where(readable)
            for row in conn.execute(stmt).mappings():
                if row["id"] not in mine:
                    record = planner.shape.dump(row)
                    self._loaded.setdefault(record[self.name], row[self.name])  # as it loads: what found it
                    found.setdefault(row[self.name], []).append(record)
        return found

    def named(self, value, stored: dict) -> list[tuple]:
        """What the loaded key `value` names now: [("record", stored record as it was
        before the run) or ("row", the row creating the record)]."""
        if value not in stored and value not in self._held:  # most rows: a create
            return []
        ledger = self.planner.ledger
        found = [("record", record) for record in stored.get(value, [])  # untouched by the rows so far
                 if record["id"] not in ledger.before and record["id"] not in ledger.ours]
        for kind, ref in self._held.get(value, ()):
            found.append(("record", ledger.before[ref]) if kind == "record" else ("row", ref))
        return found

    def hold(self, identity: tuple, value) -> None:
        """The run's record `identity` has the loaded key `value` now (None: no key)."""
        old = self._of.get(identity)
        if identity in self._of and old == value:
            return
        if old is not None:
            self._held[old].remove(identity)
            self.touched.add(old)
        self._of[identity] = value
        if value is not None:
            self._held.setdefault(value, []).append(identity)
            self.touched.add(value)

    def move(self, row: int, identity: tuple, value) -> None:
        """Row `row`'s update gives the run's record `identity` the loaded key `value`; what
        it had before is kept for `restore`."""
        before = self._of[identity]
        if before != value:
            self.moved[row] = [identity, before, value]
            self.hold(identity, value)

    def restore(self, row: int) -> None:
        """Row `row`'s update was refused as it was written: its record keeps the key it
        had before, for the later chunks — the key a later row of the chunk moves it from
        (that row's write, if it is not refused, ends where the row planned), else the
        key it holds now."""
        if row not in self.moved:
            return
        identity, before, after = self.moved.pop(row)
        later = next((m for r, m in self.moved.items() if r > row and m[0] == identity), None)
        if later is not None:
            later[1] = before
        elif self._of.get(identity) == after:
            self.hold(identity, before)

    def holds(self, identity: tuple) -> bool:
        return identity in self._of

    def resume(self) -> None:
        """A resumed run: the keys of the records its written chunks created and updated,
        as those chunks left them."""
        if self.name is None:
            return
        ledger = self.planner.ledger
        for record_id, record in ledger.before.items():
            value = ledger.planned.get(record_id, {}).get(self.name, record[self.name])
            self.hold(("record", record_id), self.loaded(value))
        for row, values in ledger.created.items():
            self.hold(("row", row), self.loaded(values.get(self.name)))
