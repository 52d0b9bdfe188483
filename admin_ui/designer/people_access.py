"""The designer's page of one user's access: the tenant roles and permission sets they
hold (checkboxes), why they may or may not use an entity, a field or a record (the
engine's explanation: roles, permission sets, sharing terms), and handing every record
they own to another active user. Every change goes through `engine.people` and the
record service, which keep the rules."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.i18n import language_of_request
from admin_ui.web import admin_only, screens
from engine import auth, people
from engine.errors import LoomError
from engine.install import TenantSession
from metadata.language import text_in


def _in_words(error: LoomError) -> str:
    """The engine's refusal in the page's language (its own message when not one of these)."""
    words = {
        "unknown_role": lambda: _("Choose among the tenant's roles and permission sets."),
        "unknown_user": lambda: _("Choose an active user to hand the records to."),
        "assign_refused": lambda: _("You may not hand these records over."),
        "entity_not_found": lambda: _("There is no such entity."),
        "record_not_found": lambda: _("There is no such record."),
        "user_not_found": lambda: _("There is no such user."),
    }.get(error.code)
    return words() if words else error.message


def _person(user_id):
    try:
        return people.person(g.session.storage, user_id)
    except LoomError:
        abort(404)


def _labelled(items, language) -> list[dict]:
    return [{"name": item["name"], "label": text_in(item.get("label") or {"en": item["name"]}, language)}
            for item in items]


def _why(found):
    """The engine's explanation for the entity, field and record asked in the query string."""
    entity = request.args.get("entity")
    if not entity:
        return None, None
    actor = next(a for a in auth.list_users(g.session.storage) if a.id == found.id)
    records = TenantSession(g.session.install, g.session.tenant, actor).records
    try:
        return records.why(entity, request.args.get("field") or None, request.args.get("record") or None), None
    except LoomError as exc:
        return None, _in_words(exc)


def _page(found, status=200, **context):
    package = g.session.metadata().package
    language = language_of_request()
    why, why_refusal = _why(found)
    return render_template(
        "designer/people/access.html", title=_("Access of %(email)s", email=found.email), person=found,
        roles=_labelled(package.roles, language), sets=_labelled(package.permission_sets, language),
        entities=sorted(e.name for e in package.entities), why=why, why_refusal=why_refusal,
        others=[p for p in people.people(g.session.storage) if p.active and p.id != found.id],
        asked=request.args, **context), status


@screens.get("/designer/people/<int:user_id>/access")
@admin_only
def designer_person_access(user_id):
    return _page(_person(user_id))


@screens.post("/designer/people/<int:user_id>/access")
@admin_only
def designer_person_roles(user_id):
    found = _person(user_id)
    try:
        changed = people.change(g.session.storage, user_id, g.ui_user, roles=request.form.getlist("roles"),
                                permission_sets=request.form.getlist("permission_sets"),
                                package=g.session.metadata().package)
    except LoomError as exc:
        return _page(found, exc.status, refused_form="roles", refusal=_in_words(exc))
    flash(_("Saved the roles of %(email)s.", email=changed.email))
    return redirect(url_for("screens.designer_person_access", user_id=user_id))


@screens.post("/designer/people/<int:user_id>/handover")
@admin_only
def designer_person_handover(user_id):
    found = _person(user_id)
    form = request.form
    try:
        moved = g.session.records.transfer(user_id, form.get("to", ""), form.get("entity") or None)
    except LoomError as exc:
        return _page(found, exc.status, refused_form="handover", refusal=_in_words(exc))
    flash(_("Handed %(count)s records of %(email)s over.", count=sum(moved.values()), email=found.email))
    return redirect(url_for("screens.designer_person_access", user_id=user_id))
