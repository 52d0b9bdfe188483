"""The workflows editor: an entity's workflow in the draft as two editable tables (states,
transitions) — the source of truth — beside a diagram drawn from them that highlights
the selected state or transition; add, rename and remove states and transitions, and
set a state's category and SLA timer (business hours, escalations) and a transition's
sources, target, roles, guard, required fields, comment and approvals. Each edit is saved
into the draft, its problems shown beside the state or transition they concern."""
from __future__ import annotations

import json

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.condition_words import describe
from admin_ui.designer import edits
from admin_ui.designer import edits_workflows as wf
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from admin_ui.designer.condition_builder import builder_for, condition_from_form
from admin_ui.designer.workflow_diagram import Words, diagram
from engine.whole import whole_number
from admin_ui.web import admin_only, screens
from engine.auth import ROLES
from engine.errors import LoomError
from engine.jsontext import strict_loads
from metadata.workflow import APPROVAL_MODES, COMMENT_MODES, STATE_CATEGORIES

GUARD_PREFIX = "guard"  # the condition builder's form names of a transition's guard
HELD_CAP = 10_001  # records counted in a state at most ("10,000+" beyond)


def category_words() -> dict:
    return {"open": _("Open"), "active": _("Active"), "waiting": _("Waiting"), "done": _("Done"),
            "cancelled": _("Cancelled")}


def comment_words() -> dict:
    return {"none": _("No comment"), "optional": _("Comment optional"), "required": _("Comment required")}


class FormRefused(ValueError):
    """A form input that cannot become part of the document (said to the admin; nothing saved)."""


def refused_page(message: str):
    return render_template("screens/error.html", title=_("Not possible"), message=message), 400


def located(entity: str) -> tuple[object, int | None, dict | None, dict | None]:
    """(the admin's draft, the workflow's index, the workflow, the entity document)."""
    draft = drafts().open()
    entity_doc = next((e for e in edits.dicts(draft.document, "entities") if e.get("name") == entity), None)
    if entity_doc is None:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    found = [(i, w) for i, w in edits.indexed(draft.document, "workflows") if w.get("entity") == entity]
    index, workflow = found[0] if found else (None, None)
    return draft, index, workflow, entity_doc


def _selected() -> tuple[str, str] | None:
    kind, _sep, name = request.args.get("select", "").partition(":")
    return (kind, name) if kind in ("state", "transition") and name else None


def workflow_url(entity: str, select: str | None = None) -> str:
    url = url_for("screens.designer_workflow", entity=entity, select=select)
    return f"{url}#editor" if select else url


@screens.get("/designer/workflows")
@admin_only
def designer_workflows():
    draft = drafts().open()
    bound = {w.get("entity"): w for w in edits.dicts(draft.document, "workflows")}
    rows = [{"name": e.get("name"), "label": shown(e.get("label"), str(e.get("name"))),
             "workflow": bound.get(e.get("name"))} for e in edits.dicts(draft.document, "entities")]
    return render_template("designer/workflows.html", title=_("Workflows"), rows=rows)


@screens.get("/designer/e/<entity>/workflow")
@admin_only
def designer_workflow(entity):
    draft, index, workflow, entity_doc = located(entity)
    title = _("Workflow of %(name)s", name=shown(entity_doc.get("label"), entity))
    if workflow is None:
        choices = [f.get("name") for f in edits.dicts(entity_doc, "fields") if f.get("type") == "choice"]
        return render_template("designer/workflow.html", title=title, entity=entity, workflow=None,
                               choice_fields=choices)
    at = f"/workflows/{index}"
    held = _held(entity, workflow)
    states = [{**_state_row(s, f"{at}/states/{j}", draft.problems, workflow), "held": held.get(_text(s.get("name")))}
              for j, s in edits.indexed(workflow, "states")]
    transitions = [_transition_row(t, f"{at}/transitions/{k}", draft.problems, entity_doc)
                   for k, t in edits.indexed(workflow, "transitions")]
    own = [p for p in problems_at(draft.problems, at)
           if not str(p["field"]).startswith((f"{at}/states/", f"{at}/transitions/"))]
    selected = _selected()
    labels = {("state", s["name"]): s["shown"] for s in states}
    labels |= {("transition", t["name"]): t["shown"] for t in transitions}
    words = Words(title=_("Diagram of the workflow %(name)s", name=shown(workflow.get("label"), str(workflow.get("name")))),
                  any_state=_("any state"), initial=_("initial state"),
                  transition=_("%(name)s: from %(from)s to %(to)s."), selected=_("selected"))
    picture = diagram(workflow, labels, words, selected)
    chosen_state = next((s for s in states if selected == ("state", s["name"])), None)
    chosen_transition = next((t for t in transitions if selected == ("transition", t["name"])), None)
    fields = [f.get("name") for f in edits.dicts(entity_doc, "fields") if f.get("name") != workflow.get("field")]
    builder = None
    if chosen_transition is not None:
        under = f"{chosen_transition['path']}/guard"
        builder = builder_for(chosen_transition["guard"], entity_doc, draft.document, GUARD_PREFIX,
                              problems=[{**p, "field": str(p["field"])[len(under):]}
                                        for p in problems_at(draft.problems, under)])
    return render_template(
        "designer/workflow.html", title=title, entity=entity, workflow=workflow, states=states,
        transitions=transitions, problems=own, diagram=picture, selected=selected, chosen_state=chosen_state,
        chosen_transition=chosen_transition, categories=STATE_CATEGORIES, category_words=category_words(),
        comment_modes=COMMENT_MODES, comment_words=comment_words(), approval_modes=APPROVAL_MODES, roles=ROLES,
        fields=fields, state_names=[s["name"] for s in states], builder=builder)


