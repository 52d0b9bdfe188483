"""Records as JSON: column values to the API's representation, and back to columns."""
from __future__ import annotations

from engine.crypto.columns import HASH_SUFFIX
from engine.fieldstorage import CURRENCY_SUFFIX, dump_value
from engine.matchkeys import key_specs, key_values
from engine.timefmt import iso_utc

SYSTEM_FIELDS = ("id", "version", "created_at", "updated_at", "created_by", "updated_by", "owner_id")
_STAMPS = ("created_at", "updated_at")



class RecordShape:
    """How one entity's rows become JSON; built once per compiled entity."""

    def __init__(self, entity, keyring=None):
        self.entity = entity
        self.keyring = keyring  # opened before a write, so a missing key is refused plainly
        self.fields = [(f.name, f.base_type or f.type) for f in entity.fields]
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

    def dump(self, row, only=None) -> dict:
        """The record as JSON; `only` (field names, from `fields=`) limits it to those
        columns, which are then all a partial row needs to hold."""
        record = {}
        for name in SYSTEM_FIELDS:
            if only is None or name in only:
                record[name] = iso_utc(row[name]) if name in _STAMPS else row[name]
        for name, base in self.fields:
            if only is not None and name not in only:
                continue
            if base == "currency":
                amount = row[name]
                record[name] = None if amount is None else {
                    "amount": str(amount), "currency": row[name + CURRENCY_SUFFIX]}
            else:
                record[name] = dump_value(base, row[name])
        return record

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
