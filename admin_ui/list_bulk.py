"""Bulk actions on the rows selected in a list: set a field, take a workflow transition,
delete. Each row goes through the engine on its own (the same update, transition and
delete the API runs, with their permissions, guards and sharing), and each gets its own
result: done, waiting for approval, or refused with the engine's reason. Nothing is
all-or-nothing, and nothing is skipped silently.

Assigning gives the rows to another owner through `records.assign`, which only a tenant
admin may use: members are not offered it."""
from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _

from engine.whole import whole_number
from admin_ui import formats, problems
from admin_ui.form_values import record_value, submitted
from admin_ui.list_state import list_entity
from admin_ui.people import active_people
from admin_ui.view import screen_view
from admin_ui.web import screens
from engine.errors import LoomError
from workflows import transitions

MAX_ROWS = 200
EDITABLE_TYPES = ("string", "text", "email", "phone", "url", "choice", "integer", "decimal", "date",
                  "datetime", "boolean", "reference")


def editable_fields(entity: dict) -> list[dict]:
    """The fields a bulk edit may set: visible, writable, not the workflow's state."""
    workflow = screen_view()["workflow_by_entity"].get(entity["name"])
    state_field = workflow["field"] if workflow else None
    return [f for f in entity["fields"] if f["base_type"] in EDITABLE_TYPES and not f["readonly"]
            and f["name"] != state_field]


def bulk_transitions(entity: dict) -> list[dict]:
    """The workflow transitions the user's role may take (the engine checks each row)."""
    workflow = screen_view()["workflow_by_entity"].get(entity["name"])
    return [t for t in workflow["transitions"] if t["allowed"]] if workflow else []


def bulk_owners() -> list[tuple[int, str]]:
    """Who the rows may be given to: every active user, for an admin; nobody otherwise."""
    return active_people() if g.ui_user.is_admin else []


@screens.get("/e/<entity>/bulk/value")
def bulk_value_input(entity):
    """The input for the new value of the field a bulk edit sets (by its type)."""
    found = list_entity(entity)
    field = next((f for f in editable_fields(found) if f["name"] == request.args.get("field")), None)
    return render_template("screens/_list_bulk_value.html", field=field, entity=found)


@screens.post("/e/<entity>/bulk")
def bulk_action(entity):
    found = list_entity(entity)
    ids = request.form.getlist("ids")[:MAX_ROWS]
    action = request.form.get("action")
    if not ids:
        return _answer([], _("Select at least one row."))
    titles = _titles(found, ids)  # before the action: a deleted row keeps its name
    if action == "edit":
        field = next((f for f in editable_fields(found) if f["name"] == request.form.get("field")), None)
        if field is None:
            return _answer([], _("Choose a field to set."))
        value, problem = record_value(field, submitted(field, request.form, "value"))
        if problem or _unreadable(field, value):  # refused once, not row by row
            return _answer([], problem or _("%(value)s is not a value for %(field)s.",
                                            value=request.form.get("value", "")[:60], field=field["label"]))
        data = {field["name"]: value}
        results = _each(ids, lambda i: g.session.records.update(entity, i, data), found["field_by_name"])
    elif action == "transition":
        name = request.form.get("transition")
        if name not in {t["name"] for t in bulk_transitions(found)}:
            return _answer([], _("Choose a transition."))
        results = _each(ids, lambda i: transitions.perform(g.session, entity, i, name), found["field_by_name"])
    elif action == "assign" and g.ui_user.is_admin:
        owner = request.form.get("owner", "")
        if owner not in {str(i) for i, _name in bulk_owners()}:
            return _answer([], _("Choose who gets the records."))
        results = _each(ids, lambda i: g.session.records.assign(entity, i, int(owner)), found["field_by_name"])
    elif action == "delete":
        results = _each(ids, lambda i: g.session.records.delete(entity, i), found["field_by_name"])
    else:
        return _answer([], _("Choose an action."))
    for result in results:
        result["title"] = titles.get(str(result["id"]), f"#{result['id']}")
    return _answer(results, None, changed=True)


def _unreadable(field: dict, value) -> bool:
    """A number field's text that is no whole number (the form could not even read it)."""
    return field["base_type"] in ("integer", "reference") and value is not None and not isinstance(value, int)


def _each(ids, run, fields) -> list[dict]:
    """Run the action on every row: (id, outcome, the engine's reasons in the user's language;
    `fields` the entity's field views by name, for their labels)."""
    results = []
    for record_id in ids:
        try:
            answer = run(record_id)
        except LoomError as refused:
            general = [problems.text(p) for p in refused.problems if not p.path]
            reasons = [problems.text(p, fields) if p.code == "guard_failed" else
                       f"{fields[p.path]['label'] if p.path in fields else p.path}: {problems.text(p, fields)}"
                       for p in refused.problems if p.path]
            results.append({"id": record_id, "outcome": "refused", "reasons": reasons,
                            "message": " ".join(general) or problems.headline(refused.code, refused.message)})
            continue
        waiting = isinstance(answer, tuple) and answer[0] == 202
        results.append({"id": record_id, "outcome": "waiting" if waiting else "done", "message": "", "reasons": []})
    return results


def _answer(results, problem, changed=False):
    response = render_template("screens/_list_bulk_result.html", results=results, problem=problem)
    headers = {"HX-Trigger": "loom-list-changed"} if changed else {}
    return response, (400 if problem else 200), headers


def _titles(entity: dict, ids) -> dict:
    """Titles of the rows still readable (deleted rows keep their number)."""
    wanted = sorted({n for n in map(whole_number, ids) if n is not None and n > 0})[:MAX_ROWS]
    if not wanted:
        return {}
    try:
        items = g.session.records.list(entity["name"], [("id__in", ",".join(map(str, wanted))),
                                                         ("limit", str(MAX_ROWS))])["items"]
    except LoomError:
        return {}
    return {str(r["id"]): formats.record_title(entity, r) for r in items}