def _held(entity: str, workflow: dict) -> dict:
    """How many published records are in each state of the workflow now (a state the
    published entity does not have holds none; an entity not published yet, nothing)."""
    field = workflow.get("field")
    published = g.session.metadata().package.workflow_for(entity)
    if published is None or published.field != field:
        return {}
    names = [s.get("name") for s in edits.dicts(workflow, "states") if s.get("name") in published.state_names()]
    try:
        return {name: g.session.records.count(entity, [(field, name)], cap=HELD_CAP) for name in names}
    except LoomError:
        return {}


def _text(value) -> str:
    """A name or keyword of the draft as text ("" for what a malformed draft holds there;
    its problems say what is wrong)."""
    return value if isinstance(value, str) else ""


def _label_map(label) -> dict:
    return label if isinstance(label, dict) else {"en": label} if isinstance(label, str) else {}


def _state_row(state: dict, path: str, problems: list, workflow: dict) -> dict:
    sla = state.get("sla") if isinstance(state.get("sla"), dict) else None
    return {"name": _text(state.get("name")), "shown": shown(state.get("label"), _text(state.get("name"))),
            "label": _label_map(state.get("label")), "category": _text(state.get("category")), "sla": sla,
            "escalate": json.dumps(sla["escalate"], ensure_ascii=False, indent=1) if sla and sla.get("escalate") else "",
            "initial": state.get("name") == workflow.get("initial"), "path": path,
            "problems": problems_at(problems, path)}


def _transition_row(transition: dict, path: str, problems: list, entity_doc: dict) -> dict:
    source = transition.get("from")
    approval = transition.get("approval") if isinstance(transition.get("approval"), dict) else None
    return {"name": _text(transition.get("name")), "shown": shown(transition.get("label"), _text(transition.get("name"))),
            "label": _label_map(transition.get("label")), "any": source == wf.ANY,
            "from": [_text(s) for s in source] if isinstance(source, list) else [], "to": _text(transition.get("to")),
            "roles": transition.get("roles") or [], "requires": transition.get("requires") or [],
            "comment": _text(transition.get("comment")) or "none", "approval": approval,
            "guard": transition.get("guard"),
            "guard_words": describe(transition["guard"], entity_doc) if transition.get("guard") else "",
            "actions": transition.get("actions") or [],
            "actions_json": json.dumps(transition.get("actions") or [], ensure_ascii=False, indent=1),
            "path": path, "problems": problems_at(problems, path)}


# -- reading the forms --------------------------------------------------------------

def _name(key: str = "name") -> str:
    name = request.form.get(key, "").strip()
    if not name:
        raise FormRefused(_("Give a name."))
    return name


def _json(key: str, kind: type, what: str):
    """The JSON in the form's `key` (empty: None); FormRefused unless it is a `kind`."""
    text = request.form.get(key, "").strip()
    if not text:
        return None
    try:
        value = strict_loads(text)
    except ValueError:
        value = None
    if not isinstance(value, kind):
        raise FormRefused(what)
    return value


def _actions(key: str):
    return _json(key, list, _("Write the actions as a JSON list, e.g. %(example)s.",
                               example='[{"action": "set_field", "params": {"field": "priority", "value": "high"}}]'))


def _sla() -> dict | None:
    form = request.form
    timer, within = form.get("sla_timer", "").strip(), form.get("sla_within", "").strip()
    escalate = _actions("sla_escalate")
    if not timer and not within and not escalate:
        return None
    sla = {"timer": timer, "within": within}
    if form.get("sla_business_hours") == "on":
        sla["business_hours"] = True
    if escalate:
        sla["escalate"] = escalate
    return sla


