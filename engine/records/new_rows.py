"""A batch create's new records, made in one pass each: the row it inserts (a tuple in
`columns` order, for `bulk_rows`), the record as JSON (what `RecordShape.dump` gives for
that row) and its changes (what `writes.created_changes` gives: every field given a value,
read-only as its event keeps them) — without a second pass over the fields for the
changes, and for an entity whose every field is one column, without the row as a dict in
between (property tests hold the three to the single create's, for both kinds of entity)."""
from __future__ import annotations

from engine.events import READ_ONLY_TYPES, FrozenDict, FrozenList, ImpliedChanges, freeze
from engine.fieldstorage import CURRENCY_SUFFIX, dumper
from engine.records.dump import SYSTEM_FIELDS
from engine.timefmt import iso_utc

# The system columns a new row sets, after its fields' columns, and their JSON form's
# order (`dump.SYSTEM_FIELDS`).
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "version")
_CURRENCY = object()


class NewRows:
    """The rows of one batch create of one entity, written at `at` by `actor` (a user id)."""

    def __init__(self, shape, at, actor):
        self.shape = shape
        self._names = tuple(shape.empty_columns)
        self.columns = self._names + SYSTEM_COLUMNS
        self._system = (at, at, actor, actor, actor, 1)
        stamp = iso_utc(at)
        self._head = (1, stamp, stamp, actor, actor, actor)  # SYSTEM_FIELDS' values after the id
        self._record_keys = (*SYSTEM_FIELDS, *shape.names)
        self._plan = tuple((name, _CURRENCY if base == "currency" else dumper(base))
                           for name, base in shape.fields)
        # Each field one column, and its match key after them: the row is read from the
        # values themselves, without `to_columns` making a dict of them first.
        self._plain = not shape.hashed and all(base != "currency" for _, base in shape.fields)
        self._fields = shape.names
        self._keyed = tuple((spec.keying[0], spec.keying[2]) for spec in shape.keys)

    def make(self, record_id: int, values: dict) -> tuple[tuple, dict, FrozenDict]:
        """(the row, the record as JSON, its changes) of the new record `record_id` with
        the converted field `values` (as the loaders return them); the record and the
        changes read-only already, as its event keeps them, the changes made from the
        record (`ImpliedChanges`: every value not None, in the record's order)."""
        if self._plain:
            columns = values
            get = values.get
            row = (*map(get, self._fields), *[None if (value := get(field)) is None else key(value)
                                               for field, key in self._keyed], record_id, *self._system)
        else:
            columns = self.shape.to_columns(values)
            get = columns.get
            row = (*map(get, self._names), record_id, *self._system)
        out = [record_id, *self._head]
        changes = []
        for name, convert in self._plan:
            value = get(name)
            if value is not None:
                if convert is _CURRENCY:
                    value = {"amount": str(value), "currency": columns[name + CURRENCY_SUFFIX]}
                elif convert is not None:
                    value = convert(value)
                if type(value) not in READ_ONLY_TYPES:  # a currency's or a JSON field's value
                    value = freeze(value)
                changes.append((name, FrozenList((None, value))))
            out.append(value)  # a field not given has no column value: None
        record = FrozenDict(zip(self._record_keys, out))
        return row, record, ImpliedChanges(changes, record)  # the record's values, as they are
