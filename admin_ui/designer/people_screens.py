"""The designer's people page: the tenant's users (invite by e-mail, role, manager,
deactivate and reactivate, a password reset link, which second steps each has) and their
API tokens (create — the secret shown once — name, last use, revoke). Every change goes
through `engine.people`, which keeps the rules (an active admin always stays, nobody
deactivates themselves)."""
from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui import problems
from admin_ui.formats import moment
from admin_ui.web import admin_only, screens
from engine import mfa, people
from engine.auth import UNSET
from engine.errors import LoomError
from workflows.notify.mailer import Mailer

log = logging.getLogger("loom.screens")
TOKEN_LIFETIMES = ("30d", "90d", "366d")


def _storage():
    return g.session.storage


def _page(status=200, **context):
    storage = _storage()
    everyone = people.people(storage)
    tokens = [{**t, "created": moment(t["created_at"]), "expires": moment(t["expires_at"]) if t["expires_at"] else None,
               "used": moment(t["last_used_at"]) if t["last_used_at"] else None} for t in people.tokens(storage)]
    return render_template("designer/people.html", title=_("People"), people=everyone, roles=people.roles(),
                           tokens=tokens, me=g.ui_user.id, mfa_roles=mfa.required_roles(storage),
                           second_steps=mfa.second_steps(storage),
                           mfa_choices=[*people.roles(), *(r["name"] for r in g.session.metadata().package.roles)],
                           lifetimes=TOKEN_LIFETIMES, **context), status


@screens.get("/designer/people")
@admin_only
def designer_people():
    return _page()


def _in_words(error: LoomError) -> str:
    """The engine's refusal in the page's language, from its codes (`admin_ui.problems`)."""
    return " ".join(problems.texts(error))


def _refused(error: LoomError, **context):
    """The page again with the refusal beside the form that caused it (nothing changed)."""
    return _page(error.status, **context, refusal=_in_words(error))


@screens.post("/designer/people/invite")
@admin_only
def designer_invite():
    form = request.form
    try:
        found, secret = people.invite(_storage(), form.get("email", "")[:254], form.get("role", ""),
                                      form.get("display_name") or None, form.get("manager") or None)
    except LoomError as exc:
        return _refused(exc, refused_form="invite", invite=form)
    _send_link(found, secret, invitation=True)
    return redirect(url_for("screens.designer_people"))


@screens.post("/designer/people/<int:user_id>")
@admin_only
def designer_change_person(user_id):
    form = request.form
    values = {"role": form.get("role", UNSET), "manager": form.get("manager", UNSET)}
    if values["manager"] == "":
        values["manager"] = None
    if "active" in form:
        values["active"] = form["active"] == "yes"
    try:
        found = people.change(_storage(), user_id, g.ui_user, **values)
    except LoomError as exc:
        return _refused(exc, refused_form=f"user-{user_id}")
    if "active" in form:
        flash(_("%(email)s is active again.", email=found.email) if found.active
              else _("%(email)s is deactivated: they can no longer sign in or use their tokens.", email=found.email))
    else:
        flash(_("Saved %(email)s.", email=found.email))
    return redirect(url_for("screens.designer_people"))


@screens.post("/designer/people/<int:user_id>/reset")
@admin_only
def designer_reset_person(user_id):
    try:
        found, secret = people.reset_link(_storage(), user_id)
    except LoomError as exc:
        return _refused(exc, refused_form=f"user-{user_id}")
    _send_link(found, secret, invitation=False)
    return redirect(url_for("screens.designer_people"))


def _send_link(person, secret, invitation: bool) -> None:
    """Mail the set-password link, built on LOOM_BASE_URL (as a reset link is). When mail is
    off, the admin is shown the link to pass on instead."""
    settings = current_app.extensions["loom"].settings.extra
    mailer = Mailer.from_environ(settings)
    base = (settings.get("LOOM_BASE_URL") or "").rstrip("/")
    path = url_for("screens.reset", secret=secret)
    tenant = g.ui_tenant.name
    if invitation:
        subject = _("You are invited to %(tenant)s on Loom", tenant=tenant)
        body = _("%(admin)s invited you to %(tenant)s on Loom.\n\nOpen this link within three days to choose "
                 "your password:\n%(link)s", admin=g.ui_user.email, tenant=tenant, link=base + path)
    else:
        subject = _("Reset your Loom password")
        body = _("An admin of %(tenant)s asked for a new password for you.\n\nOpen this link within two hours "
                 "to choose it:\n%(link)s\n\nUntil then your password stays as it is.", tenant=tenant, link=base + path)
    if mailer.enabled and base.startswith(("http://", "https://")):
        try:
            mailer.send(person.email, subject, body)
            flash(_("Sent the link to %(email)s.", email=person.email))
            return
        except Exception as exc:  # the admin is shown the link instead; the operator reads the log
            log.warning("set-password mail to %s failed: %s", person.email, exc)
    flash(_("E-mail could not be sent. Give %(email)s this link, which works once: %(link)s",
            email=person.email, link=request.host_url.rstrip("/") + path))


@screens.post("/designer/tokens")
@admin_only
def designer_create_token():
    form = request.form
    try:
        entities = [entity.name for entity in g.session.metadata().package.entities]
        row, secret = people.new_token(_storage(), form.get("user", ""), form.get("label", ""),
                                       form.get("expires") or None, form.get("scope") or None, entities)
    except LoomError as exc:
        return _refused(exc, refused_form="token", token_form=form)
    return _page(new_token={**row, "secret": secret})


@screens.post("/designer/tokens/<int:token_id>/revoke")
@admin_only
def designer_revoke_token(token_id):
    try:
        row = people.revoke(_storage(), token_id)
    except LoomError as exc:
        return _refused(exc, refused_form="tokens")
    flash(_("Revoked the token %(name)s of %(email)s.", name=row["label"] or token_id, email=row["user"]))
    return redirect(url_for("screens.designer_people"))


@screens.post("/designer/people/mfa")
@admin_only
def designer_mfa_roles():
    """Which roles must sign in with a second step (they enrol at their next sign-in)."""
    try:
        chosen = mfa.set_required_roles(_storage(), request.form.getlist("role"),
                                        [role["name"] for role in g.session.metadata().package.roles])
    except LoomError as exc:
        return _refused(exc, refused_form="mfa")
    flash(_("Two-step sign-in is required of: %(roles)s.", roles=", ".join(chosen)) if chosen
          else _("Two-step sign-in is required of no role."))
    return redirect(url_for("screens.designer_people"))
