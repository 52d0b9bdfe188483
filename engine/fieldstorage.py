"""Field storage: the columns each metadata type is stored in, and its values written out
as JSON."""
from __future__ import annotations

from datetime import timezone
from operator import methodcaller

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, String, Text

from engine.coltypes import ID_TYPE, JSON_TYPE, ExactDecimal, UTCDateTime
from engine.crypto.columns import HASH_SUFFIX, Encrypted, KeyedHash

CURRENCY_SUFFIX = "__currency"


# -- columns ------------------------------------------------------------------------

def columns_for(field, schema: str | None, keyring=None) -> list[Column]:
    """The real columns one field is stored in (currency takes two; a field encrypted at
    rest two: its value encrypted with `keyring`'s keys and its keyed hash)."""
    base = field.base_type or field.type
    nullable = not field.required
    if field.encrypted:
        return [Column(field.name, Encrypted(base, keyring), nullable=nullable),
                Column(field.name + HASH_SUFFIX, KeyedHash(base, keyring), nullable=nullable)]
    if base == "currency":
        return [
            Column(field.name, ExactDecimal(field.precision or 18, _scale(field)), nullable=nullable),
            Column(field.name + CURRENCY_SUFFIX, String(3), nullable=nullable),
        ]
    if base == "reference":
        target = f"{schema}.{field.to}.id" if schema else f"{field.to}.id"
        ondelete = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}[
            field.on_delete or "restrict"]
        return [Column(field.name, ID_TYPE, ForeignKey(target, ondelete=ondelete), nullable=nullable)]
    return [Column(field.name, column_type(field), nullable=nullable)]


def indexed_column(field) -> str:
    """The column a field's index (and uniqueness) is on: an encrypted field's keyed hash."""
    return field.name + HASH_SUFFIX if field.encrypted else field.name


def column_type(field):
    base = field.base_type or field.type
    if base in ("string", "email", "phone", "url", "choice"):
        return String(field.max_length) if field.max_length else String()
    if base == "text":
        return Text()
    if base == "integer":
        return BigInteger()
    if base == "decimal":
        return ExactDecimal(field.precision or 18, _scale(field))
    if base == "boolean":
        return Boolean(create_constraint=False)
    if base == "date":
        return Date()
    if base == "datetime":
        return UTCDateTime()
    if base in ("multi_choice", "json"):
        return JSON_TYPE
    if base == "reference":
        return ID_TYPE
    raise KeyError(base)


def _scale(field) -> int:
    return field.scale if field.scale is not None else 2


# -- writing values out as JSON -----------------------------------------------------

def _iso_utc(value) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_DUMPERS = {"decimal": str, "date": methodcaller("isoformat"), "datetime": _iso_utc}


def dumper(base: str):
    """What writes a (non-empty) value of type `base` out as JSON; None when the value is
    its JSON form already."""
    return _DUMPERS.get(base)


def dump_value(base: str, value):
    if value is None:
        return None
    convert = _DUMPERS.get(base)
    return value if convert is None else convert(value)
