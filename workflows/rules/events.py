"""The events a rule listens to: `when.event` is one event or a list of record events
("on created or updated"). A rule listing several events behaves exactly as one rule per
event would, each with the same name: `changed` applies to its record.updated part only,
`to` / `from` to its record.transitioned part only."""

from __future__ import annotations

import copy

RECORD_EVENTS = ("record.created", "record.updated", "record.transitioned")
_ONLY_FOR = {"changed": "record.updated", "to": "record.transitioned", "from": "record.transitioned"}


def rule_events(when: dict) -> tuple[str, ...]:
    """The events of a (well-formed) rule's `when`, in the order written."""
    event = when["event"]
    return (event,) if isinstance(event, str) else tuple(event)


def for_event(rule: dict, event: str) -> dict:
    """A copy of `rule` as if it were written for `event` alone."""
    out = copy.deepcopy(rule)
    when = out["when"]
    when["event"] = event
    for key, only in _ONLY_FOR.items():
        if only != event:
            when.pop(key, None)
    return out


def expanded_rules(ruleset: dict) -> dict:
    """{event: [rule, ...]} of a rule set, each rule as written for that event alone,
    in firing order (the rules' order within the rule set)."""
    out: dict = {}
    for rule in ruleset["rules"]:
        for event in rule_events(rule["when"]):
            out.setdefault(event, []).append(for_event(rule, event))
    return out
