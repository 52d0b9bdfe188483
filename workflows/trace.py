"""The rule trace: one row per rule firing, written once per event even when the event
is handled again (its effect key `trace:<firing key>:<outcome>` in `loom_effects`).

A drain collects the rows of a batch of events in a `Traces` and writes them in the
transaction that marks those events done (or counts a failed attempt): the rows and the
events' done mark commit together, so after a crash an event is either done with its
trace rows or handled again, and its rows are then written once (the effect keys)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from engine import effects
from engine.systables import loom_table

CHUNK = 500  # effect keys per IN (...) look-up


def trace_row(event, firing, outcome, actions, detail) -> dict:
    """The `loom_rule_trace` values of one firing."""
    return {"at": datetime.now(timezone.utc),
            "event_id": event["id"] if isinstance(event["id"], int) else None,
            "event": event["event"], "entity": event["entity"], "record_id": event.get("record_id"),
            "ruleset": firing.ruleset, "rule": firing.rule, "kind": firing.kind, "outcome": outcome,
            "actions": actions, "detail": detail}


class Traces:
    """Trace rows waiting for their transaction (`write`), in firing order."""

    def __init__(self):
        self._rows: dict[str, dict] = {}  # effect key (row_key): values; the first one counts

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, event, firing, outcome, actions, detail, key) -> None:
        self._rows.setdefault(effects.row_key(f"trace:{key}:{outcome}"),
                              trace_row(event, firing, outcome, actions, detail))

    def write(self, conn, schema) -> int:
        """Insert, inside the caller's transaction, the rows whose effect key is not yet
        recorded, and their keys; how many. The waiting rows are gone afterwards (when
        the transaction rolls back, the events they belong to are handled again)."""
        rows, self._rows = self._rows, {}
        if not rows:
            return 0
        table = loom_table(schema, "loom_effects")
        keys = list(rows)
        seen = set()
        for start in range(0, len(keys), CHUNK):
            seen.update(conn.execute(select(table.c.key).where(table.c.key.in_(keys[start:start + CHUNK])))
                        .scalars())
        new = [key for key in keys if key not in seen]
        if new:
            now = datetime.now(timezone.utc)
            conn.execute(table.insert(), [{"key": key, "at": now} for key in new])
            conn.execute(loom_table(schema, "loom_rule_trace").insert(), [rows[key] for key in new])
        return len(new)


def record_trace(session, event, firing, outcome, actions, detail, key) -> None:
    """One firing's trace row, in a transaction of its own (outside a drain's batch)."""
    traces = Traces()
    traces.add(event, firing, outcome, actions, detail, key)
    with session.storage.begin() as conn:
        traces.write(conn, session.storage.schema)
