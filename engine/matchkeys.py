"""Match keys: beside a phone, e-mail or matched string field, the column `<field>__key`
holds the normalised key of its value (engine.normalise: E.164 phone numbers, folded
e-mails, names without spaces, identity numbers without separators), indexed, so lookups
(`?phone=`), the search and duplicate rules compare keys instead of what was typed.

The field keeps what was typed; the key is derived from it on every write
(`RecordShape.to_columns`). A field encrypted at rest keeps the keyed hash of its key
(the tenant's data keys), never the key in clear: equal keys still have equal hashes.
A phone number without a country code is read in the field's `region`, else the
package's `settings.phone_region` ("CN" unless set)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from sqlalchemy import Column, String

from engine.crypto.columns import KeyedHash
from engine.normalise import DEFAULT_REGION, KEYS, phone_key_in

KEY_SUFFIX = "__key"


@dataclass(frozen=True)
class KeySpec:
    """One keyed field: its name, its key's kind and region, and its key column's name."""

    field: str
    kind: str
    region: str | None
    encrypted: bool = False

    @property
    def column(self) -> str:
        return self.field + KEY_SUFFIX

    def key(self, value) -> str | None:
        return None if value is None else self.keying[2](value)

    @cached_property
    def keying(self) -> tuple:
        """(the field, its key column, what keys a non-empty value: `normalise.key_of` of
        this kind and region, chosen once)."""
        if self.kind == "phone":
            region = (self.region or DEFAULT_REGION).upper()
            return self.field, self.column, lambda value: phone_key_in(value, region)
        return self.field, self.column, KEYS[self.kind]


def match_kind(field) -> str | None:
    """The kind of key a field keeps: its `match`, else its type's own (phone, email)."""
    if field.match is not None:
        return field.match
    return {"phone": "phone", "email": "email"}.get(field.base_type or field.type)


def phone_region(package) -> str:
    """The package's default country for phone numbers (`settings.phone_region`, else CN)."""
    return ((package.settings or {}).get("phone_region") or DEFAULT_REGION).upper()


def key_specs(entity, default_region: str | None = None) -> list[KeySpec]:
    """The entity's keyed fields, in field order."""
    return [KeySpec(f.name, match_kind(f), _region(f, default_region), f.encrypted)
            for f in entity.fields if match_kind(f)]


def _region(field, default_region):
    if match_kind(field) != "phone":
        return None
    return (field.region or default_region or DEFAULT_REGION).upper()


def with_regions(entity, default_region: str):
    """The entity with every phone-keyed field's region filled in from the package's
    default, so the converters and the record shape read numbers the same way."""
    fields = [replace(f, region=(f.region or default_region).upper()) if match_kind(f) == "phone" else f
              for f in entity.fields]
    return entity if fields == list(entity.fields) else replace(entity, fields=tuple(fields))


def key_column(field, keyring=None) -> Column:
    """The key column of a keyed field (always nullable: a value may have no key)."""
    kind = KeyedHash("string", keyring) if field.encrypted else String()
    return Column(field.name + KEY_SUFFIX, kind, nullable=True)


def key_columns(entity, keyring=None) -> list[Column]:
    return [key_column(f, keyring) for f in entity.fields if match_kind(f)]


def key_values(specs, values: dict) -> dict:
    """Key column -> key for the keyed fields among `values` (converted field values)."""
    keys = {}
    for field, column, key in (s.keying for s in specs):
        if field in values:
            value = values[field]
            keys[column] = None if value is None else key(value)
    return keys
