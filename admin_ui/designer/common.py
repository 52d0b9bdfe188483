"""What every designer screen shares: the admin's drafts, a label in the request's
language, and the draft's problems under a path (shown next to the control they concern)."""
from __future__ import annotations

from flask import abort, g, redirect, url_for
from flask_babel import gettext as _

from admin_ui.i18n import shown  # noqa: F401 - the designer's modules take it from here
from admin_ui.designer.edits import DraftMalformed, EditRefused, NameTaken
from engine.drafts import Drafts


def drafts() -> Drafts:
    return Drafts(g.session)


def problems_at(problems: list, prefix: str, exact: bool = False) -> list:
    """The problems whose path is `prefix` (or under it, unless `exact`)."""
    return [p for p in problems if p.get("field") == prefix
            or (not exact and str(p.get("field", "")).startswith(prefix + "/"))]


def save_edit(edit, *args, back: str):
    """Apply `edit(document, *args)` to the admin's draft, save it (checked, kept even
    when invalid) and go back to `back`; an edit of what the draft lacks is a 404 page, a
    rename to a name already used a 409 page."""
    found = drafts()
    draft = found.open()
    try:
        document = edit(draft.document, *args)
    except DraftMalformed as exc:
        abort(409, str(exc))
    except NameTaken as exc:
        abort(409, _("The name %(name)s is already used here: choose another.", name=exc.name))
    except EditRefused as exc:
        abort(404, str(exc))
    found.save(document)
    return redirect(back)


def overview_url() -> str:
    return url_for("screens.designer")
