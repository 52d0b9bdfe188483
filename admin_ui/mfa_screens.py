"""The second step of signing in: a code from the user's authenticator app (or a recovery
code) or one of their security keys, and enrolling an app when the tenant requires a
second step of the user's role.

Between the password and the second step the browser holds only a pending sign-in (the
user, when, where to go next), for `PENDING_MINUTES` and `MAX_CODE_FAILURES` wrong codes;
nothing else of the tenant answers until the step is done. The secret being enrolled stays
in that pending sign-in until a code of it is confirmed, and so does the challenge a
security key is asked to sign (used up by its answer, right or wrong). A refused key counts
as a wrong code, and while wrong codes block the second step no key options are handed out
either. Keys are offered only when `LOOM_BASE_URL` names the relying party."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import segno
from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from admin_ui import key_screens
from admin_ui.web import public, screens, sign_in_session
from engine import mfa, security_keys
from engine.errors import LoomError, ValidationFailed
from engine.passwords import session_user
from engine.records.access_log import log_access

PENDING_MINUTES = 10
MAX_CODE_FAILURES = 5


def _key() -> str:
    return f"mfa:{g.ui_tenant.uid}"


def start(actor, step: str, next_url: str):
    """After the right password: remember the pending sign-in and go to its second step."""
    session.clear()  # a fresh session: nothing of the signed-out one carries over
    session[_key()] = {"user": actor.id, "at": datetime.now(timezone.utc).isoformat(), "next": next_url,
                       "failures": 0}
    return redirect(url_for("screens.mfa_enrol" if step == "enrol" else "screens.mfa_verify"))


def _pending():
    """The pending sign-in and its (still active) user, or (None, None)."""
    pending = session.get(_key())
    if not pending:
        return None, None
    started = datetime.fromisoformat(pending["at"])
    found = session_user(_storage(), pending["user"], started)
    if found is None or datetime.now(timezone.utc) - started > timedelta(minutes=PENDING_MINUTES):
        session.pop(_key(), None)
        return None, None
    return pending, found[0]


def _storage():
    return current_app.extensions["loom"].registry.storage_of(g.ui_tenant)


def _again():
    return redirect(url_for("screens.login"))


def _limits(actor) -> tuple[str, str]:
    """The rate limiter's keys of a second step: the address, and the user (kept on the
    server: the pending sign-in's own count lives in the cookie, which a client can replay)."""
    return f"address:{request.remote_addr}", f"mfa:{g.ui_tenant.uid}:{actor.id}"


def _failed(pending, actor) -> bool:
    """Count a wrong code (for the address and the user too); True when the pending sign-in
    is used up."""
    limiter = current_app.extensions["loom_limiter"]
    for key in _limits(actor):
        limiter.fail(key)
    pending["failures"] = pending.get("failures", 0) + 1
    session.modified = True
    if pending["failures"] >= MAX_CODE_FAILURES:
        session.pop(_key(), None)
        return True
    return False


def _wait(actor) -> int:
    """Seconds until the second step may be tried again (0: now); a refusal is logged."""
    limiter = current_app.extensions["loom_limiter"]
    wait = max((limiter.blocked(key) or 0) for key in _limits(actor))
    if wait:
        log_access(_storage(), actor.id, "sign_in", detail={"address": request.remote_addr,
                                                            "outcome": "second step: too many wrong codes"})
    return wait


