"""Counters in `loom_settings` (number sequences, round-robin cursors), changed in one
locked read-modify-write: on PostgreSQL the settings row is locked (`FOR UPDATE`), on
SQLite write transactions are serialised (`BEGIN IMMEDIATE`).

A counter and the record write that uses it are two transactions, so a worker could
crash between them. To stay gapless and fair when the job is retried, a value handed
out is *held* under its holder (a record or an effect key) inside the setting until the
write is done: a retry by the same holder gets the same value back, and `release`
drops the hold once the write committed."""
from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.effects import row_key
from engine.systables import loom_table

KEY_LENGTH = 100  # loom_settings.key


def setting_key(kind: str, entity: str, field: str) -> str:
    """`seq:<entity>:<field>` / `rr:<entity>:<field>`, hashed when too long for the column."""
    key = f"{kind}:{entity}:{field}"
    if len(key) <= KEY_LENGTH:
        return key
    return f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def holder_key(holder) -> str:
    return row_key(str(holder))


class Setting:
    """One `loom_settings` row, locked for the rest of the transaction; `value` is a
    private copy to change, written back when the block ends."""

    def __init__(self, conn, schema, key: str, initial):
        self.conn, self.key = conn, key
        self.table = loom_table(schema, "loom_settings")
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(self.table).values(key=key, value=initial)
                     .on_conflict_do_nothing(index_elements=["key"]))
        stmt = select(self.table.c.value).where(self.table.c.key == key)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        self.loaded = conn.execute(stmt).scalar_one()
        self.value = copy.deepcopy(self.loaded)
        if not isinstance(self.value, dict):
            self.value = copy.deepcopy(initial)

    @property
    def held(self) -> dict:
        return self.value.setdefault("held", {})

    def save(self) -> None:
        if "held" in self.value and not self.value["held"]:
            del self.value["held"]
        if self.value != self.loaded:
            self.conn.execute(self.table.update().where(self.table.c.key == self.key)
                              .values(value=self.value))


@contextmanager
def locked_setting(storage, key: str, initial: dict):
    """`with locked_setting(storage, key, {"next": 1}) as setting: ...` in its own
    write transaction; the setting's changed value is saved on a clean exit."""
    with storage.begin() as conn:
        setting = Setting(conn, storage.schema, key, initial)
        yield setting
        setting.save()


def release(storage, key: str, holder) -> None:
    """Drop the hold of `holder` (its write is done)."""
    if not holder:
        return
    with locked_setting(storage, key, {}) as setting:
        setting.held.pop(holder_key(holder), None)


def read(storage, key: str):
    """The stored value of a setting, or None."""
    table = loom_table(storage.schema, "loom_settings")
    with storage.connect() as conn:
        return conn.execute(select(table.c.value).where(table.c.key == key)).scalar()
