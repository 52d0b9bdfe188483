"""Key rotation and rewrapping.

`rotate` gives a tenant a new data key and re-encrypts every stored value with it, a batch
per transaction; each value says which key encrypted it, so an interrupted rotation resumes
where it stopped (the new key stays `rotating` until every value is done). A value changed
meanwhile by a write is left as that write stored it (the update is compare-and-set).
Keyed hashes do not change (their key comes from the tenant's first data key).
`rewrap` wraps a tenant's data keys with a new master key, in one transaction; the values
are not touched."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, MetaData, Table, Text, bindparam, or_, select, update

from engine.crypto.keyring import VERSION, Keyring, add_key, key_rows
from engine.crypto.master import KeyProblem, master_key
from engine.systables import loom_table
from engine.coltypes import ID_TYPE

BATCH = 500


@dataclass
class Rotation:
    key: int            # the data key values are now encrypted with
    resumed: bool       # an interrupted rotation was carried on
    values: int = 0     # values re-encrypted
    skipped: int = 0    # values a write changed while they were re-encrypted


def rotate(storage, package, batch: int = BATCH) -> Rotation:
    """Rotate the data key of the tenant whose storage and (compiled) package are given."""
    fields = {e.name: [f.name for f in e.fields if f.encrypted] for e in package.entities}
    fields = {name: names for name, names in fields.items() if names}
    master = master_key()
    with storage.begin() as conn:
        rows = key_rows(conn, storage.schema)
        if not rows:
            raise KeyProblem(f"tenant {storage.slug} has no data key: no field of it is encrypted at rest",
                             code="data_key_missing")
        resumed = rows[-1]["state"] == "rotating"
        Keyring(lambda: rows, f"tenant {storage.slug}", master).open()  # a wrong master key: nothing changed
        keys = loom_table(storage.schema, "loom_keys")
        if not resumed:
            conn.execute(update(keys).values(state="retired"))
            add_key(conn, storage.schema, "rotating", master)
    keyring = Keyring(lambda: _rows(storage), f"tenant {storage.slug}", master)
    result = Rotation(keyring.active, resumed)
    for entity, names in fields.items():
        _reencrypt(storage, _raw_table(storage.schema, entity, names), names, keyring, batch, result)
    with storage.begin() as conn:
        keys = loom_table(storage.schema, "loom_keys")
        conn.execute(update(keys).where(keys.c.seq == result.key).values(state="active"))
    return result


def _rows(storage):
    with storage.connect() as conn:
        return key_rows(conn, storage.schema)


def _raw_table(schema, entity, names) -> Table:
    """The entity's encrypted columns as stored (no decrypting types)."""
    return Table(entity, MetaData(), Column("id", ID_TYPE, primary_key=True),
                 *[Column(n, Text) for n in names], schema=schema)


def _reencrypt(storage, table, names, keyring, batch, result) -> None:
    prefix = f"{VERSION}:k{result.key}:"
    stale = or_(*[table.c[n].not_like(prefix + "%") for n in names])
    last = 0
    while True:
        with storage.begin() as conn:
            rows = conn.execute(select(table).where(table.c.id > last, stale)
                                .order_by(table.c.id).limit(batch)).mappings().all()
            for name in names:
                column = table.c[name]
                changes = [{"_id": r["id"], "_old": r[name], "new": keyring.encrypt(keyring.decrypt(r[name]))}
                           for r in rows if r[name] is not None and not r[name].startswith(prefix)]
                if not changes:
                    continue
                stmt = (update(table).where(table.c.id == bindparam("_id"), column == bindparam("_old"))
                        .values({name: bindparam("new")}))
                done = sum(conn.execute(stmt, [c]).rowcount for c in changes)
                result.values += done
                result.skipped += len(changes) - done
        if len(rows) < batch:
            return
        last = rows[-1]["id"]


def rewrap(storage, new_master, old_master=None) -> int:
    """Wrap the tenant's data keys with `new_master` (opened with the configured master key,
    or `old_master`); returns how many were rewrapped (those already under it are skipped)."""
    old_master = old_master or master_key()
    count = 0
    with storage.begin() as conn:
        keys = loom_table(storage.schema, "loom_keys")
        for row in key_rows(conn, storage.schema):
            if row["master_id"] == new_master.id:
                continue
            data_key = old_master.unwrap(row["wrapped"], row["seq"], row["master_id"], f"tenant {storage.slug}")
            conn.execute(update(keys).where(keys.c.seq == row["seq"]).values(
                wrapped=new_master.wrap(data_key, row["seq"]), master_id=new_master.id))
            count += 1
    return count
