"""A rule's trigger as a form and in words: the event (created, changed — optionally only
when some fields change —, moved to or from a state, or a schedule), a correlation (so
many times for one value within a window) and a validation rule's message, read from a
submitted form into the rule-set JSON. The condition is the condition builder's."""
from __future__ import annotations

from flask_babel import gettext as _

from admin_ui.designer.edits import dicts, labels
from admin_ui.designer.common import shown
from engine.whole import whole_number

EVENTS = ("record.updated", "record.created", "created_or_updated", "record.transitioned", "timer")
BOTH = ["record.created", "record.updated"]
UNITS = ("m", "h", "d")
EVERY = ("day", "week", "month", "year")


def event_choice(when: dict) -> str:
    event = when.get("event") if isinstance(when, dict) else None
    if isinstance(event, list):
        return "created_or_updated" if set(event) == set(BOTH) else "record.updated"
    return event if event in EVENTS else "record.updated"


def event_titles() -> dict:
    return {"record.updated": _("When a record is changed"), "record.created": _("When a record is created"),
            "created_or_updated": _("When a record is created or changed"),
            "record.transitioned": _("When a record moves to another state"), "timer": _("On a schedule")}


def _states(values: list[str]):
    return values[0] if len(values) == 1 else (values or None)


def when_from_form(form, condition, validation: bool) -> tuple[dict, dict]:
    """(the rule's `when`, its other keys: correlate, message, description) from the form;
    what does not fit is written as given, for the draft's check to say so at its path."""
    choice = form.get("event", "record.updated")
    event = BOTH if choice == "created_or_updated" else choice
    when = {"event": event}
    changed = [f for f in form.getlist("changed") if f]
    if choice in ("record.updated", "created_or_updated") and changed:
        when["changed"] = changed
    if choice == "record.transitioned":
        for key in ("to", "from"):
            states = _states([s for s in form.getlist(key) if s])
            if states:
                when[key] = states
    if choice == "timer":
        when["schedule"] = _schedule(form)
    if condition is not None:
        when["condition"] = condition
    extra = {"correlate": _correlate(form) if form.get("correlate") == "on" and not validation else None,
             "message": labels(form.get("message_en"), form.get("message_zh")) if validation else None,
             "description": (form.get("description") or "").strip() or None}
    return when, extra


def _schedule(form) -> dict:
    at = (form.get("at") or "").strip()
    if form.get("schedule_kind") == "every":
        schedule = {"every": form.get("every") or "day"}
        on = (form.get("on") or "").strip()
        if on:
            schedule["on"] = on
    else:
        offset = (form.get("offset") or "0").strip()
        schedule = {"field": (form.get("schedule_field") or "").strip(), "offset": f"{offset}d"}
        if form.get("yearly") == "on":
            schedule["yearly"] = True
    if at:
        schedule["at"] = at
    return schedule


def _correlate(form) -> dict:
    count = (form.get("count") or "").strip()
    return {"by": (form.get("by") or "").strip(), "count": count if whole_number(count, 0) is None else whole_number(count, 0),
            "within": f"{(form.get('within') or '').strip()}{form.get('unit') if form.get('unit') in UNITS else 'd'}"}


def trigger_view(rule: dict, entity: dict | None, document: dict) -> dict:
    """What the trigger form shows: the choices and the rule's current values."""
    when = rule.get("when") if isinstance(rule.get("when"), dict) else {}
    fields = [(f.get("name"), shown(f.get("label"), str(f.get("name"))), f.get("type"))
              for f in dicts(entity or {}, "fields")]
    workflow = next((w for w in dicts(document, "workflows") if w.get("entity") == (entity or {}).get("name")), None)
    states = [(s.get("name"), shown(s.get("label"), str(s.get("name")))) for s in dicts(workflow or {}, "states")]
    schedule = when.get("schedule") if isinstance(when.get("schedule"), dict) else {}
    correlate = rule.get("correlate") if isinstance(rule.get("correlate"), dict) else {}
    within = str(correlate.get("within") or "")
    message = rule.get("message") if isinstance(rule.get("message"), dict) else {"en": rule.get("message") or ""}
    return {"event": event_choice(when), "titles": event_titles(), "fields": fields, "states": states,
            "changed": _listed(when.get("changed")), "to": _listed(when.get("to")), "from": _listed(when.get("from")),
            "schedule": schedule, "schedule_kind": "every" if "every" in schedule else "field",
            "offset": str(schedule.get("offset") or "0d").removesuffix("d"), "every": EVERY,
            "date_fields": [f for f in fields if f[2] in ("date", "datetime")],
            "correlate": correlate, "within": within[:-1] if within[-1:] in UNITS else within,
            "unit": within[-1:] if within[-1:] in UNITS else "d", "message": message,
            "description": rule.get("description") or ""}


def _listed(value) -> list:
    return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]


def trigger_in_words(rule: dict, entity: dict | None) -> str:
    """"When a Membership card is changed (Tier changes)", "On a schedule", …"""
    when = rule.get("when") if isinstance(rule.get("when"), dict) else {}
    names = {f.get("name"): shown(f.get("label"), str(f.get("name"))) for f in dicts(entity or {}, "fields")}
    choice = event_choice(when)
    words = event_titles()[choice]
    changed = _listed(when.get("changed"))
    if changed and choice in ("record.updated", "created_or_updated"):
        words += " " + _("(when %(fields)s changes)", fields=", ".join(names.get(n, n) for n in changed))
    states = _listed(when.get("to"))
    if states and choice == "record.transitioned":
        words += " " + _("(to %(states)s)", states=", ".join(states))
    return words
