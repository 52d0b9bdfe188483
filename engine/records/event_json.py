"""The JSON text of a write's audit and outbox rows, written out once.

An event's outbox payload (version 2, `outbox_payload.compact(event)`) holds its record
and, unless the record implies them, its `changes`, which its audit row holds too, and
its actor, which every event of a write shares. Encoding each row whole encodes them
again for every row; here an event's changes are encoded once for both rows, the actor
once per write, and the payload is put together from the pieces: the same text
`dumps(compact(event))` gives (a property test holds them equal). The texts are
`Encoded`, which `bulk_rows` writes as they are.

`dumps` is orjson's compact UTF-8 JSON (several times faster than the json module's
encoder, which made encoding a batch's audit and outbox rows cost more than writing
them), read back by any JSON reader as the same value. Where orjson refuses a value
(an integer beyond 64 bits, a lone surrogate, a key that is not text, a date, time or
other value that is not JSON) the json module writes it with its default settings, or
raises its error. A non-finite number is written as null (the json module wrote NaN,
which PostgreSQL refused), a UUID or an enum as its value (the json module refused
them); no field type gives one."""
from __future__ import annotations

import json

import orjson

from engine.records.bulk_rows import Encoded
from engine.records.outbox_payload import VERSION, omits_changes

AUDIT_COLUMNS = ("at", "actor_id", "action", "entity", "record_id", "record_version", "changes")
OUTBOX_COLUMNS = ("at", "event", "entity", "record_id", "payload", "attempts")

_orjson = orjson.dumps
# Dates, times and dataclasses are not JSON values: orjson hands them to the json module,
# which refuses them as before (orjson would write them itself).
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value) -> str:
    """`value` as JSON text (see the module's docstring)."""
    try:
        return _orjson(value, option=_PASSTHROUGH).decode()
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(value)


class Payloads:
    """The outbox payload texts (version 2, `outbox_payload`) of one write's events (the
    actor's part written out once per write)."""

    def __init__(self):
        self._actors: dict = {}

    def text(self, event, changes_text: str | None = None) -> Encoded:
        """`dumps(outbox_payload.compact(event))`; `changes_text` is `dumps(event.changes)`
        when the caller has it."""
        actor = event.actor
        actor_text = self._actors.get(actor)
        if actor_text is None:
            actor_text = self._actors[actor] = "" if actor is None else f',"actor":{dumps(actor)}'
        if omits_changes(event):
            changes_text = ""
        else:
            changes_text = f',"changes":{dumps(event.changes) if changes_text is None else changes_text}'
        extra = event.extra
        extra_text = f',"extra":{dumps(extra)}' if extra else ""
        return Encoded(f'{{"v":{VERSION},"record":{dumps(event.record)}{changes_text}{actor_text}{extra_text}}}')


def encode_rows(at, events, audits) -> tuple[list, list]:
    """(the audit rows, the outbox rows) of a write (`writes.audit_row`s and its events,
    which happened at `at`) as tuples of `AUDIT_COLUMNS` and `OUTBOX_COLUMNS` values, their
    JSON values `Encoded` text: an audit row holding the very changes of its event shares
    their text with the event's payload."""
    payloads = Payloads()
    shared = {}
    audit_rows = []
    for audit in audits:
        changes = audit["changes"]
        text = Encoded(dumps(changes))
        shared[id(changes)] = (changes, text)
        audit_rows.append((audit["at"], audit["actor_id"], audit["action"], audit["entity"], audit["record_id"],
                           audit["record_version"], text))
    outbox_rows = []
    for event in events:  # the payload holds no time: the row's `at` is the event's
        kept = shared.get(id(event.changes))
        text = kept[1] if kept is not None and kept[0] is event.changes else None
        outbox_rows.append((at, event.name, event.entity, event.record_id, payloads.text(event, text), 0))
    return audit_rows, outbox_rows