def _sources():
    if request.form.get("from_any") == "on":
        return wf.ANY
    return request.form.getlist("from")


def _approval() -> dict | None:
    form = request.form
    role = form.get("approval_role", "").strip()
    if not role:
        return None
    count = form.get("approval_count", "1").strip() or "1"
    if not 0 < (whole_number(count, 0) or 0) <= 1000:
        raise FormRefused(_("The number of approvals is a whole number from 1 to 1000."))
    approval = {"role": role, "mode": form.get("approval_mode", "any")}
    if approval["mode"] == "any":
        approval["count"] = int(count)
    return approval


def _guard(entity_doc: dict, document: dict):
    """The guard from the condition builder (None: none); a condition the engine finds
    problems in is kept in the draft with them, JSON that does not parse is refused."""
    condition, problems = condition_from_form(request.form, GUARD_PREFIX, entity_doc, document)
    unreadable = [p for p in problems if p.get("code") == "invalid_json"]
    if unreadable:
        raise FormRefused(unreadable[0]["message"])
    return condition


def _transition_properties(entity: str):
    def read() -> dict:
        _draft, _index, _workflow, entity_doc = located(entity)
        return _properties(entity_doc, _draft.document)
    return read


def _properties(entity_doc: dict, document: dict) -> dict:
    form = request.form
    comment = form.get("comment", "none")
    return {"from": _sources(), "to": form.get("to", "").strip(),
            "label": edits.labels(form.get("label_en"), form.get("label_zh")),
            "roles": form.getlist("roles"), "requires": form.getlist("requires"),
            "comment": None if comment == "none" else comment, "approval": _approval(),
            "guard": _guard(entity_doc, document), "actions": _actions("actions")}


def _edit(edit, entity, *args, select: str | None = None):
    try:
        values = [arg() if callable(arg) else arg for arg in args]
    except FormRefused as exc:
        return refused_page(str(exc))
    return save_edit(edit, entity, *values, back=workflow_url(entity, select))


# -- the edits ------------------------------------------------------------------------

@screens.post("/designer/e/<entity>/workflow")
@admin_only
def designer_add_workflow(entity):
    return _edit(wf.add_workflow, entity, lambda: _name(), lambda: request.form.get("field", ""))


@screens.post("/designer/e/<entity>/workflow/states")
@admin_only
def designer_add_state(entity):
    name = request.form.get("name", "").strip()
    return _edit(wf.add_state, entity, lambda: _name(), request.form.get("category", "open"),
                 edits.labels(request.form.get("label_en"), request.form.get("label_zh")),
                 select=f"state:{name}")


@screens.post("/designer/e/<entity>/workflow/states/<state>")
@admin_only
def designer_set_state(entity, state):
    return _edit(wf.set_state, entity, state, edits.labels(request.form.get("label_en"), request.form.get("label_zh")),
                 request.form.get("category", "open"), _sla, select=f"state:{state}")


@screens.post("/designer/e/<entity>/workflow/states/<state>/initial")
@admin_only
def designer_initial_state(entity, state):
    return _edit(wf.set_initial, entity, state, select=f"state:{state}")


@screens.post("/designer/e/<entity>/workflow/states/<state>/rename")
@admin_only
def designer_rename_state(entity, state):
    new = request.form.get("name", "").strip()
    return _edit(wf.rename_state, entity, state, lambda: _name(), select=f"state:{new}")


@screens.post("/designer/e/<entity>/workflow/states/<state>/remove")
@admin_only
def designer_remove_state(entity, state):
    return _edit(wf.remove_state, entity, state)


@screens.post("/designer/e/<entity>/workflow/transitions")
@admin_only
def designer_add_transition(entity):
    name = request.form.get("name", "").strip()
    return _edit(wf.add_transition, entity, lambda: _name(), _sources, request.form.get("to", "").strip(),
                 edits.labels(request.form.get("label_en"), request.form.get("label_zh")),
                 select=f"transition:{name}")


@screens.post("/designer/e/<entity>/workflow/transitions/<transition>")
@admin_only
def designer_set_transition(entity, transition):
    return _edit(wf.set_transition, entity, transition, _transition_properties(entity),
                 select=f"transition:{transition}")


@screens.post("/designer/e/<entity>/workflow/transitions/<transition>/rename")
@admin_only
def designer_rename_transition(entity, transition):
    new = request.form.get("name", "").strip()
    return _edit(wf.rename_transition, entity, transition, lambda: _name(), select=f"transition:{new}")


@screens.post("/designer/e/<entity>/workflow/transitions/<transition>/remove")
@admin_only
def designer_remove_transition(entity, transition):
    return _edit(wf.remove_transition, entity, transition)
