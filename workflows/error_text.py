"""Action error texts kept free of personal values (issue 12): an action's failure, made
safe by `engine.privacy.error_text` before the outbox keeps it as the event's
`last_error` (the dead-letter list), the rule trace keeps it as its `detail` and the
worker logs it; the personal values it must not carry are the event's (`event_values`)."""
from __future__ import annotations

from engine.privacy.error_text import carried_values, personal_values


class ActionError(Exception):
    """An action's failure, its text made safe (`engine.privacy.error_text.describe`); what the outbox keeps as the
    event's `last_error` (`workflows.outbox.process`)."""

    def __init__(self, safe_text: str):
        super().__init__(safe_text)
        self.safe_text = safe_text


def event_values(session, event) -> set[str]:
    """The personal values an event's failure text must not carry: the event's record,
    both sides of its changes, and the record as it is now."""
    entity = session.metadata().entity(event.get("entity"))
    if entity is None:
        return set()
    now = {}
    if event.get("record_id") is not None and event.get("event") != "record.deleted":
        try:
            now = session.records.get_clear(event["entity"], event["record_id"])
        except Exception:  # noqa: BLE001 - deleted since, or unreadable: the event's copy is enough
            now = {}
    return carried_values(entity, event) | personal_values(entity, now)
