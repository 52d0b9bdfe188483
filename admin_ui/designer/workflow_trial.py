"""Test on a record: a transition of the draft's workflow taken on a chosen real record in
a transaction that is rolled back (`workflows.trial`) — each check with its verdict (the
guard's leaves with what the record holds), the approvals it needs, what it writes and
the actions that would run after it commits. Nothing is kept. A draft whose tables are
not the live ones cannot be tried in a real transaction: the admin is told which of its
changes to publish first. Every word comes from the engine's codes and details."""
from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _

from admin_ui import problems
from admin_ui.condition_words import describe
from admin_ui.designer import edits
from admin_ui.designer.common import shown
from admin_ui.designer.workflow_editor import located
from admin_ui.formats import record_title
from admin_ui.view import entity_view
from admin_ui.web import admin_only, screens
from engine.auth import ROLES
from engine.errors import LoomError
from metadata import Package
from workflows.trial import trial_transition

RECORDS_OFFERED = 50


def _details(refusal: dict | None) -> list[dict]:
    return (refusal or {}).get("details") or []


def _said(detail: dict) -> str:
    """One problem of a refusal in the request's language (by its code and details)."""
    return problems.translated(detail.get("code", ""), detail.get("message", ""), detail)


def _check_lines(result: dict, check: dict) -> list[tuple[bool, str]]:
    """(passed, words) of one check of the trial: a line per required field and the guard
    for `fields`; none for `approval` when the transition needs no approval."""
    kind, passed, details = check["check"], check["passed"], _details(check["refusal"])
    if kind == "state":
        return [(passed, _("It leaves the record's state %(state)s.", state=result["from"]) if passed
                 else _("It cannot be taken from the record's state %(state)s.", state=result["from"]))]
    if kind == "role":
        if passed:
            return [(True, _("The role %(role)s may take it.", role=result["role"]))]
        return [(False, _("Only the roles %(roles)s may take it, not %(role)s.",
                          roles=", ".join(d.get("roles", [])), role=d.get("role"))) for d in details]
    if kind == "comment":
        if not passed:
            return [(False, _("A comment is required.") if d.get("code") == "comment_required" else _said(d))
                    for d in details]
        return [(True, _("A comment is given, as required.") if result["comment_mode"] == "required"
                 else _("A comment is not required."))]
    if kind == "fields":
        empty = {d.get("field") for d in details if d.get("code") == "required_for_step"}
        lines = [(f not in empty, _("%(field)s must be filled first.", field=f) if f in empty
                  else _("%(field)s is filled.", field=f)) for f in result["requires"]]
        if result["guard"]:
            holds = not any(d.get("code") == "guard_failed" for d in details)
            lines.append((holds, _("The guard holds.") if holds else _("The guard does not hold.")))
        return lines
    if result["approval"] is None:
        return []
    if passed:
        return [(True, _("The role %(role)s gives the approval it needs.", role=result["role"]))]
    return [(False, _("It needs approval by the role %(approver)s; as %(role)s you cannot give it.",
                      approver=d.get("role"), role=d.get("your_role")) if d.get("code") == "approver_role"
             else _said(d)) for d in details]


def _outcome_words(result: dict) -> str:
    if result["outcome"] == "refused":
        return _("The transition would be refused.")
    if result["outcome"] == "pending_approval":
        approval = result["approval"]
        return _("The transition would wait for %(num)s approvals by the role %(role)s.",
                 num=approval["needed"], role=approval["role"])
    return _("The transition would be taken.")


def _refusal_words(result: dict) -> list[str]:
    """The refusal the step met inside its write (a validation rule, a plugin, a record
    moved meanwhile), when no check says it."""
    refusal = result["refusal"]
    if refusal is None or any(c["refusal"] == refusal for c in result["checks"]):
        return []
    return [_said(d) for d in _details(refusal)] or [problems.headline(refusal["code"], refusal["message"])]


def _difference_words(error: LoomError) -> list[str]:
    """The changes of the draft that keep its transition from a real transaction."""
    words = {"adds_entity": lambda name: _("Your draft adds the entity %(name)s.", name=name),
             "removes_entity": lambda name: _("Your draft removes the entity %(name)s.", name=name),
             "adds": lambda name: _("Your draft adds the field %(name)s.", name=name),
             "removes": lambda name: _("Your draft removes the field %(name)s.", name=name),
             "retypes": lambda name: _("Your draft changes the type of the field %(name)s.", name=name)}
    return [words[p.details["change"]](".".join(filter(None, (p.details.get("entity"), p.details.get("column")))))
            for p in error.problems if p.details.get("change") in words]


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
        context["refusal"] = [_("Choose one of the roles %(roles)s.", roles=", ".join(ROLES))]
        return render_template("designer/workflow_test.html", **context), 400
    chosen = context["chosen"]
    try:
        result = trial_transition(g.session, entity, chosen["record"], chosen["transition"], role=chosen["role"],
                                  comment=chosen["comment"],
                                  package=Package.from_document(draft.document, extra_types=g.session.extra_types))
    except LoomError as exc:
        if exc.code == "draft_not_published":
            context["unpublished"] = _difference_words(exc)
        else:
            context["refusal"] = problems.texts(exc)
        return render_template("designer/workflow_test.html", **context), exc.status
    result["check_words"] = [line for check in result["checks"] for line in _check_lines(result, check)]
    result["outcome_words"] = _outcome_words(result)
    result["refusal_words"] = _refusal_words(result)
    if result["guard"]:
        result["guard_words"] = describe(result["guard"]["condition"], entity_doc)
    context["result"] = result
    return render_template("designer/workflow_test.html", **context)
