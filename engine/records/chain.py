"""Tamper evidence of the audit log and the access log: each row is sealed into a hash chain
and `verify` finds the first row that no longer fits it.

A sealed row holds `content_hash`, the SHA-256 of its canonical content (its columns as
sorted JSON), `link`, the SHA-256 of the previous row's link and this content_hash, and
`seq`, its place in the chain (1, 2, 3 …). Rows are written unsealed (nothing on the
write path) and sealed afterwards in batches, in id order, by `seal` — which the job
queue's minute tick and `loom audit verify` call. Sealing runs under a lock (PostgreSQL:
a transaction-scoped advisory lock per log; SQLite: the write transaction's lock), so
concurrent sealers extend the chain one at a time; a row whose transaction commits after
a later id was sealed simply gets the next place.

An erasure that rewrites a row's content sets `redacted_at` and *declares* the rewrite in
the chain: one audit row (action `redact`) holding, for each row it rewrote, the row's
`redaction_digest` (the hash of its new content and its `redacted_at`). Verification
accepts a redacted row's content no longer matching its content_hash only when the
latest declaration naming it holds its digest, and still checks its link: setting
`redacted_at` on a row, or changing a redacted row or its `redacted_at`, is found.

What it shows: a sealed row changed, removed or moved (a gap or a wrong link). What it
does not: a row changed before it was sealed, or the newest sealed rows removed with
nothing after them (keep the last link elsewhere to catch that)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text

from engine.records.access_log import flush
from engine.systables import loom_table
from engine.timefmt import iso_utc
from tenants.storage import lock_key

LOGS = {
    "audit": ("loom_audit", ("id", "at", "actor_id", "action", "entity", "record_id", "record_version", "changes")),
    "access": ("loom_access_log", ("id", "at", "actor_id", "action", "entity", "record_id", "detail")),
}
BATCH = 1000


@dataclass(frozen=True)
class Broken:
    """The first row of a log that does not fit its chain."""
    log: str
    row_id: int
    reason: str

    def to_dict(self) -> dict:
        return {"log": self.log, "row_id": self.row_id, "reason": self.reason}


def content_hash(row, columns) -> str:
    content = {name: iso_utc(row[name]) if name == "at" else row[name] for name in columns}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def link_of(previous: str, digest: str) -> str:
    return hashlib.sha256((previous + digest).encode()).hexdigest()


REDACT = "redact"  # the audit action declaring redactions
DECLARED = "$redacted"  # its changes: {DECLARED: [None, {log: {row id: digest}}]} (no field has this name)


def redaction_digest(row, columns) -> str:
    """The hash a declaration holds of a redacted row: its content and when it was redacted."""
    return hashlib.sha256(f"{content_hash(row, columns)}|{iso_utc(row['redacted_at'])}".encode()).hexdigest()


def declared(storage, log: str) -> dict:
    """{row id: digest} of `log`'s rows as the latest declaration naming each holds them."""
    audit = loom_table(storage.schema, "loom_audit")
    found: dict = {}
    with storage.connect() as conn:
        for changes in conn.execute(select(audit.c.changes).where(audit.c.action == REDACT)
                                    .order_by(audit.c.id)).scalars():
            pair = (changes or {}).get(DECLARED)
            rows = ((pair[1] if isinstance(pair, list) and len(pair) == 2 else None) or {}).get(log) or {}
            found.update({int(k): v for k, v in rows.items() if str(k).isdigit()})
    return found


def seal(storage, log: str) -> int:
    """Seal every row of `log` ("audit" or "access") not sealed yet; how many it sealed."""
    name, columns = LOGS[log]
    table = loom_table(storage.schema, name)
    if log == "access":
        flush(storage)
    sealed = 0
    while True:
        with storage.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": lock_key(f"{storage.schema}.{name}:chain")})
            last = conn.execute(select(table.c.seq, table.c.link).where(table.c.seq.is_not(None))
                                .order_by(table.c.seq.desc()).limit(1)).first()
            seq, previous = (last[0], last[1]) if last else (0, "")
            rows = conn.execute(select(table).where(table.c.seq.is_(None)).order_by(table.c.id)
                                .limit(BATCH)).mappings().all()
            changes = []
            for row in rows:
                digest = content_hash(row, columns)
                seq, previous = seq + 1, link_of(previous, digest)
                changes.append({"row": row["id"], "digest": digest, "chained": previous, "place": seq})
            if changes:
                conn.execute(table.update().where(table.c.id == bindparam("row")).values(
                    content_hash=bindparam("digest"), link=bindparam("chained"), seq=bindparam("place")), changes)
        sealed += len(changes)
        if len(rows) < BATCH:
            return sealed


def verify(storage, log: str) -> Broken | None:
    """The first sealed row of `log` that does not fit the chain, or None when it is intact."""
    name, columns = LOGS[log]
    table = loom_table(storage.schema, name)
    expected, previous = 1, ""
    redactions = declared(storage, log)
    while True:
        with storage.connect() as conn:
            rows = conn.execute(select(table).where(table.c.seq >= expected).order_by(table.c.seq)
                                .limit(BATCH)).mappings().all()
        for row in rows:
            if row["seq"] != expected:
                return Broken(log, row["id"], f"rows are missing before it (place {expected} is gone)")
            if row["redacted_at"] is None and content_hash(row, columns) != row["content_hash"]:
                return Broken(log, row["id"], "its content changed after it was sealed")
            if row["redacted_at"] is not None and redactions.get(row["id"]) != redaction_digest(row, columns):
                return Broken(log, row["id"], "it is marked redacted, but no redaction in the audit chain "
                                              "declares its content and time (changed or marked afterwards)")
            if link_of(previous, row["content_hash"] or "") != row["link"]:
                return Broken(log, row["id"], "its link does not follow from the previous row")
            expected, previous = expected + 1, row["link"]
        if len(rows) < BATCH:
            return None


def seal_and_verify(storage) -> list[Broken]:
    """Seal both logs, then verify them: the first broken row of each (empty: intact)."""
    found = []
    for log in LOGS:
        seal(storage, log)
        broken = verify(storage, log)
        if broken is not None:
            found.append(broken)
    return found
