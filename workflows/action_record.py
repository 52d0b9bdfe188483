"""The record an action of a workflow or rule sees: the triggering record as it is now
(earlier actions of the same event may have changed it), read from the database only
when an action reads `context.record`, and once for the actions of an event until one
of them has run (any action may write it); a deleted record is seen as the event left
it."""
from __future__ import annotations

from engine.actions import ActionContext

_UNREAD = object()


class CurrentRecord:
    """The triggering record of one event, for the actions that event runs."""

    def __init__(self, session, event: dict):
        self.session, self.event, self._record = session, event, _UNREAD

    def current(self) -> dict:
        if self._record is _UNREAD:
            self._record = self._read()
        return self._record

    def known_id(self) -> int | None:
        """The record's id without reading it, when the event tells it: what `current()`
        would carry (the record read by the event's `record_id`, or, deleted since, the
        record the event saw, whose id it is); None when the event's record has no such id
        (an SLA timer's event) and only a read tells."""
        rid = self.event.get("record_id")
        seen = self.event.get("record")
        if isinstance(rid, int) and not isinstance(rid, bool) and isinstance(seen, dict) \
                and seen.get("id") == rid and not isinstance(seen.get("id"), bool):
            return rid
        return None

    def acted(self) -> None:
        """An action ran: the next one that reads the record reads it again."""
        if self.event["event"] != "record.deleted":
            self._record = _UNREAD

    def _read(self) -> dict:
        event = self.event
        if event["event"] == "record.deleted":
            return event["record"]
        try:
            return self.session.records.get(event["entity"], event["record_id"])
        except Exception:  # deleted since the event: act on what the event saw
            return event["record"]


class RecordOnUse(ActionContext):
    """An `ActionContext` whose `record` is `read()` on first use: an action that never
    looks at the record (a notification to fixed people, a plugin's no-op) costs no read.
    `known_record_id` is the record's id when known without the read (`CurrentRecord.known_id`):
    an action that needs only the id (`set_field` with a constant value) costs no read either."""

    def __init__(self, read, known_record_id: int | None = None, **fields):
        self._read = read
        self.known_record_id = known_record_id
        super().__init__(record=_UNREAD, **fields)

    @property
    def record(self) -> dict:
        if self._record is _UNREAD:
            self._record = self._read()
        return self._record

    @record.setter
    def record(self, value) -> None:
        self._record = value
