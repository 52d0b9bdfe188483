"""The plan of an import (what its dry run reports and its real run writes): for each
row, create, update (only the fields that change), skip or refuse, with every problem
and the column it came from.

A row's cells are converted per field type (`converting`), references resolved by the
natural key of their target (`references`), then judged by the record service's batch
loader, as any record the API takes. A row whose key (`--key`) names an existing record
updates it; a key repeated in the file is refused at its second row (without `--key`, the
entity's declared `natural_key` is the key when a column is mapped to it); duplicate rules
decide about the rows that would be new (`duplicates`). After the chunk's lookups, the
rows are decided in the file's order: unique values (`unique`), duplicate rules, and each
update changed from what the earlier rows planned and checked as the record service
checks an update, so that the plan does not depend on where the chunks end."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field, replace

from sqlalchemy import select

from engine.errors import ValidationFailed
from engine.fieldtypes import FieldInvalid
from engine.imports import duplicates, references
from engine.imports.converting import convert, empty
from engine.imports.unique import Unique
from engine.records.conditional import conditional, missing
from engine.records.integrity import reference_problems

ACTIONS = ("create", "update", "skip", "refuse")
ON_DUPLICATE = ("skip", "update", "create")
KEY_TYPES = ("string", "email", "phone", "url", "integer", "choice", "date")
LOOKUP = 500  # values per IN (...) of a lookup


@dataclass(frozen=True)
class Options:
    """What an import does besides reading: the natural key it upserts on, what a
    duplicate-rule match does, how many rows a chunk writes."""

    key: str | None = None
    on_duplicate: str | None = None  # None: by the matching rule's action (block: skip, warn: create)
    chunk_size: int = 1000


@dataclass
class RowPlan:
    """One row's fate. `row` is its line (the header is line 1); `data` the fields a
    create sets or an update changes; `problems` [{column, field, code, message}];
    `duplicates` the existing records (or earlier rows of the file) a duplicate rule
    matched, with their reasons; `of_row` the earlier row whose new record an update
    changes (its id is known once that row is written)."""

    row: int
    action: str
    record_id: int | None = None
    data: dict | None = None
    problems: list = dataclass_field(default_factory=list)
    duplicates: list = dataclass_field(default_factory=list)
    reason: str | None = None
    of_row: int | None = None

    def to_dict(self) -> dict:
        out = {"row": self.row, "action": self.action}
        for name in ("record_id", "reason", "of_row"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.problems:
            out["problems"] = self.problems
        if self.duplicates:
            out["duplicates"] = self.duplicates
        return out


def check_options(entity, options: Options) -> None:
    details = []
    if options.key is not None:
        key = entity.field(options.key)
        if key is None:
            details.append({"field": "key", "message": f"{entity.name} has no field {options.key!r}"})
        elif (key.base_type or key.type) not in KEY_TYPES:
            details.append({"field": "key", "message": f"a {key.type} field cannot be a natural key"})
    if options.on_duplicate is not None and options.on_duplicate not in ON_DUPLICATE:
        details.append({"field": "on_duplicate", "message": f"must be one of {', '.join(ON_DUPLICATE)}"})
    if not isinstance(options.chunk_size, int) or not 1 <= options.chunk_size <= 10_000:
        details.append({"field": "chunk_size", "message": "must be a whole number from 1 to 10000"})
    if details:
        raise ValidationFailed("the import's options are wrong", code="bad_import_options", details=details)


class Planner:
    """Plans the rows of one file for one entity, a range of rows at a time (a chunk),
    against the records as they are when the range is planned — except the stored records
    earlier rows update, whose key and unique values later rows see as they were before
    the run (`duplicates.Matcher.before`) and whose duplicate rules' fields as the earlier
    rows leave them (`duplicates.Matcher.kept`), and the records earlier chunks created,
    seen as the rows that create (and update) them — so that the real run decides as its
    dry run whatever the chunk size."""

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
        self.repeats = self._repeats()
        self.dedup = duplicates.Matcher(self, options.on_duplicate)
        self.unique = Unique(self)
        self.claimed: dict = {}  # row -> the unique values its plan claims (one chunk; for the checkpoint)
        self._predicted: dict = {}  # row -> (its record, the changes it makes) if no earlier row changes it

    @property
    def unmapped(self) -> list[str]:
        mapped = {column for _, column, _ in self.columns}
        return [c for c in self.file.header if c not in mapped]

    def __len__(self) -> int:
        return len(self.file.rows)

    def _repeats(self) -> dict:
        """{row index: the row index where its key first appears}, for keys the file repeats."""
        if self.options.key is None:
            return {}
        index = next(i for i, _, f in self.columns if f.name == self.options.key)
        first, repeats = {}, {}
        for number, row in enumerate(self.file.rows):
            cell = row[index]
            if empty(cell):
                continue
            value = str(cell).strip()
            if value in first:
                repeats[number] = first[value]
            else:
                first[value] = number
        return repeats

    # -- one range of rows ------------------------------------------------------------
    def plan(self, start: int, stop: int) -> list[RowPlan]:
        plans, data = [], []
        for number in range(start, stop):
            plan, values = self._convert(number)
            plans.append(plan)
            data.append(values)
        self.claimed = {}
        with self.service.storage.connect() as conn:
            references.resolve(self.service, conn, self.columns, plans, data, self._problem)
            existing = self._existing(conn, plans, data)
            targets: dict = {}  # row -> the stored record its key names
            for plan, values in zip(plans, data):
                self._judge(plan, values, existing, targets)
            self._check_references(conn, [p for p in plans if p.action == "create"])
            self._decide(conn, plans, data, targets)
        return plans

    def _decide(self, conn, plans, data, targets) -> None:
        """Each row in the file's order, after the lookups of the whole chunk: a create's
        unique values and duplicate rules, an update's changes from what the earlier rows
        planned, and their checks — so that one record updated by several rows ends as the
        last of them says, whether its key or a duplicate rule found it."""
        creates = [p for p in plans if p.action == "create"]
        self.unique.prepare(conn, [p.data for p in creates] + [self._unique_values(data[i]) for i, p in
                                                              enumerate(plans) if p.row in targets])
        self.dedup.prepare(conn, creates)
        self._predict(conn, plans, data, targets)
        for plan, values in zip(plans, data):
            if plan.row in targets:
                self._update(conn, plan, values, targets[plan.row])
            elif plan.action == "create":
                self._refuse_taken(conn, plan)
                if plan.action != "create":
                    continue
                target = self.dedup.decide(conn, plan)
                if target is None:
                    if plan.action == "create":
                        self.claimed[plan.row] = self.unique.claim(plan)
                elif target[0] == "record":
                    self._update(conn, plan, plan.data, target[1])
                else:
                    self._update_row(conn, plan, target[1])

    def _unique_values(self, values: dict) -> dict:
        """The unique fields' values of a row's cells, as an update would write them."""
        names = [n for n in self.unique.names if n in values]
        if not names:
            return {}
        loaded, _ = self.loader.load_one({n: values[n] for n in names})
        return self.shape.dump_values({n: loaded[n] for n in names if n in loaded})

    def _convert(self, number: int):
        row = self.file.rows[number]
        plan = RowPlan(row=number + 2, action="create")
        values = {}
        for index, column, field in self.columns:
            cell = row[index]
            if empty(cell):
                continue
            if (field.base_type or field.type) == "reference":
                values[field.name] = cell
                continue
            try:
                values[field.name] = convert(field, cell)
            except FieldInvalid as exc:
                plan.problems.append(self._problem(field.name, exc.code, str(exc)))
        if number in self.repeats:
            key = self.options.key
            plan.problems.append(self._problem(key, "repeated_key",
                                               f"{key} {str(row[self._index_of(key)]).strip()!r} repeats row "
                                               f"{self.repeats[number] + 2}"))
        return plan, values

    def _index_of(self, field_name: str) -> int:
        return next(i for i, _, f in self.columns if f.name == field_name)

    def _problem(self, field_name: str, code: str, message: str) -> dict:
        return {"column": self.column_of.get(field_name), "field": field_name, "code": code, "message": message}

    def _existing(self, conn, plans, data) -> dict:
        """{key value: the existing record as JSON} for the keys of these rows."""
        key = self.options.key
        if key is None:
            return {}
        wanted = []
        for plan, values in zip(plans, data):
            if key in values and not plan.problems:
                loaded, errors = self.loader.load_one({key: values[key]})
                if not any(p.path == key for p in errors):
                    wanted.append(loaded[key])
        column = self.table.c[key]
        found = {}
        readable = self.service.sharing.read_clause(self.entity)
        unique_wanted = sorted(set(wanted), key=str)
        before = self.dedup.before  # updated by earlier rows: as they were before the run
        for i in range(0, len(unique_wanted), LOOKUP):
            stmt = select(self.table).where(column.in_(unique_wanted[i:i + LOOKUP]))
            if readable is not None:
                stmt = stmt.where(readable)
            for row in conn.execute(stmt).mappings():
                if row["id"] not in before:
                    found.setdefault(row[key], []).append(self.shape.dump(row))
        for value in unique_wanted:
            for record_id in self.dedup.holding(key, value):
                found.setdefault(value, []).append(before[record_id])
        return found

    def _judge(self, plan: RowPlan, values: dict, existing: dict, targets: dict) -> None:
        """Create, update (of the record its key names: `targets`) or refuse, by the batch
        loader's verdict; a refused row is judged too, so that it reports every problem it
        has at once."""
        if plan.problems:
            self._refuse_all(plan, values)
            return
        key = self.options.key
        if key is not None and key in values:
            key_loaded, _ = self.loader.load_one({key: values[key]})
            matches = existing.get(key_loaded.get(key), [])
            if len(matches) > 1:
                plan.problems.append(self._problem(key, "ambiguous_key", f"{key} {values[key]!r} names "
                                                   f"{len(matches)} records: the key is not unique"))
                plan.action = "refuse"
                return
            if matches:
                plan.action, targets[plan.row] = "update", matches[0]
                return
        loaded, errors = self.loader.load_one(values)
        problems = [self._problem(p.path, p.code, p.message) for p in errors]
        if not problems and conditional(self.entity):
            problems = [self._problem(p.path, p.code, p.message)
                        for p in missing(self.entity, self.shape.dump_values(loaded))]
        if problems:
            plan.problems += problems
            plan.action = "refuse"
            return
        plan.data = self.shape.dump_values({k: v for k, v in loaded.items() if k in values})

    def _refuse_all(self, plan: RowPlan, values: dict) -> None:
        """Add the loader's problems with the fields that converted (a required field the
        row leaves empty included) to the problems `plan` has already."""
        named = {p["field"] for p in plan.problems}
        _, errors = self.loader.load_one(values)
        plan.problems += [self._problem(p.path, p.code, p.message) for p in errors
                          if p.path not in named and not (p.code == "required" and p.path in named)]
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
        record, changes, errors = self._changes(values, record, self._predicted.get(plan.row))
        if errors:
            plan.problems += [self._problem(p.path, p.code, p.message) for p in errors]
            plan.action, plan.data = "refuse", None
            return
        plan.record_id = record["id"]
        if not changes:
            plan.action, plan.reason, plan.data = "skip", "unchanged", None
            return
        if conditional(self.entity):
            problems = [self._problem(p.path, p.code, p.message)
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
            self.dedup.planned.setdefault(record["id"], {}).update(changes)
            self.dedup.updated(base, {**record, **changes})
        else:
            self.dedup.updated_row(of_row, {**self.dedup.created[of_row], **changes})
        self.claimed[plan.row] = self.unique.claim(plan) + self.unique.release(plan, record)

    def _changes(self, values: dict, record: dict, predicted=None):
        """(`record` as the earlier rows leave it, the changes `values` make to it — None
        when the loader refuses them —, the loader's problems); `predicted` is an earlier
        answer for the same values, reused while the record is as it was then."""
        if record["id"] is not None:
            record = {**record, **self.dedup.planned.get(record["id"], {})}
        if predicted is not None and predicted[0] == record:
            return record, predicted[1], []
        current = {f.name: record[f.name] for f in self.entity.fields}
        loaded, errors = self.loader.load_one({**current, **values})
        errors = [p for p in errors if p.path in values]
        if errors:
            return record, None, errors
        dumped = self.shape.dump_values({k: loaded[k] for k in values})
        return record, {k: v for k, v in dumped.items() if record[k] != v}, []

    def _predict(self, conn, plans, data, targets) -> None:
        """The changes of the rows their key found, as if no earlier row of the chunk
        changed their records (the common case), and the duplicate rules' stored matches
        of those records as the changes leave them, looked up at once (`dedup`): a row
        whose record is as predicted when its turn comes uses them."""
        self._predicted, changed = {}, {}
        for plan, values in zip(plans, data):
            if plan.row in targets:
                record, changes, errors = self._changes(values, targets[plan.row])
                if not errors:
                    self._predicted[plan.row] = (record, changes)
                    if changes:
                        changed[plan.row] = ({**record, **changes}, set(changes))
        self.dedup.prepare_updates(conn, changed)

    def _update_row(self, conn, plan: RowPlan, row: int) -> None:
        """Turn a planned create into the update of the record row `row` creates."""
        values = self.dedup.created[row]
        record = {**{f.name: values.get(f.name) for f in self.entity.fields}, "id": None}
        self._update(conn, plan, plan.data, record, of_row=row)

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

