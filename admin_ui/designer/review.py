"""Review and publish: the draft's publishing plan in words (what is added, changed and
dropped, how many records and values each destructive change touches, failing data
checks, affected workflows and rule sets), and publishing it — a destructive plan only
with the tenant's name typed as confirmation (the dropped data is archived), and
records in a removed workflow state only moved to a state the admin chose (the state map);
a retired entity is shown with its records and what names it in the live version."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer.common import drafts, overview_url
from admin_ui.designer.plan_words import GROUP_TITLES, in_words
from admin_ui.designer.state_map import from_form, removals, unmapped, without_moved
from admin_ui.designer.usage import entity_usage
from admin_ui.web import admin_only, screens
from engine.drafts import DraftOutdated


def _review(found, draft, state_map=None) -> dict:
    status = found.status(draft)
    context = {"draft": draft, "status": status, "plan": None, "group_titles": GROUP_TITLES, "removals": [],
               "retired": []}
    if not status["outdated"] and not draft.problems and status["changed"]:
        plan = found.plan(state_map).plan
        context["plan"] = in_words(plan)
        context["removals"] = removals(plan, draft.document, state_map or {})
        context["plan"] = without_moved(context["plan"], context["removals"])
        context["retired"] = _retired(plan, found.published()[1])
    return context


def _retired(plan: dict, live: dict) -> list[dict]:
    """Each entity the plan drops: its records and what names it in the live version."""
    return [{"entity": c["entity"], "rows": c["rows"] or 0, "usage": entity_usage(live, c["entity"])}
            for c in plan["changes"] if c["kind"] == "drop_entity"]


@screens.get("/designer/review")
@admin_only
def designer_review():
    found = drafts()
    return render_template("designer/review.html", title=_("Review and publish"),
                           **_review(found, found.open()))


@screens.post("/designer/publish")
@admin_only
def designer_publish():
    found = drafts()
    draft = found.open()
    state_map = from_form(request.form)
    try:
        context = _review(found, draft, state_map)
    except DraftOutdated:
        return redirect(url_for("screens.designer_review"))
    plan = context["plan"]
    if plan is None:
        return redirect(url_for("screens.designer_review"))
    if plan["destructive"] and request.form.get("confirm", "").strip() != g.tenant_slug:
        context["confirm_problem"] = _("Type %(word)s to confirm the changes that drop data.", word=g.tenant_slug)
    if unmapped(context["removals"]) or context.get("confirm_problem"):
        return render_template("designer/review.html", title=_("Review and publish"), **context), 400
    state_map = {(row["entity"], row["state"]): row["chosen"] for row in context["removals"]}
    try:
        result = found.publish(allow_drop=bool(plan["destructive"]), state_map=state_map)
    except DraftOutdated:
        return redirect(url_for("screens.designer_review"))
    flash(_("Published version %(version)s.", version=result.version))
    return redirect(overview_url())
