"""Records as JSON: column values to the API's representation, and back to columns."""
from __future__ import annotations

from engine.crypto.columns import HASH_SUFFIX
from engine.fieldstorage import CURRENCY_SUFFIX, dump_value, dumper
from engine.matchkeys import key_specs, key_values
from engine.timefmt import iso_utc

SYSTEM_FIELDS = ("id", "version", "created_at", "updated_at", "created_by", "updated_by", "owner_id")
_STAMPS = ("created_at", "updated_at")
_CURRENCY = object()  # in a dump plan: an amount and its currency column
_PLANS_KEPT = 64  # dump plans kept per entity (`fields=` comes from requests)


class RecordShape:
    """How one entity's rows become JSON; built once per compiled entity."""

    def __init__(self, entity, keyring=None):
        self.entity = entity
        self.keyring = keyring  # opened before a write, so a missing key is refused plainly
        self.fields = [(f.name, f.base_type or f.type) for f in entity.fields]
        self.names = tuple(name for name, _ in self.fields)
        self.hashed = frozenset(f.name for f in entity.fields if f.encrypted)  # + <name>__hash
        self.empty_columns = {}
        for name, base in self.fields:
            self.empty_columns[name] = None
            if base == "currency":
                self.empty_columns[name + CURRENCY_SUFFIX] = None
            if name in self.hashed:
                self.empty_columns[name + HASH_SUFFIX] = None
        self.keys = key_specs(entity)  # match keys (engine.matchkeys), beside what was typed
        for spec in self.keys:
            self.empty_columns[spec.column] = None
        self._plan = self._dump_plan(None)
        self._plans: dict = {}

    def dump(self, row, only=None) -> dict:
        """The record as JSON; `only` (field names, from `fields=`) limits it to those
        columns, which are then all a partial row needs to hold."""
        record = {}
        for name, convert in (self._plan if only is None else self._plan_for(only)):
            value = row[name]
            if convert is None or value is None:
                record[name] = value
            elif convert is _CURRENCY:
                record[name] = {"amount": str(value), "currency": row[name + CURRENCY_SUFFIX]}
            else:
                record[name] = convert(value)
        return record

    def _plan_for(self, only) -> tuple:
        """`dump`'s plan for the columns `only`: worked out once per set of columns (a
        few per entity: `fields=` of the screens and the roles' visible fields)."""
        try:
            plan = self._plans.get(only)
        except TypeError:  # not hashable: a list
            return self._dump_plan(only)
        if plan is None:
            plan = self._dump_plan(only)
            if len(self._plans) < _PLANS_KEPT:
                self._plans[only] = plan
        return plan

    def _dump_plan(self, only) -> tuple:
        """(column, what writes its value out: None when the value is its JSON already)
        for each column `dump` writes, in the record's order."""
        plan = [(name, iso_utc if name in _STAMPS else None)
                for name in SYSTEM_FIELDS if only is None or name in only]
        plan += [(name, _CURRENCY if base == "currency" else dumper(base))
                 for name, base in self.fields if only is None or name in only]
        return tuple(plan)

    def dump_values(self, values: dict) -> dict:
        """Converted field values (as the loaders return them) in JSON form."""
        out = {}
        for name, base in self.fields:
            if name in values:
                value = values[name]
                if base == "currency":
                    out[name] = None if value is None else {
                        "amount": str(value["amount"]), "currency": value["currency"]}
                else:
                    out[name] = dump_value(base, value)
        return out

    def to_columns(self, values: dict) -> dict:
        """Converted field values as column values (a currency fills two columns, a field
        encrypted at rest its keyed hash too: the column types encrypt and hash; a keyed
        field its match key)."""
        columns = {}
        if self.hashed and self.keyring is not None:
            self.keyring.open()
        for name, base in self.fields:
            if name not in values:
                continue
            value = values[name]
            if base == "currency":
                columns[name] = None if value is None else value["amount"]
                columns[name + CURRENCY_SUFFIX] = None if value is None else value["currency"]
            else:
                columns[name] = value
                if name in self.hashed:
                    columns[name + HASH_SUFFIX] = value
        if self.keys:
            columns.update(key_values(self.keys, values))
        return columns
