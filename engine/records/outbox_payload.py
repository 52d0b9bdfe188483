"""An outbox row's payload, version 2: only what the row's columns do not hold already.

An outbox row has the columns `id`, `at`, `event`, `entity` and `record_id`, and lives in
its tenant's schema. A version 1 payload (`RecordEvent.to_dict()`) repeated all of them
and, for a `record.created` (or `record.deleted`) event, a copy of the record's values in
its `changes`. A version 2 payload keeps the rest:

    {"v": 2, "record": {...}, "changes": {...}, "actor": "ann@acme.test", "extra": {...}}

- `changes` is left out when a reader can derive it exactly: for `record.created` and
  `record.deleted` when the changes are the record's non-empty fields, in the record's
  order (`derived`: `{field: [null, value]}`, for a delete `[value, null]`, for every
  field but the system fields whose value is not null; the writer checks it to the
  letter, `derivable`, so changes a hook's value put out of the record's order, or a
  sealed copy of their own, are kept), for the other events when they are empty;
- `actor` is left out when it is null (the system), `extra` when it is empty.

`expanded` reads a row back as the version 1 payload (the event's one shape), from the
row's columns and the tenant it is read for; a version 1 payload (or one written before
payloads had a version) is read as it is. The version 1 text is what the event's
`to_dict()` gives, so a reader cannot tell which version a row holds."""
from __future__ import annotations

from engine.records.dump import SYSTEM_FIELDS

VERSION = 2
IMPLIED = frozenset({"created", "deleted"})  # the actions whose changes a record may imply
_SYSTEM = frozenset(SYSTEM_FIELDS)


def derived(record, action: str) -> dict:
    """The changes `record` implies for an event of `action` ("created": `{field: [None,
    value]}`, "deleted": `{field: [value, None]}`) for every field but the system fields
    whose value is not None, in the record's order."""
    if action == "deleted":
        return {name: [value, None] for name, value in record.items() if value is not None and name not in _SYSTEM}
    return {name: [None, value] for name, value in record.items() if value is not None and name not in _SYSTEM}


def derivable(record, changes, action: str) -> bool:
    """Whether `changes` are `derived(record, action)` to the letter (an `IMPLIED` action):
    the same fields in the same order, each with the record's very value (the same JSON,
    types included) on its side and None on the other."""
    made_from = getattr(changes, "made_from", None)
    if made_from is not None and made_from is record and action == "created":
        return True  # made from this very record (`events.ImpliedChanges`, a batch's)
    if action not in IMPLIED or not isinstance(record, dict) or not isinstance(changes, dict):
        return False
    new, empty = (0, 1) if action == "deleted" else (1, 0)
    pairs = iter(changes.items())
    for name, value in record.items():
        if value is None or name in _SYSTEM:
            continue
        entry = next(pairs, None)
        if entry is None or not _same(entry[0], name):
            return False
        pair = entry[1]
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[empty] is not None \
                or not _same(pair[new], value):
            return False
    return next(pairs, None) is None


def omits_changes(event) -> bool:
    """Whether an event's (`RecordEvent`) version 2 payload leaves its changes out."""
    if event.action in IMPLIED:
        return derivable(event.record, event.changes, event.action)
    return not event.changes


def compact(event) -> dict:
    """The version 2 payload of an event (`RecordEvent`) as a dict (its own read-only values)."""
    payload = {"v": VERSION, "record": event.record}
    if not omits_changes(event):
        payload["changes"] = event.changes
    if event.actor is not None:
        payload["actor"] = event.actor
    if event.extra:
        payload["extra"] = event.extra
    return payload


def expanded(row, tenant: str | None = None) -> dict:
    """The payload of an outbox `row` (its columns) in version 1's shape, `tenant` the one
    whose outbox holds it: a version 1 (or older) payload as it is. A version 2 payload does
    not name its tenant: read without one, it is refused (`ValueError`)."""
    payload = row["payload"]
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        return payload
    if not tenant:
        raise ValueError(f"outbox event {row.get('id')} is read without its tenant: "
                         "a version 2 payload does not hold it, the tenant's outbox does")
    record = payload.get("record") or {}
    changes = payload.get("changes")
    if changes is None:
        action = row["event"].split(".", 1)[1]
        changes = derived(record, action) if action in IMPLIED else {}
    return {"v": 1, "event": row["event"], "id": row.get("id"), "tenant": tenant, "entity": row["entity"],
            "record_id": row["record_id"], "record": record, "changes": changes, "actor": payload.get("actor"),
            "extra": payload.get("extra") or {}, "at": row.get("at")}


def _same(a, b) -> bool:
    """Whether `a` and `b` are the same JSON value (`1`, `1.0` and `True` are not)."""
    if a is b:
        return True
    kind = type(a)
    if isinstance(a, dict):
        return (isinstance(b, dict) and len(a) == len(b)
                and all(_same(x, y) and _same(a[x], b[y]) for x, y in zip(a, b)))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    if kind is not type(b) or a != b:
        return False
    return kind is not float or repr(a) == repr(b)  # -0.0 and 0.0
