"""The rows a write leaves beside the record: the audit trail and the outbox."""
from __future__ import annotations

from datetime import datetime, timezone
from operator import itemgetter

from engine.events import created, created_from
from engine.records.bulk_rows import Rows, insert_all
from engine.records.event_json import AUDIT_COLUMNS, OUTBOX_COLUMNS, encode_rows
from engine.records.outbox_payload import compact
from engine.systables import loom_table

_audit_values = itemgetter(*AUDIT_COLUMNS)
_outbox_values = itemgetter(*OUTBOX_COLUMNS)


def utcnow() -> datetime:
    """The time a write happens (aware UTC)."""
    return datetime.now(timezone.utc)


def audit_row(at, actor_id, action, entity, record_id, version, changes) -> dict:
    return {"at": at, "actor_id": actor_id, "action": action, "entity": entity,
            "record_id": record_id, "record_version": version, "changes": changes}


def outbox_row(at, event, copies=None) -> dict:
    """The outbox row of an event that happened at `at`; its payload is version 2's
    (`outbox_payload.compact`: the event's read-only values, serialised as they are,
    without a copy), with the values of fields encrypted at rest sealed by `copies`
    (`engine.crypto.copies`)."""
    payload = compact(copies.event(event) if copies is not None else event)
    return {"at": at, "event": event.name, "entity": event.entity, "record_id": event.record_id,
            "payload": payload, "attempts": 0}


def sealed_audit(copies, row: dict) -> dict:
    """An `audit_row` with the values of fields encrypted at rest sealed in its changes."""
    changes = copies.changes(row["entity"], row["changes"])
    return row if changes is row["changes"] else {**row, "changes": changes}


def created_changes(shape, values, record=None) -> dict:
    """A new record's audited changes: every field given a value (read-only already, as
    its event keeps them), taken from the new `record` as JSON when it was dumped."""
    if record is None:
        return created(shape.dump_values(values))
    return created_from(record, shape.names, values)


def audit_rows(schema, rows) -> Rows:
    """The audit trail's rows of `rows` (`audit_row`s), for `bulk_rows.insert_all`."""
    return Rows(loom_table(schema, "loom_audit"), AUDIT_COLUMNS, list(map(_audit_values, rows)))


def outbox_rows(schema, rows) -> Rows:
    """The outbox's rows of `rows` (`outbox_row`s), for `bulk_rows.insert_all`."""
    return Rows(loom_table(schema, "loom_outbox"), OUTBOX_COLUMNS, list(map(_outbox_values, rows)))


def encoded_rows(schema, at, events, audits) -> list[Rows]:
    """The audit rows (`audit_row`s) and outbox rows (of `events`, stamped with `at`) of a
    write, for `bulk_rows.insert_all`: their JSON written out once (`event_json`)."""
    audit, outbox = encode_rows(at, events, audits)
    return [Rows(loom_table(schema, "loom_audit"), AUDIT_COLUMNS, audit),
            Rows(loom_table(schema, "loom_outbox"), OUTBOX_COLUMNS, outbox)]


def write_audit(conn, schema, rows) -> None:
    insert_all(conn, [audit_rows(schema, rows)])


def write_outbox(conn, schema, rows) -> None:
    insert_all(conn, [outbox_rows(schema, rows)])
