"""Every user's own security keys (WebAuthn): add one (named), see when each was last used,
remove one — never the last second step of a user whose role requires one. Adding or
removing a key asks for the user's password again. The browser side is
`static/security_keys.js`: it asks for the options, lets the key answer and posts the
answer here as JSON; the engine (`engine.security_keys`) decides everything.

The relying party is the screens' public address, `LOOM_BASE_URL`: never the request's Host
header, which the client chooses. Without it, security keys are not offered at all (the
page says an operator must set it)."""
from __future__ import annotations

from flask import current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from admin_ui.formats import moment
from admin_ui.web import screens
from engine import mfa, passwords, security_keys
from engine.errors import LoomError, ValidationFailed
from engine.jsontext import TooDeep, strict_loads

MAX_BODY = 64_000  # bytes of a browser's answer read at most


def relying_party() -> security_keys.RelyingParty | None:
    """The relying party at `LOOM_BASE_URL`, or None when it is not set (or not an http(s)
    address): then no key is offered or accepted."""
    base = current_app.extensions["loom"].settings.extra.get("LOOM_BASE_URL") or ""
    try:
        return security_keys.relying_party(base, f"Loom {g.ui_tenant.name}")
    except ValueError:
        return None


def unavailable() -> LoomError:
    return LoomError("security keys are off: LOOM_BASE_URL (the screens' public address) is not set",
                     code="keys_unavailable", status=409)


def password_checked(password) -> LoomError | None:
    """Whether `password` is the signed-in user's (counted as a sign-in attempt: wrong ones
    lock the account as at sign-in); the refusal, or None."""
    checked = passwords.sign_in(g.session.storage, g.ui_user.email, password)
    if checked.actor is not None and checked.actor.id == g.ui_user.id:
        return None
    message = "your password is not right"
    return ValidationFailed(message, details=[{"field": "password", "message": message}], code="wrong_password")


def words(error: LoomError) -> str:
    """The engine's refusal of a key in the page's language."""
    found = {
        "bad_name": lambda: _("Name the key (what it is), in at most %(n)s characters.", n=security_keys.NAME_LENGTH),
        "challenge_expired": lambda: _("This request has expired. Try again."),
        "key_refused": lambda: _("The security key's answer was not accepted. Try again."),
        "bad_key": lambda: _("This security key's public key cannot be used. Try another key."),
        "keys_unavailable": lambda: _("Security keys are off: an operator must set LOOM_BASE_URL, the address of "
                                      "these screens."),
        "wrong_password": lambda: _("Your password is not right."),
        "key_known": lambda: _("This security key is added already."),
        "key_unknown": lambda: _("This security key is not one of yours."),
        "sign_count_regressed": lambda: _("This security key's counter went back: it may have been copied. "
                                          "Sign in another way and remove it."),
        "last_factor": lambda: _("Your role must sign in with a second step and this key is your last one. "
                                 "Add another key first."),
        "no_security_key": lambda: _("You have no security key."),
        "key_not_found": lambda: _("There is no such security key of yours."),
    }.get(error.code)
    return found() if found else error.message


def refusal(error: LoomError, status=None, **extra):
    """A refusal as the JSON error shape, in the page's language."""
    body = {"error": {"code": error.code, "message": words(error), "details": error.details}, **extra}
    return jsonify(body), status or error.status


def answer_of_request() -> dict:
    """The JSON object the browser posted ({} for anything else); ValidationFailed (400)
    when it is nested too deeply to read."""
    if (request.content_length or 0) > MAX_BODY or not request.is_json:
        return {}
    try:
        body = strict_loads(request.get_data(cache=True, as_text=False) or b"null")
    except TooDeep:
        message = "the request's JSON is nested too deeply to read"
        raise ValidationFailed(message, details=[{"field": "credential", "message": message}],
                               code="key_refused") from None
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _session_key() -> str:
    return f"key_enrol:{g.ui_tenant.uid}"


def _page(status=200, **context):
    storage = g.session.storage
    rows = [{**k, "created": moment(k["created_at"]), "used": moment(k["last_used_at"]) if k["last_used_at"] else None}
            for k in security_keys.keys(storage, g.ui_user.id)]
    return render_template("screens/security_keys.html", title=_("Security keys"), keys=rows,
                           available=relying_party() is not None,
                           app=mfa.enrolled(storage, g.ui_user.id), required=mfa.required_of(storage, g.ui_user),
                           **context), status


@screens.get("/security-keys")
def my_security_keys():
    return _page()


@screens.post("/security-keys/options")
def my_security_key_options():
    rp = relying_party()
    if rp is None:
        return refusal(unavailable())
    ceremony = security_keys.start_enrolment(g.session.storage, rp, g.ui_user)
    session[_session_key()] = ceremony.challenge
    return jsonify(ceremony.options)


@screens.post("/security-keys")
def my_new_security_key():
    """The new key's answer, its name and the user's password (JSON)."""
    rp = relying_party()
    if rp is None:
        return refusal(unavailable())
    challenge = session.pop(_session_key(), None)
    try:
        body = answer_of_request()
        wrong = password_checked(body.get("password"))
        if wrong is not None:
            raise wrong
        key = security_keys.enrol(g.session.storage, rp, g.ui_user.id, challenge,
                                  body.get("credential"), body.get("name"))
    except LoomError as exc:
        return refusal(exc)
    flash(_("Added the security key %(name)s.", name=key["name"]))
    return jsonify({"key": {"id": key["id"], "name": key["name"]}, "redirect": url_for("screens.my_security_keys")})


@screens.post("/security-keys/<int:key_id>/remove")
def my_remove_security_key(key_id):
    try:
        wrong = password_checked(request.form.get("password"))
        if wrong is not None:
            raise wrong
        key = mfa.remove_key(g.session.storage, g.ui_user, key_id)
    except LoomError as exc:
        return _page(exc.status, refusal=words(exc))
    flash(_("Removed the security key %(name)s.", name=key["name"]))
    return redirect(url_for("screens.my_security_keys"))
