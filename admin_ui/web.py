"""The screens' blueprint and what every screen request goes through: the tenant from the
URL, the signed-in user from the session cookie, CSRF on every form and htmx request,
the language, and HTML error pages.

Screens live under `/t/<tenant>/`; a signed-out visitor is sent to `/t/<tenant>/login`.
A browser session belongs to one tenant (by its never-reused uid), so a cookie of a
deleted tenant whose slug was reused signs no one in. Views get `g.session`, the same
`TenantSession` the API uses, so every rule a screen shows is the engine's."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms.validators import ValidationError

from admin_ui import i18n, problems
from engine.errors import LoomError
from engine.install import TenantSession
from engine.passwords import session_user

screens = Blueprint("screens", __name__, url_prefix="/t/<tenant>", template_folder="templates")
assets = Blueprint("screen_assets", __name__, static_folder="static", static_url_path="/ui/static")
PUBLIC = "loom_public"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def public(view):
    """Mark a screen as open to signed-out visitors (sign-in, password reset)."""
    setattr(view, PUBLIC, True)
    return view


@screens.record_once
def _set_up_app(state) -> None:
    app = state.app
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = secret_key(app.extensions["loom"])
    app.config.update(SESSION_COOKIE_NAME="loom_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", WTF_CSRF_TIME_LIMIT=None)
    app.session_interface = TlsAwareSessions()
    Babel(app, locale_selector=i18n.babel_locale, timezone_selector=i18n.babel_timezone)
    app.extensions["loom_catalogues"] = i18n.CatalogueDomain()


def secret_key(install) -> str:
    """`LOOM_SECRET_KEY`, or one kept in the data folder (made once, readable by its owner
    only), so every worker of this host signs cookies alike. Installs on several hosts set
    `LOOM_SECRET_KEY`."""
    configured = install.settings.extra.get("LOOM_SECRET_KEY") or os.environ.get("LOOM_SECRET_KEY")
    if configured:
        return configured
    folder = Path(install.settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        # Written whole under a private name, then linked into place: processes starting at
        # once (gunicorn's workers) never read a half-written key, and all keep the first.
        draft = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


class TlsAwareSessions(SecureCookieSessionInterface):
    """Session cookies marked Secure whenever the request came over TLS."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


@screens.url_value_preprocessor
def _take_tenant(endpoint, values) -> None:
    g.tenant_slug = values.pop("tenant", None) if values else None


@screens.url_defaults
def _add_tenant(endpoint, values) -> None:
    if "tenant" not in values and g.get("tenant_slug"):
        values["tenant"] = g.tenant_slug


@screens.before_request
def _open_request():
    current_app.extensions["loom_catalogues"].as_default()
    install = current_app.extensions["loom"]
    tenant = install.registry.get(g.tenant_slug or "")
    if tenant is None or tenant.status != "active":
        return render_template("screens/error.html", title=_("Not found"),
                               message=_("There is no such workspace.")), 404
    g.ui_tenant = tenant
    if request.method not in SAFE_METHODS:
        _check_csrf()
    g.ui_user = None
    signed = session.get(_session_key(tenant))
    if signed:
        found = session_user(install.registry.storage_of(tenant), signed[0],
                             datetime.fromisoformat(signed[1]))
        if found is None:
            session.pop(_session_key(tenant), None)
        else:
            g.ui_user, g.ui_user_name = found
            g.session = TenantSession(install, tenant, g.ui_user)
    view = current_app.view_functions.get(request.endpoint)
    if g.ui_user is None and not getattr(view, PUBLIC, False):
        if request.headers.get("HX-Request"):
            response = current_app.response_class(status=401)
            response.headers["HX-Redirect"] = url_for("screens.login", next=here())
            return response
        return redirect(url_for("screens.login", next=here()))
    return None


def here() -> str:
    """This request's path and query (no dangling `?`)."""
    return request.full_path.rstrip("?")


def _check_csrf() -> None:
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(str(exc)) from None


def _session_key(tenant) -> str:
    return f"u:{tenant.uid}"


def sign_in_session(tenant, actor) -> None:
    """Remember `actor` as signed in to `tenant` in this browser (a fresh session id)."""
    session.clear()  # no fixation: nothing of the signed-out session carries over
    session[_session_key(tenant)] = [actor.id, datetime.now(timezone.utc).isoformat()]
    session.permanent = False


def sign_out_session(tenant) -> None:
    session.pop(_session_key(tenant), None)


@screens.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@screens.app_context_processor
def _template_globals():
    if not request or request.blueprint != "screens":
        return {}
    return {"csrf_token": generate_csrf, "ui_language": i18n.language_of_request(),
            "ui_languages": i18n.LANGUAGES, "ui_user": g.get("ui_user"),
            "ui_user_name": g.get("ui_user_name"), "ui_tenant": g.get("ui_tenant")}


@screens.errorhandler(CSRFError)
def _csrf_refused(error):
    return render_template("screens/error.html", title=_("Form expired"),
                           message=_("This form has expired or did not come from Loom. "
                                     "Go back, reload the page and try again.")), 400


@screens.errorhandler(LoomError)
def _loom_error(error):
    """A refusal on a page of its own: its message as raised (a screen raises its own words;
    an engine refusal's message is English), and each problem in the user's language by its
    code and details (`problems.text`; the engine's English where the screens have no words
    for the code)."""
    listed = [{"field": p.path, "message": problems.text(p)} for p in error.problems]
    return render_template("screens/error.html", title=_("Not possible"), message=error.message,
                           problems=listed), error.status


@screens.errorhandler(HTTPException)
def _http_error(error):
    titles = {400: _("Not possible"), 403: _("Not allowed"), 404: _("Not found")}
    return render_template("screens/error.html", title=titles.get(error.code, error.name),
                           message=error.description), error.code


def admin_only(view):
    """A screen for tenant admins: everyone else gets a 403 page."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not g.ui_user.is_admin:
            return render_template("screens/error.html", title=_("Not allowed"),
                                   message=_("Only a tenant admin may open this page.")), 403
        return view(*args, **kwargs)
    return wrapper
