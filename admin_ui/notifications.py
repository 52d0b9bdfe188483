"""The notifications page and the header's unread badge: the user's in-app inbox
(`workflows.notify.inapp`, the functions the REST API uses), read and marked read."""
from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.board_common import record_url
from engine.whole import whole_number
from admin_ui.formats import moment
from admin_ui.view import entity_view
from admin_ui.web import screens
from workflows.notify import inapp

PAGE = 100
ALL_BATCHES = 50  # "mark all" stops after this many batches of the inbox's page size


@screens.app_context_processor
def _unread_badge():
    """The header's unread count on every signed-in page (one COUNT query per request, however
    many templates it renders)."""
    if request.blueprint != "screens" or g.get("ui_user") is None:
        return {}
    if "ui_unread" not in g:
        g.ui_unread = inapp.unread_count(g.session.storage, g.ui_user.id)
    return {"ui_unread": g.ui_unread}


@screens.get("/notifications")
def notifications():
    """My notifications, newest first: all of them or only the unread (`?show=unread`)."""
    show = request.args.get("show", "all")
    if show not in ("all", "unread"):
        return render_template("screens/error.html", title=_("Not possible"),
                               message=_("Show all notifications or only the unread ones.")), 400
    items = inapp.list_for(g.session.storage, g.ui_user.id, unread_only=show == "unread", limit=PAGE)
    return render_template("screens/notifications.html", title=_("Notifications"), show=show,
                           items=[_shown(item) for item in items])


def _shown(item: dict) -> dict:
    """A notification with its time in the user's language and a link to its record when the
    entity still exists (the record page itself says if the record is gone or not shared)."""
    link = None
    if item["entity"] and item["record_id"] and entity_view(item["entity"]) is not None:
        link = record_url(item["entity"], item["record_id"])
    return {**item, "when": moment(item["at"]), "link": link}


@screens.post("/notifications/read")
def mark_read():
    """Mark one notification (`id`) or all of them (`all`) read, then back to the list."""
    if request.form.get("all"):
        _mark_all_read(g.session.storage, g.ui_user.id)
    else:
        raw = request.form.get("id", "")
        if whole_number(raw, 1) is None:
            return render_template("screens/error.html", title=_("Not possible"),
                                   message=_("That is not a notification.")), 400
        inapp.mark_read(g.session.storage, g.ui_user.id, [whole_number(raw)])
    show = request.form.get("show")
    return redirect(url_for("screens.notifications", show=show if show == "unread" else None))


def _mark_all_read(storage, user_id: int) -> None:
    """Every unread notification, a batch of the inbox's largest page at a time."""
    for _batch in range(ALL_BATCHES):
        unread = inapp.list_for(storage, user_id, unread_only=True, limit=inapp.MAX_LIMIT)
        if not unread or not inapp.mark_read(storage, user_id, [item["id"] for item in unread]):
            return
