"""Serialising duplicate checks, so two writes of the same key cannot both pass a blocking
rule. A write a blocking rule checks takes, before its check and until its transaction
ends, a lock per (tenant, entity, rule, key) of what it writes — an exact rule's keys, a
fuzzy rule's block (its `within` keys and the first character of the name key): two
records that may match share one. The second of two racing writes then checks after the
first committed and, PostgreSQL being read committed (each statement sees what committed
before it), finds it.

PostgreSQL: transaction-level advisory locks on 64-bit hashes of the keys, in sorted
order, after the entity's own lock in shared mode; a batch of more than `MAX_KEYS` keys
takes the entity's lock exclusively instead (one lock, not thousands). SQLite: a write
transaction holds the database's write lock from its BEGIN (IMMEDIATE), so writes, their
checks included, already run one after another; nothing more is taken."""
from __future__ import annotations

import hashlib

from sqlalchemy import text

from engine.dedup.among import exact_key, fuzzy_block

MAX_KEYS = 64  # more keys than this: the entity's lock, exclusively


def lock_keys(conn, schema: str | None, entity_name: str, rules, records) -> None:
    """Hold the locks of `records`' keys by `rules` (the blocking ones) for the rest of the transaction."""
    if conn.dialect.name != "postgresql":
        return
    keys = set()
    for rule in rules:
        for record in records:
            key = exact_key(rule, record) if rule.exact else fuzzy_block(rule, record)[0]
            if key is not None:
                keys.add(_hash(schema, entity_name, rule.name, *key))
    if not keys:
        return
    entity = entity_key(schema, entity_name)
    if len(keys) > MAX_KEYS:
        conn.execute(text("SELECT pg_advisory_xact_lock(:e)"), {"e": entity})
        return
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:e)"), {"e": entity})
    conn.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                 {"keys": sorted(keys)})


def entity_key(schema: str | None, entity_name: str) -> int:
    """The advisory lock key of an entity's duplicate checks (a batch's, or every check's in shared mode)."""
    return _hash(schema, entity_name)


def _hash(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8, person=b"loom-dedup").digest()
    return int.from_bytes(digest, "big", signed=True)
