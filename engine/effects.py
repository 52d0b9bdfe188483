"""Effect keys in `loom_effects`: proof that an effect of an event already happened, so a
retried job changes nothing twice. Record writes claim their key in their own transaction;
deliveries (e-mail) record it right after sending. Callers namespace their keys."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.systables import loom_table


def row_key(key: str) -> str:
    """A `loom_effects.key` (at most 200 characters) for any effect key."""
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def done(conn, schema, key: str) -> bool:
    effects = loom_table(schema, "loom_effects")
    return conn.execute(select(effects.c.id).where(effects.c.key == row_key(key))).first() is not None


def record(conn, schema, key: str) -> None:
    """Inside the caller's transaction; a duplicate raises IntegrityError."""
    effects = loom_table(schema, "loom_effects")
    conn.execute(effects.insert().values(key=row_key(key), at=datetime.now(timezone.utc)))


def already(storage, key: str) -> bool:
    with storage.connect() as conn:
        return done(conn, storage.schema, key)


def remember(storage, key: str) -> None:
    """Record an effect in its own transaction; recorded before counts as recorded."""
    try:
        with storage.begin() as conn:
            if not done(conn, storage.schema, key):
                record(conn, storage.schema, key)
    except IntegrityError:
        pass
