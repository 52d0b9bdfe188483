"""A stale edit: the user saved a form loaded at version N while someone else saved the
record after N. Nothing is written; the user sees the other person's changes (from the
record's audit trail) beside their own values, on a form of the new version, and saves
again to re-apply their values onto it.

A field only the other person changed keeps the other person's value; a field only the
user changed keeps the user's; a field both changed is a conflict, shown with both values
and the user's in the input, so nothing is overwritten without the user seeing it."""
from __future__ import annotations

from flask import abort, g

from engine.whole import whole_number
from admin_ui import record_form
from admin_ui.people import names_of

VERSION_FIELD = "version"


def form_version(form) -> int:
    """The record version the form was loaded at (a form without one is a bad request)."""
    text = form.get(VERSION_FIELD, "")
    if whole_number(text, 1) is None or whole_number(text) >= 2**31:
        abort(400)
    return whole_number(text)


def their_changes(entity: dict, record: dict, loaded: int) -> list[dict]:
    """The changes saved after version `loaded`, field by field in form order: `field`,
    `old` (at `loaded`), `new` (now), `who` and `at` of the last change."""
    entries = [e for e in g.session.records.history(entity["name"], record["id"]) if e["version"] > loaded]
    names = names_of({e["actor_id"] for e in entries})
    found: dict = {}
    for entry in entries:
        for name, (old, new) in (entry["changes"] or {}).items():
            change = found.setdefault(name, {"old": old})
            change.update(new=new, who=names.get(entry["actor_id"]), at=entry["at"])
    out = []
    for section in record_form.sections(entity):
        for field in section["fields"]:
            if field["name"] in found:
                out.append({"field": field, **found[field["name"]]})
    return out


def reapplied(entity: dict, record: dict, loaded: int, form) -> tuple[dict, dict]:
    """`(inputs, stale)`: the edit form's input values on the current `record` with the
    user's values re-applied, and what the form says about it (`changes`, `conflicts`)."""
    changes = their_changes(entity, record, loaded)
    theirs = {c["field"]["name"]: c for c in changes}
    inputs, conflicts = {}, set()
    for section in record_form.sections(entity):
        for field in section["fields"]:
            name = field["name"]
            if not record_form.editable(entity, field):
                inputs[name] = record_form.input_value(field, record.get(name))
                continue
            if form.getlist(record_form.SHOWN) and name not in form.getlist(record_form.SHOWN):
                inputs[name] = record_form.input_value(field, record.get(name))  # not on the form
                continue
            mine = record_form.submitted(field, form)
            change = theirs.get(name)
            if change is not None and mine == record_form.input_value(field, change["old"]):
                mine = record_form.input_value(field, record.get(name))
            elif change is not None and mine != record_form.input_value(field, change["new"]):
                conflicts.add(name)
            inputs[name] = mine
    return inputs, {"changes": changes, "conflicts": conflicts}
