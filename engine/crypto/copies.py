"""Copies of values encrypted at rest kept outside their columns — an audit row's
changes, an outbox event's record and changes: each such value is *sealed* (encrypted
with the tenant's keyring, as the column is, from its JSON text) before the copy is
written, and *opened* for the readers who may see it (the rules engine, the record's
history, an admin's audit log), who then mask it as they mask the column.

A sealed value is the keyring's token, `v1:k<key>:<nonce>:<ciphertext>`: a reader opens
what parses as a token and decrypts with the tenant's keys, so copies written before
sealing existed read as they were. A copy of a field whose class changed since (no longer
encrypted) opens while the tenant still encrypts some field; in a tenant that encrypts
none any more it stays sealed (its token, never the clear value, is shown)."""
from __future__ import annotations

import json
from dataclasses import replace

from engine.crypto.columns import Encrypted
from engine.crypto.keyring import VERSION, key_of
from engine.crypto.master import KeyProblem
from engine.records.outbox_payload import derivable, derived

PREFIX = VERSION + ":k"


def encrypted_names(metadata, entity_name) -> frozenset:
    """The fields of `entity_name` encrypted at rest under `metadata` (worked out once)."""
    if metadata is None or getattr(metadata, "keyring", None) is None:
        return frozenset()

    def build():
        entity = metadata.entity(entity_name)
        return frozenset(f.name for f in entity.fields if f.encrypted) if entity is not None else frozenset()
    return metadata.memo(("encrypted_names", entity_name), build)


def sealed(value) -> bool:
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return False
    try:
        key_of(value)
    except KeyProblem:
        return False
    return True


class Copies:
    """Sealing and opening the copies of one tenant's encrypted values, under `metadata`
    (its `keyring` and its entities). With no field encrypted, every call returns what
    it is given."""

    _fixed: dict | None = None  # {entity: encrypted field names}, when made from a table

    def __init__(self, metadata):
        self.metadata = metadata
        self.keyring = getattr(metadata, "keyring", None)

    @classmethod
    def of_table(cls, entity_name: str, table) -> "Copies":
        """The copies of one entity's values, from its compiled table (whose encrypted
        columns hold the keyring): for writers that have the tables but no compiled metadata."""
        columns = [c for c in table.columns if isinstance(c.type, Encrypted)]
        copies = cls(None)
        copies.keyring = columns[0].type.keyring if columns else None
        copies._fixed = {entity_name: frozenset(c.name for c in columns)}
        return copies

    def names(self, entity_name) -> frozenset:
        if self._fixed is not None:
            return self._fixed.get(entity_name, frozenset()) if self.keyring is not None else frozenset()
        return encrypted_names(self.metadata, entity_name)

    # -- sealing --------------------------------------------------------------------------
    def _seal(self, value):
        if value is None or sealed(value):
            return value
        return self.keyring.encrypt(json.dumps(value, ensure_ascii=False, default=str))

    def record(self, entity_name, record):
        """A record (`{field: value}`) with its encrypted fields' values sealed."""
        names = self.names(entity_name)
        if not names or not isinstance(record, dict) or names.isdisjoint(record):
            return record
        return {k: self._seal(v) if k in names else v for k, v in record.items()}

    def event(self, event):
        """A record event (`engine.events.RecordEvent`) with its record and changes sealed:
        what its outbox row carries; the event itself when its entity encrypts nothing. A
        new (or deleted) record's changes that are its values (`outbox_payload.derivable`)
        take the record's sealed values, so its outbox payload still leaves them out."""
        if not self.names(event.entity):
            return event
        record = self.record(event.entity, event.record)
        if derivable(event.record, event.changes, event.action):
            changes = derived(record, event.action)
        else:
            changes = self.changes(event.entity, event.changes)
        return replace(event, record=record, changes=changes)

    def changes(self, entity_name, changes):
        """An audit row's changes (`{field: [old, new]}`) with encrypted fields' values sealed."""
        names = self.names(entity_name)
        if not names or not isinstance(changes, dict) or names.isdisjoint(changes):
            return changes
        return {k: [self._seal(v) for v in pair] if k in names and isinstance(pair, (list, tuple)) else pair
                for k, pair in changes.items()}

    # -- opening --------------------------------------------------------------------------
    def _open(self, value):
        """A sealed value in clear; a token that does not open (a value typed to look like
        one, or no keys any more: the tenant encrypts no field now) stays as it is."""
        if self.keyring is None or not sealed(value):
            return value
        try:
            return json.loads(self.keyring.decrypt(value))
        except KeyProblem as problem:
            if problem.code == "ciphertext_invalid":
                return value
            raise
        except ValueError:
            return value

    # With no keyring nothing opens (`_open` gives every value back): what is given is the answer.
    def opened_record(self, record):
        if self.keyring is None or not isinstance(record, dict) or not any(map(sealed, record.values())):
            return record
        return {k: self._open(v) for k, v in record.items()}

    def opened_changes(self, changes):
        if self.keyring is None or not isinstance(changes, dict):
            return changes
        if not any(sealed(v) for pair in changes.values() if isinstance(pair, (list, tuple)) for v in pair):
            return changes
        return {k: [self._open(v) for v in pair] if isinstance(pair, (list, tuple)) else pair
                for k, pair in changes.items()}

    def opened_payload(self, payload: dict) -> dict:
        if self.keyring is None or not isinstance(payload, dict):
            return payload
        record, changes = self.opened_record(payload.get("record")), self.opened_changes(payload.get("changes"))
        if record is payload.get("record") and changes is payload.get("changes"):
            return payload
        opened = {**payload, "record": record}
        if "changes" in payload:  # a version 2 payload may leave them out (`outbox_payload`)
            opened["changes"] = changes
        return opened

    def opened_row(self, row: dict) -> dict:
        """An outbox row with its payload opened."""
        payload = self.opened_payload(row.get("payload"))
        return row if payload is row.get("payload") else {**row, "payload": payload}


def opened_audit(metadata, page: dict) -> dict:
    """A page of the audit log (`{"items": [...], ...}`) with the sealed values opened, for
    admins (who read every class of personal data in clear)."""
    copies = Copies(metadata)
    if copies.keyring is None:
        return page
    return {**page, "items": [{**item, "changes": copies.opened_changes(item.get("changes"))}
                              for item in page["items"]]}
