"""A record's workflow on its page: the states as a stage bar, the transitions the user
may take now, and taking one.

What may be taken, and why not, is the engine's answer (`workflows.transitions.available`,
the function behind the API's transition list); taking one is `transitions.perform`, as
the API does. A transition whose only obstacle is a required field that is empty is
offered with an input for that field: the field goes to the step, which is checked on it and
writes it in the step's own transaction (a refused step changes nothing)."""
from __future__ import annotations

from flask import flash, g
from flask_babel import gettext as _

from admin_ui import problems, record_form
from admin_ui.view import screen_view
from engine.errors import LoomError
from metadata.conditions import is_empty
from metadata.errors import Problem
from workflows import transitions


def bar(entity: dict, record: dict) -> dict | None:
    """The stage bar and transitions of `record`, or None when its entity has no workflow."""
    workflow = screen_view()["workflow_by_entity"].get(entity["name"])
    if workflow is None:
        return None
    current = record.get(workflow["field"])
    states = [{**state, "current": state["name"] == current} for state in workflow["states"]]
    views = {t["name"]: t for t in workflow["transitions"]}
    offered = transitions.available(g.session, entity["name"], record["id"])["items"]
    return {"field": workflow["field"], "states": states,
            "transitions": [_offer(entity, record, views[item["name"]], item) for item in offered]}


def _offer(entity, record, view, item) -> dict:
    needs = [entity["field_by_name"][name] for name in view["requires"]
             if name in entity["field_by_name"] and is_empty(record.get(name))]
    blockers = [b for b in item["blocked_by"] if b["field"] not in {f["name"] for f in needs}
                or b["code"] != "required_for_step"]
    refused = item.get("refused")
    only_needs = refused is not None and refused["code"] == "transition_blocked" and not blockers
    return {"name": view["name"], "label": view["label"] or view["name"], "comment": view["comment"],
            "needs": needs, "approval": item.get("approval"), "outcome": item.get("outcome"),
            "allowed": item["allowed"] or only_needs,
            "reasons": [] if item["allowed"] or only_needs else _reasons(entity, refused, blockers)}


def _reasons(entity, refused, blockers) -> list[str]:
    """Why a transition cannot be taken now, in the user's language: a guard's explanation
    names its field itself; another problem is prefixed by its field's label."""
    fields = entity["field_by_name"]
    out = []
    for problem in map(Problem.from_dict, blockers or refused.get("details") or ()):
        said = problems.text(problem, fields)
        field = fields.get(problem.path)
        out.append(said if problem.code == "guard_failed" or not problem.path else
                   _("%(field)s: %(problem)s", field=field["label"] if field else problem.path, problem=said))
    return out or [problems.headline(refused["code"], refused["message"])]


def take(entity: dict, record: dict, name: str, form, version: int) -> tuple[int, dict | None]:
    """Take transition `name` with the form's comment and required fields: `(status,
    refusal)`, the refusal (`name`, `messages` in the user's language) when it was refused."""
    view = next((t for t in screen_view()["workflow_by_entity"].get(entity["name"], {}).get("transitions", ())
                 if t["name"] == name), None)
    comment = form.get("comment", "").strip() or None
    try:
        values = _required_values(entity, record, view, form)  # written with the step, or not at all
        status, _result = transitions.perform(g.session, entity["name"], record["id"], name, comment, version,
                                              values=values or None)
    except LoomError as error:
        return error.status, {"name": name, "messages": problems.texts(error, entity["field_by_name"])}
    label = view["label"] if view else name
    flash(_("Your approval of “%(step)s” is recorded; it needs more approvals.", step=label) if status == 202
          else _("Done: %(step)s.", step=label))
    return status, None


def _required_values(entity, record, view, form) -> dict:
    """The values the transition form gave for the transition's required fields."""
    values = {}
    for name in (view or {}).get("requires", ()):
        field = entity["field_by_name"].get(name)
        if field is None or not is_empty(record.get(name)):
            continue
        value, _problem = record_form.record_value(field, record_form.submitted(field, form))
        if value is not None:
            values[name] = value
    return values
