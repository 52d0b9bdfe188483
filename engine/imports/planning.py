"""The plan of an import (what its dry run reports and its real run writes): for each
row, create, update (only the fields that change), skip or refuse, with every problem
and the column it came from.

A row's cells are converted per field type (`converting`), references resolved by the
natural key of their target (`references`), then judged by the record service's batch
loader, as any record the API takes, a create meeting the sharing field rules as the
batch path does (`fieldrules`). A row whose key (`--key`) names a record updates it
— a stored record by the key it has, a record the earlier rows create or update by the
key they leave it (`keys`); a key repeated in the file is refused at its second row
(without `--key`, the entity's declared `natural_key` is the key when a column is mapped
to it); duplicate rules decide about the rows that would be new (`duplicates`). After the
chunk's lookups, the rows are decided in the file's order: what the key names, unique
values (`unique`), duplicate rules, and each update — whatever found its record —
changed from what the earlier rows planned and checked as the record service checks an
update (`editing` included: what it refuses as the update is written), so that the plan
does not depend on where the chunks end."""
from __future__ import annotations

from dataclasses import replace

from engine.errors import ValidationFailed
from engine.fieldtypes import FieldInvalid
from engine.imports import duplicates, references
from engine.imports.converting import convert, empty
from engine.imports.editing import Editing
from engine.imports.fieldrules import FieldRules
from engine.imports.keys import Keys, repeats
from engine.imports.ledger import Ledger
# ON_DUPLICATE: the CLI, the API and the admin UI import it from here
from engine.imports.plans import ON_DUPLICATE, Options, RowPlan, check_options  # noqa: F401
from engine.imports.xlsx_cells import Unreadable, unreadable_text
from engine.imports.unique import Unique
from engine.records.conditional import conditional, missing
from engine.records.integrity import reference_problems


