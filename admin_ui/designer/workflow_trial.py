"""Test on a record: a transition of the draft's workflow tried on a chosen real record,
without taking it — each check with its verdict (the guard's leaves with what the
record holds), the approvals it needs, the actions that would run and the values the
record would then hold. Nothing is written (`workflows.trial`)."""
from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _

from admin_ui.condition_words import describe
from admin_ui.designer import edits
from admin_ui.designer.common import shown
from admin_ui.designer.workflow_editor import located
from admin_ui.formats import record_title
from admin_ui.view import entity_view
from admin_ui.web import admin_only, screens
from engine.auth import ROLES
from engine.errors import LoomError
from metadata.fieldtypes import known_types
from metadata.workflow import Workflow
from metadata.workflow_checks import typed_entities
from workflows.trial import try_transition

RECORDS_OFFERED = 50


def _check_words(check: dict) -> str:
    kind = check["check"]
    if kind == "state":
        return (_("It leaves the record's state %(state)s.", state=check["state"]) if check["passed"]
                else _("It cannot be taken from the record's state %(state)s.", state=check["state"]))
    if kind == "role":
        return (_("The role %(role)s may take it.", role=check["role"]) if check["passed"]
                else _("Only the roles %(roles)s may take it, not %(role)s.", roles=", ".join(check["roles"]),
                       role=check["role"]))
    if kind == "comment":
        if check["mode"] == "required":
            return _("A comment is given, as required.") if check["passed"] else _("A comment is required.")
        return _("A comment is not required.")
    if kind == "required":
        return (_("%(field)s is filled.", field=check["field"]) if check["passed"]
                else _("%(field)s must be filled first.", field=check["field"]))
    if kind == "approver":
        return (_("The role %(role)s gives the approval it needs.", role=check["role"]) if check["passed"]
                else _("It needs approval by the role %(approver)s; as %(role)s you cannot give it.",
                       approver=check["roles"][0], role=check["role"]))
    return _("The guard holds.") if check["passed"] else _("The guard does not hold.")


def _outcome_words(result: dict) -> str:
    if result["outcome"] == "refused":
        return _("The transition would be refused.")
    if result["outcome"] == "pending_approval":
        approval = result["approval"]
        return _("The transition would wait for %(num)s approvals by the role %(role)s.",
                 num=approval["needed"], role=approval["role"])
    return _("The transition would be taken.")


def _records(entity: str) -> list[tuple[int, str]]:
    """(id, title) of the first records of the entity the admin may read (none when the
    entity is not published yet)."""
    view = entity_view(entity)
    if view is None:
        return []
    try:
        page = g.session.records.list(entity, [("limit", str(RECORDS_OFFERED))])
    except LoomError:
        return []
    return [(r["id"], record_title(view, r)) for r in page["items"]]


@screens.get("/designer/e/<entity>/workflow/test")
@admin_only
def designer_workflow_test(entity):
    draft, _index, workflow, entity_doc = located(entity)
    context = {"entity": entity, "title": _("Test a transition of %(name)s on a record",
                                            name=shown(entity_doc.get("label"), entity)),
               "workflow": workflow, "roles": ROLES, "records": _records(entity), "result": None,
               "transitions": [(t.get("name"), shown(t.get("label"), str(t.get("name"))))
                               for t in edits.dicts(workflow or {}, "transitions")],
               "chosen": {"transition": request.args.get("transition", ""), "record": request.args.get("record", ""),
                          "role": request.args.get("role", g.session.actor.role),
                          "comment": request.args.get("comment", "")},
               "problems": draft.problems}
    if workflow is None or draft.problems or not context["chosen"]["transition"] or not context["chosen"]["record"]:
        return render_template("designer/workflow_test.html", **context)
    if context["chosen"]["role"] not in ROLES:
        context["refusal"] = _("Choose one of the roles %(roles)s.", roles=", ".join(ROLES))
        return render_template("designer/workflow_test.html", **context), 400
    try:
        model = typed_entities([entity_doc], known_types(g.session.extra_types))[entity]
        result = try_transition(g.session, model, Workflow.from_document(workflow), context["chosen"]["record"],
                                context["chosen"]["transition"], context["chosen"]["role"],
                                context["chosen"]["comment"])
    except LoomError as exc:
        context["refusal"] = exc.message
        return render_template("designer/workflow_test.html", **context), exc.status
    result["check_words"] = [(c, _check_words(c)) for c in result["checks"]]
    result["outcome_words"] = _outcome_words(result)
    if result["guard"]:
        result["guard_words"] = describe(result["guard"]["condition"], entity_doc)
    context["result"] = result
    return render_template("designer/workflow_test.html", **context)
