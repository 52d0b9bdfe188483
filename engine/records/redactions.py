"""Declaring redactions in the audit chain (see `chain`): after an erasure rewrote rows of
the audit and access logs (setting their `redacted_at`), one audit row with the action
`redact` holds each rewritten row's `redaction_digest`, so `loom audit verify` tells a
redaction Loom made from a row changed, or marked redacted, by someone else."""
from __future__ import annotations

from sqlalchemy import select

from engine.records.chain import DECLARED, LOGS, REDACT, redaction_digest
from engine.records.writes import audit_row, utcnow, write_audit
from engine.systables import loom_table

UNDECLARED = "redactions_undeclared"  # the loom_settings key tenant revision 0017 sets


def declare(conn, schema, since, actor_id, entity: str, record_id: int) -> int:
    """Declare the rows of both logs redacted at or after `since` (in `conn`'s transaction),
    in one audit row about `entity` `record_id`; how many rows it declares."""
    return _declare(conn, schema, actor_id, entity, record_id, lambda table: table.c.redacted_at >= since)


def _declare(conn, schema, actor_id, entity, record_id, which) -> int:
    redacted, count = {}, 0
    for log, (name, columns) in LOGS.items():
        table = loom_table(schema, name)
        rows = conn.execute(select(table).where(table.c.redacted_at.is_not(None), which(table))).mappings().all()
        if rows:
            redacted[log] = {str(r["id"]): redaction_digest(r, columns) for r in rows}
            count += len(rows)
    if redacted:
        write_audit(conn, schema, [audit_row(utcnow(), actor_id, REDACT, entity, record_id, 0,
                                             {DECLARED: [None, redacted]})])
    return count


def catch_up(storage) -> int:
    """Declare, as they stand, the rows redacted before redactions were declared (tenant
    revision 0017 marks the tenants holding some); how many."""
    settings = loom_table(storage.schema, "loom_settings")
    with storage.begin() as conn:
        if conn.execute(select(settings.c.key).where(settings.c.key == UNDECLARED)).first() is None:
            return 0
        count = _declare(conn, storage.schema, None, "loom_audit", 0, lambda table: table.c.id.is_not(None))
        conn.execute(settings.delete().where(settings.c.key == UNDECLARED))
    return count
