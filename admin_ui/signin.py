"""Signing in and out, and resetting a forgotten password by e-mail.

Every refusal says the same for an unknown e-mail and a wrong password; a locked-out
user is told for how long. A reset request answers the same whether or not the e-mail
has an account, and the link it mails works once, for two hours."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from admin_ui import mfa_screens
from admin_ui.web import public, screens, sign_in_session, sign_out_session
from engine import mfa, passwords
from engine.password_policy import MAX_LENGTH, MIN_LENGTH, problem_code
from engine.records.access_log import log_access
from workflows.notify.mailer import Mailer

log = logging.getLogger("loom.screens")


def _storage():
    return current_app.extensions["loom"].registry.storage_of(g.ui_tenant)


def _next_url() -> str:
    """Where to go after signing in: a path of this tenant's screens, never elsewhere."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    home = url_for("screens.home")
    prefix = home.rstrip("/") + "/"
    if parts.scheme or parts.netloc or not (target == home or target.startswith(prefix)):
        return home
    return target


@screens.route("/login", methods=["GET", "POST"])
@public
def login():
    error, status, email, headers = None, 200, "", {}
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()[:254]
        limiter, address = current_app.extensions["loom_limiter"], f"address:{request.remote_addr}"
        wait = limiter.blocked(address)
        outcome = None if wait else passwords.sign_in(_storage(), email, request.form.get("password") or "")
        signed = outcome is not None and outcome.actor is not None
        step = mfa.needed(_storage(), outcome.actor) if signed else None
        log_access(_storage(), outcome.actor.id if signed else None, "sign_in", detail={
            "email": email, "address": request.remote_addr,
            "outcome": ("password accepted, second step" if step is not None else "signed in") if signed
            else "too many failures from the address" if outcome is None else outcome.refusal})
        if step is not None:
            return mfa_screens.start(outcome.actor, step, _next_url())
        if signed:
            sign_in_session(g.ui_tenant, outcome.actor)
            return redirect(_next_url())
        if outcome is None:  # too many failures from this address
            status, headers["Retry-After"] = 429, str(wait)
            error = _("Too many failed sign-ins from here. Try again in %(n)s minutes.", n=(wait + 59) // 60)
        elif outcome.refusal == "locked":  # too many failures of this account (engine.passwords)
            limiter.fail(address)
            seconds = max(1, int((outcome.locked_until - passwords.now()).total_seconds()))
            status, headers["Retry-After"] = 429, str(seconds)
            error = _("Too many failed attempts. Try again after %(time)s, or reset your password.",
                      time=format_datetime(outcome.locked_until, "short"))
        else:
            limiter.fail(address)
            status, error = 401, _("The e-mail or the password is not right.")
    return render_template("screens/login.html", error=error, email=email,
                           next=request.values.get("next", "")), status, headers


@screens.post("/logout")
@public
def logout():
    sign_out_session(g.ui_tenant)
    flash(_("You have signed out."))
    return redirect(url_for("screens.login"))


@screens.route("/password-reset", methods=["GET", "POST"])
@public
def reset_request():
    if request.method == "GET":
        return render_template("screens/reset_request.html")
    email = (request.form.get("email") or "").strip()[:254]
    started = passwords.start_reset(_storage(), email)
    if started is not None:
        secret, actor = started
        _mail_link(actor, secret)
    return render_template("screens/reset_request.html", sent=True)


def _mail_link(actor, secret) -> None:
    """Mail the reset link, built on LOOM_BASE_URL: never on the request's Host header, which
    whoever asks for the reset chooses (they would receive the victim's secret)."""
    settings = current_app.extensions["loom"].settings.extra
    mailer = Mailer.from_environ(settings)
    base = (settings.get("LOOM_BASE_URL") or "").rstrip("/")
    if not mailer.enabled or not base.startswith(("http://", "https://")):
        log.warning("password reset for %s in %s not mailed: %s; an operator can run "
                    "`loom user set-password`", actor.email, g.ui_tenant.slug,
                    "e-mail is off (LOOM_SMTP_HOST)" if not mailer.enabled
                    else "LOOM_BASE_URL (the screens' address, e.g. https://crm.example.com) is not set")
        return
    link = base + url_for("screens.reset", secret=secret)
    body = _("Someone (we hope you) asked to reset your Loom password for %(tenant)s.\n\n"
             "Open this link within two hours to choose a new one:\n%(link)s\n\n"
             "If it was not you, ignore this message: your password stays as it is.",
             tenant=g.ui_tenant.name, link=link)
    try:
        mailer.send(actor.email, _("Reset your Loom password"), body)
    except Exception as exc:  # the visitor is told the same either way; the operator reads the log
        log.warning("password reset mail to %s failed: %s", actor.email, exc)


@screens.route("/password-reset/<secret>", methods=["GET", "POST"])
@public
def reset(secret):
    storage = _storage()
    email = passwords.reset_user(storage, secret)
    if email is None:
        return render_template("screens/reset.html", invalid=True), 404
    error = None
    if request.method == "POST":
        password = request.form.get("password") or ""
        if password != (request.form.get("password_again") or ""):
            error = _("The two passwords differ.")
        elif problem_code(password, email):
            error = _policy_words(problem_code(password, email))
        elif passwords.finish_reset(storage, secret, password):
            flash(_("Your password is changed. Sign in with it."))
            return redirect(url_for("screens.login"))
        else:
            return render_template("screens/reset.html", invalid=True), 404
    return render_template("screens/reset.html", email=email, error=error), 400 if error else 200


def _policy_words(code: str) -> str:
    """The password policy's refusal in the page's language."""
    return {
        "too_short": lambda: _("A password needs at least %(n)s characters.", n=MIN_LENGTH),
        "too_long": lambda: _("A password has at most %(n)s characters.", n=MAX_LENGTH),
        "blank": lambda: _("A password cannot be only spaces."),
        "not_text": lambda: _("A password cannot hold a NUL character."),
        "is_email": lambda: _("A password cannot be your e-mail address."),
        "common": lambda: _("This password is one of the most common ones. Choose another."),
    }[code]()
