"""What every designer screen shares: the admin's drafts, a label in the request's
language, and the draft's problems under a path (shown next to the control they concern)."""
from __future__ import annotations

from flask import abort, g, redirect, url_for

from admin_ui.i18n import language_of_request
from admin_ui.designer.edits import DraftMalformed, EditRefused
from engine.drafts import Drafts
from metadata.language import text_in


def drafts() -> Drafts:
    return Drafts(g.session)


def shown(texts, fallback: str = "") -> str:
    """A label (a language map or one text) in the request's language."""
    if isinstance(texts, dict):
        return text_in(texts, language_of_request()) or fallback
    return texts if isinstance(texts, str) and texts else fallback


def problems_at(problems: list, prefix: str, exact: bool = False) -> list:
    """The problems whose path is `prefix` (or under it, unless `exact`)."""
    return [p for p in problems if p.get("field") == prefix
            or (not exact and str(p.get("field", "")).startswith(prefix + "/"))]


def save_edit(edit, *args, back: str):
    """Apply `edit(document, *args)` to the admin's draft, save it (checked, kept even
    when invalid) and go back to `back`; an edit of what the draft lacks is a 404 page."""
    found = drafts()
    draft = found.open()
    try:
        document = edit(draft.document, *args)
    except DraftMalformed as exc:
        abort(409, str(exc))
    except EditRefused as exc:
        abort(404, str(exc))
    found.save(document)
    return redirect(back)


def overview_url() -> str:
    return url_for("screens.designer")
