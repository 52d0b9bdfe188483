"""Unique fields in an import's plan: a value a row would write (a create's, or a change an
update makes) is refused when a stored record held it before the run, or when an earlier
row of the file claims it — in the same chunk or in any earlier one. A unique key is
looked up by `engine.imports.keys` (a later row with it updates the record having it),
but a row may move a record's key: the key it gives up is released as below (`moved`).

The run's own records are never compared as stored records: the dry run has not written
them and the real run has, so both compare with the rows that claimed the values instead
("code 'C1' is also in row 3"), and a stored record an earlier row updates is compared as
it was before the run (`duplicates.Matcher.before`). The dry run thus refuses what the
real run refuses, whatever the chunk size, and a value the database would refuse never
reaches it. A resumed run takes the claims of its written chunks from their checkpoints
(`claims`).

A value an update gives up (the record's value before the row changes it) is free for a
later row's update, in any chunk: the real run writes a chunk's updates after its creates,
in the file's order, so the update giving it up is always written first. A later row's
create may not take it in the same run (it stays "given up by row N"): a create of the
same chunk would be written before the update giving the value up and meet the unique
index. A release is kept with the claims (`[field, value, row, "free", None]`)."""
from __future__ import annotations

from sqlalchemy import select

from engine.in_lists import in_lists


def identity(plan) -> tuple:
    """Which record a planned row writes: the one it creates (its row), the one an earlier
    row creates (`of_row`) or a stored one (its id)."""
    if plan.action == "create":
        return ("row", plan.row)
    if plan.of_row is not None:
        return ("row", plan.of_row)
    return ("record", plan.record_id)


class Unique:
    def __init__(self, planner):
        self.planner = planner
        key = planner.options.key
        self.names = tuple(f.name for f in planner.entity.fields if f.unique and f.name != key)
        self.moved = tuple(f.name for f in planner.entity.fields if f.unique and f.name == key)  # releases only
        self.claims: dict = {name: {} for name in self.names + self.moved}  # field -> value -> (row, identity)
        self.released: dict = {name: {} for name in self.names + self.moved}  # field -> value -> the row giving it up
        self._taken: dict = {name: {} for name in self.names}  # field -> value -> stored holder (this chunk)

    def prepare(self, conn, candidates: list[dict]) -> None:
        """Look up at once the stored holders of the values `candidates` (what the chunk's
        rows may write) have; a value not looked up is looked up when checked."""
        self._taken = {name: {} for name in self.names}
        for name in self.names:
            self._lookup(conn, name, {c[name] for c in candidates if c.get(name) is not None})

    def _lookup(self, conn, name: str, values) -> None:
        ledger = self.planner.ledger
        mine = ledger.mine  # the run's records, and stored ones as they were before it
        table = self.planner.table
        column = table.c[name]
        wanted = sorted(values, key=str)
        taken = self._taken[name]
        for value in wanted:
            taken.setdefault(value, None)
        for some in in_lists(wanted):
            for record_id, value in conn.execute(select(table.c.id, column).where(column.in_(some))):
                if record_id not in mine:
                    taken[value] = record_id
        for value in wanted:
            for record_id in ledger.holding(name, value):
                taken[value] = record_id

    def problems(self, conn, plan) -> list[tuple[str, str, str]]:
        """(field, code, message) of each unique value of `plan.data` held by another record
        or claimed by an earlier row for another record — unless an update gave it up
        since, when `plan` is an update."""
        found = []
        mine = identity(plan)
        for name in self.names:
            value = plan.data.get(name)
            if value is None:
                continue
            claim = self.claims[name].get(value)
            if claim is not None and claim[1] != mine:
                found.append((name, "not_unique", f"{name} {value!r} is also in row {claim[0]}"))
                continue
            if claim is None and value in self.released[name]:
                if plan.action != "update":
                    found.append((name, "not_unique", f"{name} {value!r} is given up by row "
                                  f"{self.released[name][value]}: a new record cannot take it in the same run"))
                continue
            if value not in self._taken[name]:
                self._lookup(conn, name, {value})
            holder = self._taken[name][value]
            if holder is not None and holder != plan.record_id:
                found.append((name, "not_unique", f"{name} {value!r} is taken by record {holder}"))
        for name in self.moved:  # what the key names is `keys`': only a create taking a key given up is left
            value = plan.data.get(name)
            if plan.action != "update" and value is not None and value in self.released[name]:
                found.append((name, "not_unique", f"{name} {value!r} is given up by row "
                              f"{self.released[name][value]}: a new record cannot take it in the same run"))
        return found

    def claim(self, plan) -> list:
        """`plan` (a create or an update the plan keeps) claims its unique values; the
        claims it made, as a checkpoint keeps them: [[field, value, row, kind, ref]]."""
        made = []
        mine = identity(plan)
        for name in self.names:
            value = plan.data.get(name)
            if value is not None and value not in self.claims[name]:
                self.claims[name][value] = (plan.row, mine)
                made.append([name, value, plan.row, *mine])
        return made

    def release(self, plan, record: dict) -> list:
        """`plan`, an update the plan keeps, gives up the unique values `record` (the record
        as the earlier rows leave it) had in the fields it changes: a later update may take
        them. The releases, as a checkpoint keeps them: [[field, value, row, "free", None]]."""
        made = []
        mine = identity(plan)
        for name in self.names + self.moved:
            old = record.get(name)
            if name in plan.data and old is not None and old != plan.data[name]:
                if self.claims[name].get(old, (None, mine))[1] == mine:
                    self.claims[name].pop(old, None)
                    self.released[name][old] = plan.row
                    made.append([name, old, plan.row, "free", None])
        return made

    def restore(self, made: list, plan) -> None:
        """`plan`'s update was refused as it was written: the values it gave up (`made`,
        `release`'s answer) stay its record's for the later chunks."""
        for name, value, row, kind, _ref in made:
            if kind == "free" and self.released[name].get(value) == row:
                del self.released[name][value]
                self.claims[name].setdefault(value, (row, identity(plan)))

    def resume(self, claims: list) -> None:
        """The claims (and releases) of a run's written chunks (in their order)."""
        for name, value, row, kind, ref in claims:
            if name not in self.claims:
                continue
            if kind == "free":
                self.claims[name].pop(value, None)
                self.released[name][value] = row
            else:
                self.claims[name].setdefault(value, (row, (kind, ref)))