def _too_many(wait: int) -> str:
    return _("Too many wrong codes. Try again in %(n)s minutes.", n=(wait + 59) // 60)


def _verify_page(actor, error=None, status=200, headers=None):
    storage, rp = _storage(), key_screens.relying_party()
    keys = rp is not None and security_keys.has_keys(storage, actor.id, rp.id)
    return render_template("screens/mfa_verify.html", error=error, app=mfa.enrolled(storage, actor.id),
                           keys=keys), status, headers or {}


@screens.route("/login/mfa", methods=["GET", "POST"])
@public
def mfa_verify():
    pending, actor = _pending()
    if actor is None:
        return _again()
    if request.method == "POST":
        wait = _wait(actor)
        if wait:
            return _verify_page(actor, _too_many(wait), 429, {"Retry-After": str(wait)})
        verified = mfa.verify(_storage(), actor.id, request.form.get("code"))
        log_access(_storage(), actor.id, "sign_in", detail={
            "address": request.remote_addr, "outcome": "signed in" if verified else "second step: wrong code"})
        if verified:
            sign_in_session(g.ui_tenant, actor)
            return redirect(pending["next"])
        if _failed(pending, actor):
            return _again()
        error = _("The code is not right. Type the six digits your app shows now, or a recovery code.")
        return _verify_page(actor, error, 401)
    return _verify_page(actor)


def _expired():
    return jsonify({"error": {"code": "sign_in_expired", "message": _("Your sign-in has expired. Sign in again."),
                              "details": []}, "redirect": url_for("screens.login")}), 401


def _key_refusal(actor):
    """Why no key ceremony may go on now (keys off, or too many wrong codes), or None."""
    if key_screens.relying_party() is None:
        return key_screens.refusal(key_screens.unavailable())
    wait = _wait(actor)
    if wait:
        body, status = key_screens.refusal(LoomError(_too_many(wait), code="too_many_attempts"), 429)
        return body, status, {"Retry-After": str(wait)}
    return None


def _key_step(enrolling: bool = False):
    """The pending sign-in of a key route and what refuses it now: (pending, actor, None)
    to go on, or (None, None, the answer) — expired, (enrolling) not at enrolment, keys
    off or too many wrong codes."""
    pending, actor = _pending()
    if actor is None or (enrolling and mfa.needed(_storage(), actor) != "enrol"):
        return None, None, _expired()
    return pending, actor, _key_refusal(actor)


@screens.post("/login/mfa/key/options")
@public
def mfa_key_options():
    """What the browser asks the user's security key to sign (JSON)."""
    pending, actor, refused = _key_step()
    if refused is not None:
        return refused
    try:
        ceremony = security_keys.start_sign_in(_storage(), key_screens.relying_party(), actor.id)
    except LoomError as exc:
        return key_screens.refusal(exc)
    pending["key_challenge"] = ceremony.challenge
    session.modified = True
    return jsonify(ceremony.options)


@screens.post("/login/mfa/key")
@public
def mfa_key():
    """The key's answer (JSON): signed in, or refused and counted as a wrong code."""
    pending, actor, refused = _key_step()
    if refused is not None:
        return refused
    challenge = pending.pop("key_challenge", None)
    session.modified = True
    try:
        key = security_keys.sign_in(_storage(), key_screens.relying_party(), actor.id, challenge,
                                    key_screens.answer_of_request().get("credential"))
    except LoomError as exc:
        log_access(_storage(), actor.id, "sign_in", detail={
            "address": request.remote_addr, "outcome": f"second step: security key refused ({exc.code})"})
        if _failed(pending, actor):
            return key_screens.refusal(exc, 401, redirect=url_for("screens.login"))
        return key_screens.refusal(exc, 401)
    log_access(_storage(), actor.id, "sign_in", detail={
        "address": request.remote_addr, "outcome": f"signed in with the security key {key['name']}"})
    sign_in_session(g.ui_tenant, actor)
    return jsonify({"redirect": pending["next"]})


@screens.route("/login/mfa/enrol", methods=["GET", "POST"])
@public
def mfa_enrol():
    pending, actor = _pending()
    if actor is None:
        return _again()
    if mfa.needed(_storage(), actor) != "enrol":  # a second step already: it is asked, never replaced
        return redirect(url_for("screens.mfa_verify"))
    if not pending.get("secret"):
        pending["secret"] = mfa.new_secret()
        session.modified = True
    secret, error = pending["secret"], None
    if request.method == "POST":
        try:
            codes = mfa.enrol(_storage(), actor.id, secret, request.form.get("code"))
        except ValidationFailed:
            if _failed(pending, actor):
                return _again()
            error = _("The code is not right. Type the six digits your app shows now.")
        else:
            sign_in_session(g.ui_tenant, actor)
            return render_template("screens/mfa_codes.html", codes=codes, next=pending["next"])
    uri = mfa.provisioning_uri(secret, actor.email, g.ui_tenant.name)
    return render_template("screens/mfa_enrol.html", secret=secret, uri=uri, qr=_qr(uri),
                           keys=key_screens.relying_party() is not None,
                           spaced=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                           error=error), 400 if error else 200


@screens.post("/login/mfa/enrol/key/options")
@public
def mfa_enrol_key_options():
    """What the browser asks a new security key to make, in place of the app (JSON)."""
    pending, actor, refused = _key_step(enrolling=True)
    if refused is not None:
        return refused
    ceremony = security_keys.start_enrolment(_storage(), key_screens.relying_party(), actor)
    pending["key_challenge"] = ceremony.challenge
    session.modified = True
    return jsonify(ceremony.options)


@screens.post("/login/mfa/enrol/key")
@public
def mfa_enrol_key():
    """The new key's answer and its name (JSON): kept and signed in, or refused (counted
    like a wrong code)."""
    pending, actor, refused = _key_step(enrolling=True)
    if refused is not None:
        return refused
    challenge = pending.pop("key_challenge", None)
    session.modified = True
    try:
        body = key_screens.answer_of_request()
        key = security_keys.enrol(_storage(), key_screens.relying_party(), actor.id, challenge,
                                  body.get("credential"), body.get("name"))
    except LoomError as exc:
        if exc.code != "bad_name" and _failed(pending, actor):
            return key_screens.refusal(exc, None, redirect=url_for("screens.login"))
        return key_screens.refusal(exc)
    log_access(_storage(), actor.id, "sign_in", detail={
        "address": request.remote_addr, "outcome": f"signed in, enrolled the security key {key['name']}"})
    sign_in_session(g.ui_tenant, actor)
    return jsonify({"key": {"id": key["id"], "name": key["name"]}, "redirect": pending["next"]})


def _qr(uri: str) -> Markup:
    """The URI as an inline SVG QR code (no script, no request elsewhere)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code of the authenticator setup"))
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))
