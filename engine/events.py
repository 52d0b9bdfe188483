"""What a record write announces: one event type, in one shape, for plugins' hooks, the
outbox, the rules engine, the rule trace, actions and webhooks.

`RecordEvent.to_dict()` is that shape (version `v` 1), plain JSON:

    {"v": 1, "event": "record.updated", "id": 42, "tenant": "acme", "entity": "contact",
     "record_id": 7, "record": {...}, "changes": {"email": ["a@x", "b@x"]},
     "actor": "ann@acme.test", "extra": {}, "at": "2026-01-02T03:04:05+00:00"}

`id` is the outbox event's id (null until the event is in the outbox), `at` when the write
happened. The event is deeply read-only: `record`, `changes` and `extra` and everything in
them are dicts and lists that refuse changes (`TypeError`), so a hook cannot change what
the audit trail and the outbox record. `RecordEvent.from_dict()` reads it back, and also the payloads the outbox held
before the shape had a version (where `id` was the record's id).

The outbox row does not hold this shape whole: its payload (version 2,
`engine.records.outbox_payload`) keeps only what the row's columns (`id`, `at`, `event`,
`entity`, `record_id`) and its tenant do not, and a new or deleted record's changes only
when the record does not imply them. `RecordEvent.from_outbox()` and `outbox_dict()` put the shape
together again from the row (and read version 1 payloads, stored before, as they are)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from engine.records.outbox_payload import expanded

VERSION = 1


@dataclass(frozen=True)
class RecordEvent:
    tenant: str
    entity: str
    action: str            # "created" | "updated" | "deleted" | "transitioned"
    record_id: int
    record: dict           # the record as JSON (after the write; before it, for deletes)
    changes: dict = field(default_factory=dict)   # {field: [old, new]} in JSON form
    actor: str | None = None  # the acting user's e-mail, None for the system
    extra: dict = field(default_factory=dict)     # e.g. the transition taken, for "transitioned"
    at: datetime | None = None  # when the write happened (aware UTC)
    id: int | None = None       # the outbox event's id, once the event is in the outbox

    def __post_init__(self):
        object.__setattr__(self, "at", _when(self.at))
        for name in ("record", "changes", "extra"):
            object.__setattr__(self, name, freeze(getattr(self, name)))

    @classmethod
    def of(cls, tenant, entity, action, record_id, record, changes, actor, at) -> "RecordEvent":
        """`RecordEvent(tenant, entity, action, record_id, record, changes, actor, at=at)`,
        the same event made without the frozen dataclass's setting of each field in turn
        (a batch makes one per record)."""
        event = _new(cls)
        event.__dict__.update(tenant=tenant, entity=entity, action=action, record_id=record_id,
                              record=freeze(record), changes=freeze(changes), actor=actor, extra=FrozenDict(),
                              at=_when(at), id=None)
        return event

    @property
    def name(self) -> str:
        return f"record.{self.action}"

    def to_dict(self) -> dict:
        """The event as plain JSON, in the one shape every consumer reads."""
        return thaw(self.as_dict())

    def as_dict(self) -> dict:
        """`to_dict()`'s shape without copying: `record`, `changes` and `extra` are the
        event's own read-only values (still dicts and lists, to `json` too). For what only
        reads or serialises the event: its outbox row, the rules run inside its write."""
        return {"v": VERSION, "event": self.name, "id": self.id, "tenant": self.tenant,
                "entity": self.entity, "record_id": self.record_id, "record": self.record,
                "changes": self.changes, "actor": self.actor, "extra": self.extra,
                "at": _iso(self.at)}

    @classmethod
    def from_dict(cls, data: dict, **given) -> "RecordEvent":
        """The event `to_dict` gave (or an outbox payload written before it had a version);
        `given` fields (e.g. the outbox row's `id`, `at`) take precedence."""
        return cls(**_fields(data, given))

    @classmethod
    def from_outbox(cls, row: dict, tenant: str | None = None) -> "RecordEvent":
        """The event an outbox row carries, with the row's id and time; `tenant` is the one
        whose outbox holds it (a version 2 payload is refused without it, `outbox_payload`)."""
        given = {"id": row["id"], "at": row.get("at")}
        return cls.from_dict(expanded(row, tenant), **(given | ({"tenant": tenant} if tenant else {})))

    def happened_at(self, at: datetime) -> "RecordEvent":
        """The same event stamped with the write's time (kept if it has one)."""
        return self if self.at else replace(self, at=at)


def outbox_dict(row: dict, tenant: str | None = None) -> dict:
    """`RecordEvent.from_outbox(row, tenant).to_dict()` for a row just read from the
    outbox, whose payload is plain JSON the caller owns: its values are shared, not
    frozen and thawed again (two deep copies of the record per event)."""
    given = {"id": row["id"], "at": row.get("at")} | ({"tenant": tenant} if tenant else {})
    fields = _fields(expanded(row, tenant), given)
    return {"v": VERSION, "event": f"record.{fields['action']}", "id": fields["id"], "tenant": fields["tenant"],
            "entity": fields["entity"], "record_id": fields["record_id"], "record": fields["record"],
            "changes": fields["changes"], "actor": fields["actor"], "extra": fields["extra"],
            "at": _iso(fields["at"])}


def _fields(data: dict, given: dict) -> dict:
    """`RecordEvent`'s fields from its dict (`from_dict`), `given` ones first."""
    versioned = "v" in data
    event = data["event"]
    fields = {
        "tenant": data.get("tenant") or "", "entity": data["entity"],
        "action": event.split(".", 1)[1] if event.startswith("record.") else event,
        "record_id": data["record_id"] if versioned else data["id"],
        "record": data.get("record") or {}, "changes": data.get("changes") or {},
        "actor": data.get("actor"), "extra": data.get("extra") or {},
        "at": _when(data.get("at")), "id": data.get("id") if versioned else None}
    fields.update({k: (_when(v) if k == "at" else v) for k, v in given.items()})
    return fields


_last_iso: tuple = (None, None)  # the last time written out and its text


def _iso(at: datetime | None) -> str | None:
    """`at` in ISO 8601. The events of a batch share one time: it is written out once."""
    global _last_iso
    last = _last_iso
    if at is last[0]:
        return last[1]
    text = at.isoformat() if at else None
    _last_iso = (at, text)
    return text


def _when(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


_new = object.__new__


def _refuse(self, *args, **kwargs):
    raise TypeError("a record event is read-only; a hook returns what it sets instead")


class FrozenDict(dict):
    """A dict that refuses changes (still a dict: JSON, comparisons and isinstance work)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


class FrozenList(list):
    """A list that refuses changes (still a list: JSON, comparisons and isinstance work)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = \
        clear = sort = reverse = _refuse

    def __reduce__(self):
        return (FrozenList, (list(self),))


class ImpliedChanges(FrozenDict):
    """A new record's changes made from its very `record` (a read-only dict), which they
    are to the letter: `{field: [None, value]}` for every field but the system fields whose
    value is not None, in the record's order, each value the record's own. A batch makes
    them so (`new_rows`); the outbox's writer then leaves them out of the payload without
    looking (`outbox_payload.derivable`), as long as the event still holds that record."""

    __slots__ = ("made_from",)

    def __init__(self, changes, record: FrozenDict):
        super().__init__(changes)  # a dict, or its (field, pair) items
        self.made_from = record


_SCALARS = (str, int, float, bool, bytes, type(None))
# Exact types, tried first: one set lookup instead of a call per value.
_PLAIN = frozenset(_SCALARS)
_KEPT = _PLAIN | {FrozenDict, FrozenList}
READ_ONLY_TYPES = _KEPT  # the exact types `freeze` keeps as they are (a check before calling it)
_MAPPINGS = frozenset({dict, FrozenDict})
_SEQUENCES = frozenset({list, tuple, FrozenList})


def freeze(value):
    """A read-only copy, all the way down (what is frozen already is kept as it is)."""
    kind = type(value)
    if kind in _KEPT:
        return value
    if kind is dict:
        if _KEPT.issuperset(map(type, value.values())):  # nothing inside to freeze: one copy
            return FrozenDict(value)
        return FrozenDict({k: v if type(v) in _KEPT else freeze(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return FrozenList([v if type(v) in _KEPT else freeze(v) for v in value])
    if isinstance(value, _SCALARS) or isinstance(value, (FrozenDict, FrozenList)):
        return value
    if hasattr(value, "items"):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return FrozenList([freeze(v) for v in value])
    return value


def created(values: dict) -> FrozenDict:
    """A new record's changes, read-only as an event holds them: {field: [None, value]}
    for every value that is not None (built frozen, not frozen after)."""
    return FrozenDict({k: FrozenList((None, v if type(v) in _KEPT else freeze(v)))
                       for k, v in values.items() if v is not None})


def created_from(record: dict, names, given) -> FrozenDict:
    """`created({name: record[name] for name in names if name in given})` in one pass: a new
    record's changes taken from its JSON form, for the fields among `given`."""
    return FrozenDict({name: FrozenList((None, value if type(value) in _KEPT else freeze(value)))
                       for name in names if name in given and (value := record[name]) is not None})


def thaw(value):
    """A plain, JSON-ready copy of an event's value (mappings become dicts, sequences lists)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in _MAPPINGS:
        return {k: v if type(v) in _PLAIN else thaw(v) for k, v in value.items()}
    if kind in _SEQUENCES:
        return [v if type(v) in _PLAIN else thaw(v) for v in value]
    if isinstance(value, _SCALARS):
        return value
    if hasattr(value, "items"):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value
