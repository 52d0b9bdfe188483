"""Action error texts kept free of personal values (issue 12).

A failed action's text is stored where more people read it than the record's personal
data is meant for: the outbox's `last_error` (the dead-letter list), the rule trace's
`detail`, the server log. An action should not quote values, but an SMTP server, a
webhook receiver or a validation message may echo them. So every such text is made safe
here before it is stored or logged:

- the values of the record's PII fields — as the event carried them (the record, both
  sides of its changes) and as the record is now — are replaced by `[redacted]`, a phone
  number's digits too in any spacing;
- any e-mail address left is replaced by `[e-mail]` and any run of 7 or more digits
  (spaces, dots, dashes and brackets between them allowed: phone, card and ID numbers)
  by `[number]`, whoever's it is (a related record's, a payload's);
- control characters go, and the text is cut to `MAX_CHARS`.

What stays is the error's kind and its wording: enough to act on it."""
from __future__ import annotations

import re

from engine.records.pii import pii_fields

REDACTED, EMAIL, NUMBER = "[redacted]", "[e-mail]", "[number]"
MAX_CHARS = 2000
MIN_VALUE = 2  # shorter values (one letter) are not searched for: they would blank the text
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_DIGITS = re.compile(r"\+?\d(?:[\s.\-()]{0,2}\d){6,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ActionError(Exception):
    """An action's failure, its text made safe (`safe_text`); what the outbox keeps as the
    event's `last_error` (`workflows.outbox.process`)."""

    def __init__(self, safe_text: str):
        super().__init__(safe_text)
        self.safe_text = safe_text


def personal_values(entity, *records) -> set[str]:
    """The texts of `entity`'s PII values in `records` (dicts; a change's [before, after]
    pairs may be given as records too)."""
    names = pii_fields(entity) if entity is not None else {}
    found = set()
    for record in records:
        for name in names:
            value = (record or {}).get(name)
            for one in value if isinstance(value, (list, tuple)) else [value]:
                if one is None or isinstance(one, bool):
                    continue
                text = str(one.get("amount", "")) if isinstance(one, dict) else str(one)
                if len(text.strip()) >= MIN_VALUE:
                    found.add(text.strip())
    return found


def safe_text(text: str, values=()) -> str:
    """`text` without the given personal `values`, e-mail addresses or long numbers."""
    text = _CONTROL.sub(" ", str(text))
    for value in sorted(values, key=len, reverse=True):
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 5 and len(digits) >= len(value) // 2:  # a number: its digits in any spacing
            text = re.sub(r"[\s.\-()]{0,2}".join(digits), REDACTED, text)
    text = _EMAIL.sub(EMAIL, text)
    text = _DIGITS.sub(NUMBER, text)
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def describe(exc: BaseException, values=()) -> str:
    """`exc` as a safe one-line text: its kind and its message, without personal values."""
    message = getattr(exc, "message", None) or str(exc)
    return safe_text(f"{type(exc).__name__}: {message}".strip(), values)


def event_values(session, event) -> set[str]:
    """The personal values an event's failure text must not carry: the event's record,
    both sides of its changes, and the record as it is now."""
    entity = session.metadata().entity(event.get("entity"))
    if entity is None:
        return set()
    changes = event.get("changes") or {}
    sides = [{k: v[i] for k, v in changes.items() if isinstance(v, (list, tuple)) and len(v) == 2} for i in (0, 1)]
    now = {}
    if event.get("record_id") is not None and event.get("event") != "record.deleted":
        try:
            now = session.records.get_clear(event["entity"], event["record_id"])
        except Exception:  # noqa: BLE001 - deleted since, or unreadable: the event's copy is enough
            now = {}
    return personal_values(entity, event.get("record") or {}, *sides, now)
