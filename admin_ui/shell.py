"""The shell around every screen: the home page with the user's work, the navigation
(the tenant's entities the user may read), and the language switch remembered per user."""
from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.i18n import COOKIE, LANGUAGES
from admin_ui.mywork import my_work
from admin_ui.view import screen_view
from admin_ui.web import public, screens
from engine import auth


@screens.app_context_processor
def _navigation():
    if request.blueprint != "screens" or g.get("ui_user") is None:
        return {}
    return {"ui_entities": navigation(screen_view())}


def navigation(view: dict) -> list[dict]:
    """The entities in the navigation, hidden ones left out: those the metadata gives an
    `order` first, lowest first, then the rest by their plural label in the request's
    language (so a list of some thirty stays findable; a filter box narrows it)."""
    return in_navigation_order([{"name": e["name"], "label": e["plural_label"] or e["label"] or e["name"],
                                 "order": e.get("order")} for e in view["entities"] if not e.get("hidden")])


def in_navigation_order(entries: list[dict]) -> list[dict]:
    """`entries` (each with a `name`, a shown `label` and an `order` or None) sorted as the
    navigation shows them."""
    return sorted(entries, key=lambda e: (e["order"] is None, e["order"] or 0, e["label"].casefold(), e["name"]))


@screens.get("/")
def home():
    """My work: what is mine to do now, each section bounded (admin_ui.mywork)."""
    return render_template("screens/home.html", title=_("Home"), work=my_work(g.session, screen_view()))


@screens.post("/language")
@public
def set_language():
    """Switch the language: remembered on the user (or, signed out, in a cookie)."""
    language = request.form.get("language")
    if language not in LANGUAGES:
        return render_template("screens/error.html", title=_("Not possible"),
                               message=_("Choose English or 中文.")), 400
    back = request.form.get("back") or url_for("screens.home")
    if not back.startswith(url_for("screens.home").rstrip("/") + "/") and back != url_for("screens.home"):
        back = url_for("screens.home")
    response = redirect(back)
    if g.ui_user is not None:
        auth.set_locale(g.session.storage, g.ui_user.id, language)
    response.set_cookie(COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
