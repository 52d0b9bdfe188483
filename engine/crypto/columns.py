"""The two columns of a field encrypted at rest: its value encrypted (AES-GCM, a new nonce
each time) and, beside it in ``<field>__hash``, the keyed hash of the value, which serves
equality filters, uniqueness and indexes. Both take the field's Python value and turn it
into one canonical text first, so a filter's value hashes as the stored one did."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

from engine.crypto.master import KeyProblem

HASH_SUFFIX = "__hash"


def to_text(base: str, value) -> str:
    """A field value as the canonical text that is encrypted and hashed."""
    if base == "datetime":
        return value.astimezone(timezone.utc).isoformat()
    if base == "date":
        return value.isoformat()
    return str(value)


def from_text(base: str, text: str):
    if base == "integer":
        return int(text)
    if base == "decimal":
        return Decimal(text)
    if base == "date":
        return date.fromisoformat(text)
    if base == "datetime":
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    return text


def _keys(keyring):
    if keyring is None:
        raise KeyProblem("these tables were compiled without the tenant's keys", code="data_key_missing")
    return keyring


class Encrypted(TypeDecorator):
    """A field's value, encrypted with the tenant's newest data key; read back in clear."""

    impl = Text
    cache_ok = True

    def __init__(self, base: str, keyring=None):
        super().__init__()
        self.base, self.keyring = base, keyring

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return _keys(self.keyring).encrypt(to_text(self.base, value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return from_text(self.base, _keys(self.keyring).decrypt(value))


class KeyedHash(TypeDecorator):
    """The keyed hash of a field's value: equal values, equal hashes (and only they)."""

    impl = String(64)
    cache_ok = True

    def __init__(self, base: str, keyring=None):
        super().__init__()
        self.base, self.keyring = base, keyring

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return _keys(self.keyring).digest(to_text(self.base, value))
