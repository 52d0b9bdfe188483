"""The publishing plan in words: the publisher's plan (`engine.publish.plan`) grouped into
what is added, changed and dropped, each change said in the request's language, with
how many records and values a destructive one touches."""
from __future__ import annotations

from flask_babel import gettext as _

GROUPS = ("added", "changed", "dropped")


def _said(change: dict) -> str:
    target = f"{change['entity']}.{change['field']}" if change.get("field") else (change.get("entity") or "")
    kind = change["kind"]
    words = {
        "add_entity": lambda: _("Add the entity %(target)s", target=target),
        "drop_entity": lambda: _("Drop the entity %(target)s", target=target),
        "add_field": lambda: _("Add the field %(target)s", target=target),
        "drop_field": lambda: _("Drop the field %(target)s", target=target),
        "alter_label": lambda: _("Relabel %(target)s", target=target),
        "alter_hidden": lambda: _("Hide or show %(target)s", target=target),
        "alter_required": lambda: _("Change whether %(target)s is required", target=target),
        "alter_options": lambda: _("Change the choices of %(target)s", target=target),
        "alter_type": lambda: _("Change the type of %(target)s", target=target),
        "drop_state": lambda: _("Drop a workflow state of %(target)s", target=target),
    }.get(kind)
    return words() if words else change["description"]


def group_of(kind: str) -> str:
    verb = kind.split("_", 1)[0]
    return {"add": "added", "drop": "dropped"}.get(verb, "changed")


def in_words(plan: dict) -> dict:
    """{"added"/"changed"/"dropped": [{text, detail, destructive, rows, held}] (the detail is
    the publisher's own description, None when the words are that description), "destructive",
    "failing" checks, "affected", "refused"}."""
    groups = {name: [] for name in GROUPS}
    for change in plan["changes"]:
        text = _said(change)
        groups[group_of(change["kind"])].append({
            "text": text, "detail": change["description"] if change["description"] != text else None,
            "destructive": change["destructive"],
            "rows": change["rows"] or 0, "held": change["values"] or 0})
    return {"groups": groups, "destructive": [c for g in groups.values() for c in g if c["destructive"]],
            "failing": [c for c in plan["checks"] if not c["passed"]], "affected": plan["affected"],
            "refused": [r for r in plan["refused"] if r.get("code") != "destructive_change"]}


GROUP_TITLES = {"added": lambda: _("Added"), "changed": lambda: _("Changed"), "dropped": lambda: _("Dropped")}
