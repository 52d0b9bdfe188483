"""The JSON text of a write's audit and outbox rows, written out once.

An event's outbox payload (`RecordEvent.as_dict()`) holds its `changes`, which its audit
row holds too, and the fields every event of a write shares (its name, tenant, entity,
actor, time). Encoding each row whole encodes them again for every row; here an event's
changes are encoded once for both rows, the shared parts once per write, and the payload
is put together from the pieces: the same text `dumps(event.as_dict())` gives (a property
test holds them equal). The texts are `Encoded`, which `bulk_rows` writes as they are.

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

from engine.events import VERSION, FrozenDict
from engine.records.bulk_rows import Encoded

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
    """The outbox payload texts of one write's events (the shared parts kept per write)."""

    def __init__(self):
        self._heads: dict = {}
        self._tails: dict = {}

    def text(self, event, changes_text: str | None = None) -> Encoded:
        """`dumps(event.as_dict())`; `changes_text` is `dumps(event.changes)` when
        the caller has it."""
        key = (event.name, event.id, event.tenant, event.entity)
        head = self._heads.get(key)
        if head is None:
            head = self._heads[key] = (
                f'{{"v":{VERSION},"event":{dumps(event.name)},"id":{dumps(event.id)},'
                f'"tenant":{dumps(event.tenant)},"entity":{dumps(event.entity)},"record_id":')
        key = (event.actor, event.at)
        tail = self._tails.get(key)
        if tail is None:
            at = event.at.isoformat() if event.at else None
            tail = self._tails[key] = (f',"actor":{dumps(event.actor)},"extra":', f',"at":{dumps(at)}}}')
        if changes_text is None:
            changes_text = dumps(event.changes)
        record_id, extra = event.record_id, event.extra
        return Encoded(f'{head}{record_id if type(record_id) is int else dumps(record_id)},'
                       f'"record":{dumps(event.record)},"changes":{changes_text}'
                       f'{tail[0]}{"{}" if type(extra) is FrozenDict and not extra else dumps(extra)}{tail[1]}')


def encode_rows(at, events, audits) -> tuple[list, list]:
    """(the audit rows, the outbox rows) of a write (`writes.audit_row`s and its events
    stamped with `at`) as tuples of `AUDIT_COLUMNS` and `OUTBOX_COLUMNS` values, their
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
    for event in events:
        event = event.happened_at(at)
        kept = shared.get(id(event.changes))
        text = kept[1] if kept is not None and kept[0] is event.changes else None
        outbox_rows.append((at, event.name, event.entity, event.record_id, payloads.text(event, text), 0))
    return audit_rows, outbox_rows
