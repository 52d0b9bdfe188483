"""Every user's own API tokens: create one (the secret shown once, with its lifetime and
scope), see when each was last used and when it expires, revoke it. The rules are
`engine.people`'s, as for the admin's people page."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.formats import moment
from admin_ui.web import screens
from engine import people
from engine.errors import LoomError

LIFETIMES = ("30d", "90d", "366d")


def _page(status=200, **context):
    rows = [{**t, "created": moment(t["created_at"]), "expires": moment(t["expires_at"]) if t["expires_at"] else None,
             "used": moment(t["last_used_at"]) if t["last_used_at"] else None}
            for t in people.tokens(g.session.storage, g.ui_user.id)]
    return render_template("screens/my_tokens.html", title=_("My API tokens"), tokens=rows, lifetimes=LIFETIMES,
                           **context), status


@screens.get("/tokens")
def my_tokens():
    return _page()


@screens.post("/tokens")
def my_new_token():
    form = request.form
    try:
        row, secret = people.new_token(g.session.storage, g.ui_user.email, form.get("label", ""),
                                       form.get("expires") or None, form.get("scope") or None)
    except LoomError as exc:
        named = any(d.get("field") == "label" for d in exc.details)
        words = _("Name the token (what it is for), in at most 200 characters.") if named else exc.message
        return _page(exc.status, refusal=words, token_form=form)
    return _page(new_token={**row, "secret": secret})


@screens.post("/tokens/<int:token_id>/revoke")
def my_revoke_token(token_id):
    try:
        row = people.revoke(g.session.storage, token_id, g.ui_user.id)
    except LoomError as exc:
        return _page(exc.status, refusal=exc.message)
    flash(_("Revoked the token %(name)s.", name=row["label"] or token_id))
    return redirect(url_for("screens.my_tokens"))
