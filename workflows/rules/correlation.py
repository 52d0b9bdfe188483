"""Correlated rules ("3 complaints by the same customer within 30 days") without
durable-rules' session state.

Why outside durable-rules: it keeps per-sid state in process memory, which a restart
loses and which differs between workers.  So the adapter only reports a *match* (the
rule's event type, changed fields and condition held for this event) together with the
correlation key, and a CorrelationStore decides.

The protocol (a database implementation follows the same contract):

``record_match(tenant, ruleset, rule, key, event_id, at, within) -> int``
    Remember that event ``event_id`` matched ``rule`` of ``ruleset`` for ``key`` at the
    aware UTC datetime ``at``, and return how many distinct events matched the same
    (tenant, ruleset, rule, key) in the window ``(at - within, at]``, this one included.
    - idempotent on ``event_id``: recording an event again (a redelivered outbox entry)
      does not count it twice, and returns the count as of that event;
    - ``key`` is a JSON scalar (str, int, float, bool); keys are equal when their JSON
      text is (so 7 and "7" are different customers);
    - atomic per key: two workers recording concurrently get different counts;
    - ``within`` is a ``timedelta``; a store may forget matches older than the longest
      window it has been asked about.

The engine fires a correlated rule when the returned count *equals* the rule's
``count``: once per crossing of the threshold, not again for the 4th, 5th ... event
(it fires again once old matches leave the window and the count reaches it anew).
A redelivered event returns the same count, so its firing repeats: the job queue
deduplicates by (event id, rule).
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

_WINDOW = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_window(text: str) -> timedelta:
    """'90m' -> timedelta(minutes=90); ValueError for anything else."""
    match = _WINDOW.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a window such as 90m, 12h or 30d: {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def event_time(event: dict) -> datetime:
    """When the event happened: its 'at' (or 'occurred_at') as aware UTC, else now."""
    raw = event.get("at", event.get("occurred_at"))
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw, timezone.utc)
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError:
            raw = None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


@runtime_checkable
class CorrelationStore(Protocol):
    def record_match(self, tenant: str, ruleset: str, rule: str, key, event_id, at: datetime,
                     within: timedelta) -> int: ...


class InMemoryCorrelationStore:
    """The protocol in one process (tests, single-process installs); thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._matches: dict[tuple, dict] = defaultdict(dict)  # (..., key) -> {event_id: at}
        self._longest = timedelta(0)

    def record_match(self, tenant, ruleset, rule, key, event_id, at, within) -> int:
        slot = (tenant, ruleset, rule, json.dumps(key, sort_keys=True))
        with self._lock:
            self._longest = max(self._longest, within)
            matches = self._matches[slot]
            at = matches.setdefault(json.dumps(event_id, default=str), at)
            for old in [e for e, t in matches.items() if t <= at - self._longest]:
                del matches[old]
            return sum(1 for t in matches.values() if at - within < t <= at)
