"""Counters of one tenant in `loom_settings`: number sequences (`seq:<name>`) and
round-robin turns (`rr:<name>`), each changed in one locked read-modify-write: on
PostgreSQL the settings row is locked (`FOR UPDATE`), on SQLite write transactions are
serialised (`BEGIN IMMEDIATE`).

A counter and the write that uses what it handed out are two transactions, so a worker
could crash between them. To stay gapless and fair when the job is retried, a value
handed out is *held* under its holder (a record id or an effect key) inside the setting
until the write is done: a retry by the same holder gets the same value back, and
`release` drops the hold once the write committed."""
from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.effects import row_key
from engine.errors import ValidationFailed
from engine.systables import loom_table

KEY_LENGTH = 100  # loom_settings.key
MAX_NAME = 200


def setting_key(kind: str, name: str) -> str:
    """`seq:<name>` / `rr:<name>`, hashed when too long for the column."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"a counter's name is text of 1 to {MAX_NAME} characters, not {str(name)[:40]!r}",
                               code="bad_counter_name")
    key = f"{kind}:{name}"
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


def read(storage, key: str):
    """The stored value of a setting, or None."""
    table = loom_table(storage.schema, "loom_settings")
    with storage.connect() as conn:
        return conn.execute(select(table.c.value).where(table.c.key == key)).scalar()


class _Counter:
    kind = ""
    initial: dict = {}

    def __init__(self, storage, name: str):
        self._storage, self.key = storage, setting_key(self.kind, name)

    def release(self, holder) -> None:
        """Drop the hold of `holder`: its write is done (nothing without a holder)."""
        if not holder:
            return
        with locked_setting(self._storage, self.key, self.initial) as setting:
            setting.held.pop(holder_key(holder), None)


class Sequence(_Counter):
    """A gapless number sequence 1, 2, 3 … of the tenant."""
    kind, initial = "seq", {"next": 1}

    def next(self, holder=None) -> int:
        """The next number, unique across concurrent workers: one given back first, else a
        new one. Held for `holder` until `release(holder)`: asked again, the holder gets
        the same number back."""
        with locked_setting(self._storage, self.key, self.initial) as seq:
            key = holder_key(holder) if holder else None
            number = seq.held.get(key) if key else None
            if number is None:
                free = seq.value.get("free") or []
                if free:
                    number = min(free)
                    free.remove(number)
                    if not free:
                        del seq.value["free"]
                else:
                    number = int(seq.value.get("next", 1))
                    seq.value["next"] = number + 1
                if key:
                    seq.held[key] = number
        return number

    def give_back(self, holder, number: int) -> None:
        """A number that was not used after all (its write was refused, or another run
        numbered the record): it is handed out again before any new one, and the
        holder's hold on it is dropped."""
        with locked_setting(self._storage, self.key, self.initial) as seq:
            key = holder_key(holder) if holder else None
            if key and seq.held.get(key) == number:
                del seq.held[key]
            free = seq.value.get("free") or []
            if number in free or number in seq.held.values() or not 0 < number < int(seq.value.get("next", 1)):
                return
            if number == int(seq.value["next"]) - 1:
                seq.value["next"] = number
            else:
                seq.value["free"] = sorted([*free, number])


class Turns(_Counter):
    """Round-robin turns over ids: each call gives the id after the last one given."""
    kind, initial = "rr", {}

    def next(self, ids, holder=None) -> int:
        """The first of `ids` above the last id given (wrapping around to the lowest),
        held for `holder` like a sequence's number. ValidationFailed (`no_turn_ids`) for no ids."""
        ids = list(ids)
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValidationFailed("turns are taken over a non-empty list of ids (whole numbers)", code="no_turn_ids")
        ids = sorted(set(ids))
        with locked_setting(self._storage, self.key, self.initial) as cursor:
            key = holder_key(holder) if holder else None
            held = cursor.held.get(key) if key else None
            if held in ids:
                return held
            last = cursor.value.get("last")
            chosen = next((i for i in ids if isinstance(last, int) and i > last), ids[0])
            cursor.value["last"] = chosen
            if key:
                cursor.held[key] = chosen
        return chosen


class Counters:
    """What `session.counters` offers: `sequence(name)` and `turns(name)`."""

    def __init__(self, storage):
        self._storage = storage

    def sequence(self, name: str) -> Sequence:
        return Sequence(self._storage, name)

    def turns(self, name: str) -> Turns:
        return Turns(self._storage, name)