class Planner:
    """Plans the rows of one file for one entity, a range of rows at a time (a chunk),
    against the records as they are when the range is planned — except the stored records
    earlier rows update, whose unique values later rows see as they were before the run
    (`duplicates.Matcher.before`) and whose key and duplicate rules' fields as the earlier
    rows leave them (`keys`, `duplicates.Matcher.kept`), and the records earlier chunks
    created, seen as the rows that create (and update) them — so that the real run decides
    as its dry run whatever the chunk size."""

    def __init__(self, service, entity_name: str, table, mapping: dict, options: Options):
        self.service = service
        self.entity, self.table, self.shape = service._entity(entity_name)
        check_options(self.entity, options)
        service.permissions.require(self.entity, "create")
        service.permissions.require(self.entity, "import")
        self.file = table
        self.columns = [(i, column, self.entity.field(f)) for i, (column, f) in
                        enumerate((c, mapping.get(c)) for c in table.header) if f]
        declared = self.entity.natural_key
        if options.key is None and declared is not None and declared in {f.name for _, _, f in self.columns}:
            options = replace(options, key=declared)  # the entity's natural key, when the file has it
        self.options = options
        if options.key is not None or options.on_duplicate == "update":
            service.permissions.require(self.entity, "update")  # rows may update records
        if options.key is not None and options.key not in {f.name for _, _, f in self.columns}:
            raise ValidationFailed(f"no column is mapped to the key field {options.key!r}", code="bad_import_options",
                                   details=[{"field": "key", "message": "not mapped from any column"}])
        service.permissions.check_write(self.entity, {f.name: None for _, _, f in self.columns})
        self.column_of = {f.name: column for _, column, f in self.columns}
        self._order = {f.name: i for i, _, f in self.columns}  # problems in the order of the columns
        self.loader = service.metadata.batch_loader(entity_name)
        self.repeats = {} if options.key is None else repeats(self.file.rows, self._index_of(options.key))
        self.ledger = Ledger(self)
        self.dedup = duplicates.Matcher(self, options.on_duplicate)
        self.unique = Unique(self)
        self.keys = Keys(self)
        self.editing = Editing(self)
        self.rules = FieldRules(self)
        self._deferred: dict = {}  # this chunk: row -> the problems it has only if it stays a create
        self._named: dict = {}  # this chunk: row -> what its key named when it was judged
        self.claimed: dict = {}  # row -> the unique values its plan claims (one chunk; for the checkpoint)
        self._predicted: dict = {}  # row -> (its record, its changes, loaded) if no earlier row changes it

    @property
    def unmapped(self) -> list[str]:
        mapped = {column for _, column, _ in self.columns}
        return [c for c in self.file.header if c not in mapped]

    def __len__(self) -> int:
        return len(self.file.rows)

    # -- one range of rows ------------------------------------------------------------
    def plan(self, start: int, stop: int) -> list[RowPlan]:
        plans, data = [], []
        for number in range(start, stop):
            plan, values = self._convert(number)
            plans.append(plan)
            data.append(values)
        self.claimed, self._deferred, self._named, self.keys.moved = {}, {}, {}, {}
        self.rules.filled = {}
        with self.service.storage.connect() as conn:
            references.resolve(self.service, conn, self.columns, plans, data, self._problem)
            stored = self._stored(conn, plans, data)
            targets: dict = {}  # row -> what its key names: ("record", stored record) or ("row", row)
            for plan, values in zip(plans, data):
                self._judge(plan, values, stored, targets)
            self.keys.touched = set()
            self._check_references(conn, [p for p in plans if p.action == "create"])
            self._decide(conn, plans, data, targets, stored)
        return plans

    def _decide(self, conn, plans, data, targets, stored) -> None:
        """Each row in the file's order, after the lookups of the whole chunk: what its key
        names as the earlier rows leave the keys (`keys`), a create's unique values and
        duplicate rules, an update's changes from what the earlier rows planned, and their
        checks — so that one record updated by several rows ends as the last of them says,
        whether its key or a duplicate rule found it. With `on_duplicate` update, a row a
        duplicate rule turns into an update is checked as that update, not as a create."""
        creates = [p for p in plans if p.action == "create"]
        self.unique.prepare(conn, [p.data for p in creates] + [self._unique_values(data[i]) for i, p in
                                                              enumerate(plans) if p.row in targets])
        self.dedup.prepare(conn, creates)
        self.editing.prepare(conn, [t[1]["id"] for t in targets.values() if t[0] == "record"] +
                             list(self.dedup.fetched))
        self._predict(conn, plans, data, targets)
        updating = self.options.on_duplicate == "update"
        for plan, values in zip(plans, data):
            self._rekey(conn, plan, values, targets, stored)
            if plan.row in targets:
                kind, target = targets[plan.row]
                if kind == "record":
                    self._update(conn, plan, values, target)
                else:
                    self._update_row(conn, plan, target, values)
            elif plan.action == "create":
                if not updating:
                    self._refuse_taken(conn, plan)
                target = self.dedup.decide(conn, plan) if plan.action == "create" else None
                if target is None:
                    self._create(conn, plan)
                elif target[0] == "record":
                    self._update(conn, plan, self.rules.given(plan), target[1])
                else:
                    self._update_row(conn, plan, target[1], self.rules.given(plan))

    def _create(self, conn, plan: RowPlan) -> None:
        """A row that stays a create: the problems it has only as one (`_deferred`), its
        unique values (with `on_duplicate` update, checked once no rule made it an update),
        then it counts for the later rows."""
        if plan.action != "create":
            return
        deferred = self._deferred.pop(plan.row, None)
        if deferred:
            plan.problems += deferred
            plan.action, plan.data = "refuse", None
            return
        if self.options.on_duplicate == "update":
            self._refuse_taken(conn, plan)
            if plan.action != "create":
                return
        self.dedup.add(plan)
        self.ledger.create(plan.row, plan.data)
        self.claimed[plan.row] = self.unique.claim(plan)
        if plan.row in self._named:  # its key, loaded
            self.keys.hold(("row", plan.row), self._named[plan.row][0])

    def _rekey(self, conn, plan: RowPlan, values: dict, targets: dict, stored: dict) -> None:
        """Judge the row again when its key names something else now than when it was
        judged: an earlier row of the chunk gave its key to a record, or took it from one."""
        if plan.row not in self._named or self._named[plan.row][0] not in self.keys.touched:
            return
        value, named = self._named[plan.row]
        now = self.keys.named(value, stored)
        if _identities(now) == _identities(named):
            return
        targets.pop(plan.row, None)
        self._deferred.pop(plan.row, None)
        self._predicted.pop(plan.row, None)
        plan.action, plan.data, plan.problems = "create", None, []
        self._judge(plan, values, stored, targets)
        if plan.action == "create":
            self._check_references(conn, [plan])

    def _unique_values(self, values: dict) -> dict:
        """The unique fields' values of a row's cells, as an update would write them."""
        names = [n for n in self.unique.names if n in values]
        if not names:
            return {}
        loaded, _ = self.loader.load_one({n: values[n] for n in names})
        return self.shape.dump_values({n: loaded[n] for n in names if n in loaded})

    def _convert(self, number: int):
        row = self.file.rows[number]
        plan = RowPlan(row=self.file.numbers[number], action="create")
        values = {}
        for index, column, field in self.columns:
            cell = row[index]
            if cell.__class__ is Unreadable:  # an XLSX formula never computed, or an error
                plan.problems.append(self._problem(field.name, cell.code,
                                                   f"cell {cell.cell} {unreadable_text(cell)}", {"cell": cell.cell}))
                continue
            if empty(cell):
                continue
            if (field.base_type or field.type) == "reference":
                values[field.name] = cell
                continue
            try:
                values[field.name] = convert(field, cell)
            except FieldInvalid as exc:
                plan.problems.append(self._problem(field.name, exc.code, str(exc), exc.details))
        if number in self.repeats:
            key = self.options.key
            first = self.file.numbers[self.repeats[number]]
            plan.problems.append(self._problem(key, "repeated_key",
                                               f"{key} {str(row[self._index_of(key)]).strip()!r} repeats row {first}",
                                               {"row": first}))
        return plan, values

    def _index_of(self, field_name: str) -> int:
        return next(i for i, _, f in self.columns if f.name == field_name)

    def _problem(self, field_name: str, code: str, message: str, details=None) -> dict:
        """A row's problem: its column, field, code and message, and the code's details (as a
        record's problem has them: what a screen words it by)."""
        return {**(details or {}), "column": self.column_of.get(field_name), "field": field_name, "code": code,
                "message": message}

    def _stored(self, conn, plans, data) -> dict:
        """{loaded key: the stored records holding it} for the keys of these rows (`keys`)."""
        key = self.options.key
        if key is None:
            return {}
        wanted = [self.keys.loaded(values[key]) for plan, values in zip(plans, data)
                  if key in values and not plan.problems]
        return self.keys.stored(conn, [w for w in wanted if w is not None])

    def _judge(self, plan: RowPlan, values: dict, stored: dict, targets: dict) -> None:
        """Create, update (of what its key names now: `targets`) or refuse, by the batch
        loader's verdict; a refused row is judged too, so that it reports every problem it
        has at once. With `on_duplicate` update, the problems a row has only as a create (a
        required field it leaves empty) wait for the duplicate rules (`_deferred`)."""
        if plan.problems:
            self._refuse_all(plan, values)
            return
        key = self.options.key
        value = self.keys.loaded(values[key]) if key is not None and key in values else None
        if value is not None:
            named = self.keys.named(value, stored)
            self._named[plan.row] = (value, named)
            if len(named) > 1:
                plan.problems.append(self._problem(key, "ambiguous_key", f"{key} {values[key]!r} names "
                                                   f"{len(named)} records: the key is not unique",
                                                   {"count": len(named)}))
                plan.action = "refuse"
                return
            if named:
                plan.action, targets[plan.row] = "update", named[0]
                return
        values = self.rules.fill(plan, values)
        loaded, errors = self.loader.load_one(values)
        problems = [self._problem(p.path, p.code, p.message, p.details) for p in errors] + self.rules.outside(loaded)
        if not problems and conditional(self.entity):
            problems = [self._problem(p.path, p.code, p.message, p.details)
                        for p in missing(self.entity, self.shape.dump_values(loaded))]
        if problems and self.options.on_duplicate == "update" and self.dedup.rules and all(
                p["field"] not in values for p in problems):  # only a create's: it may be an update
            self._deferred[plan.row] = problems
        elif problems:
            plan.problems += problems
            plan.action = "refuse"
            return
        plan.data = self.shape.dump_values({k: v for k, v in loaded.items() if k in values})

    def _refuse_all(self, plan: RowPlan, values: dict) -> None:
        """Add the loader's problems with the fields that converted (a required field the
        row leaves empty included) to the problems `plan` has already."""
        named = {p["field"] for p in plan.problems}
        loaded, errors = self.loader.load_one(self.rules.fill(plan, values))
        plan.problems += [self._problem(p.path, p.code, p.message, p.details) for p in errors
                          if p.path not in named and not (p.code == "required" and p.path in named)]
        plan.problems += [p for p in self.rules.outside(loaded) if p["field"] not in named]
        plan.problems.sort(key=lambda p: self._order.get(p["field"], len(self._order)))
        plan.action, plan.data = "refuse", None

    def _update(self, conn, plan: RowPlan, values: dict, record: dict, of_row: int | None = None) -> None:
        """Plan `values` as the update of `record` (stored, or with no id the one row
        `of_row` creates): a stored record as it was before the run (`record`), changed
        from what the earlier rows planned for it (the file's last word wins). The changes
        are checked as the record service checks an update (references, unique values,
        duplicate rules); only a kept update counts for the later rows."""
        base = record
        plan.of_row = of_row
        record, changes, loaded, errors = self._changes(values, record, self._predicted.get(plan.row))
        if errors:
            plan.problems += [self._problem(p.path, p.code, p.message, p.details) for p in errors]
            plan.action, plan.data = "refuse", None
            return
        plan.record_id = record["id"]
        if not changes:
            plan.action, plan.reason, plan.data = "skip", "unchanged", None
            return
        refused = self.editing.problems(conn, record["id"], changes, loaded)
        if refused:
            plan.problems += [self._problem(*p) for p in refused]
            plan.action, plan.data = "refuse", None
            return
        if conditional(self.entity):
            problems = [self._problem(p.path, p.code, p.message, p.details)
                        for p in missing(self.entity, {**record, **changes})]
            if problems:
                plan.problems += problems
                plan.action, plan.data = "refuse", None
                return
        plan.action, plan.data = "update", changes
        self._check_update(conn, plan, {**record, **changes})
        if plan.action != "update":
            return
        if record["id"] is not None:
            self.ledger.update(base, changes)
            self.dedup.updated({**record, **changes})
        else:
            self.dedup.updated_row(of_row, self.ledger.update_row(of_row, changes))
        self.claimed[plan.row] = self.unique.claim(plan) + self.unique.release(plan, record)
        key = self.keys.name
        mine = ("record", record["id"]) if record["id"] is not None else ("row", of_row)
        if key is not None and not self.keys.holds(mine):  # first met: no longer a stored record's key
            self.keys.hold(mine, self.keys.loaded(record[key]))
        if key is not None and key in changes:
            self.keys.move(plan.row, mine, self.keys.loaded(changes[key]))

    def _changes(self, values: dict, record: dict, predicted=None):
        """(`record` as the earlier rows leave it, the changes `values` make to it in JSON
        form and loaded — None when the loader refuses them —, the loader's problems);
        `predicted` is an earlier answer for the same values, reused while the record is as
        it was then."""
        if record["id"] is not None:
            record = {**record, **self.ledger.planned.get(record["id"], {})}
        if predicted is not None and predicted[0] == record:
            return record, predicted[1], predicted[2], []
        current = {f.name: record[f.name] for f in self.entity.fields}
        loaded, errors = self.loader.load_one({**current, **values})
        errors = [p for p in errors if p.path in values]
        if errors:
            return record, None, None, errors
        dumped = self.shape.dump_values({k: loaded[k] for k in values})
        changes = {k: v for k, v in dumped.items() if record[k] != v}
        return record, changes, {k: loaded[k] for k in changes}, []

    def _predict(self, conn, plans, data, targets) -> None:
        """The changes of the rows their key found, as if no earlier row of the chunk
        changed their records (the common case), and the duplicate rules' stored matches
        of those records as the changes leave them, looked up at once (`dedup`): a row
        whose record is as predicted when its turn comes uses them."""
        self._predicted, changed = {}, {}
        for plan, values in zip(plans, data):
            if targets.get(plan.row, ("row",))[0] == "record":
                record, changes, loaded, errors = self._changes(values, targets[plan.row][1])
                if not errors:
                    self._predicted[plan.row] = (record, changes, loaded)
                    if changes:
                        changed[plan.row] = ({**record, **changes}, set(changes))
        self.dedup.prepare_updates(conn, changed)

    def _update_row(self, conn, plan: RowPlan, row: int, values: dict) -> None:
        """Plan `values` as the update of the record row `row` creates."""
        created = self.ledger.created[row]
        record = {**{f.name: created.get(f.name) for f in self.entity.fields}, "id": None}
        self._update(conn, plan, values, record, of_row=row)

    def _check_update(self, conn, plan: RowPlan, record: dict) -> None:
        """An update's changes: references that name no readable record, unique values
        taken, then the duplicate rules reading a changed field (`duplicates.Matcher`)."""
        if any((self.entity.field(k).base_type or self.entity.field(k).type) == "reference" for k in plan.data):
            self._check_references(conn, [plan])
        if plan.action == "update":
            self._refuse_taken(conn, plan)
        if plan.action == "update":
            self.dedup.check_update(conn, plan, record)

    def _check_references(self, conn, plans) -> None:
        """References to missing (or unreadable) records, as the database would refuse them."""
        if not plans:
            return
        for detail in reference_problems(conn, self.service.metadata, self.entity, [p.data for p in plans],
                                         indexed=True, sharing=self.service.sharing):
            _, index, name = detail["field"].split("/", 2)
            self._refuse(plans[int(index)], name, detail.get("code", "reference_not_found"), detail["message"])

    def _refuse_taken(self, conn, plan: RowPlan) -> None:
        """Unique values held by another record, or claimed by an earlier row (`unique`)."""
        for name, code, message in self.unique.problems(conn, plan):
            self._refuse(plan, name, code, message)

    def _refuse(self, plan: RowPlan, name: str, code: str, message: str) -> None:
        plan.problems.append(self._problem(name, code, message))
        plan.action, plan.data = "refuse", None


def _identities(named: list) -> list:
    """What `Keys.named` named, by identity."""
    return [(kind, ref["id"] if kind == "record" else ref) for kind, ref in named]
