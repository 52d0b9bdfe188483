"""What the kanban, the calendar and the search share: the entity named in the URL, the
list's filters carried over from the query string, a record's address, and the few key
fields a card or an event shows."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, url_for
from flask_babel import gettext as _

from admin_ui.formats import badged, record_title, reference_labels, title_field
from admin_ui.view import screen_view

SYSTEM_COLUMNS = frozenset({"id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "version"})
KEY_FIELDS = 3


def entity_or_404(name: str) -> dict:
    """The screen view of entity `name`, or a 404 page naming it."""
    found = screen_view()["entity_by_name"].get(name)
    if found is None:
        abort(404, description=_("There is no list called %(name)s here.", name=name))
    return found


LIST_ONLY = ("columns", "view", "default_filter")  # the list screen's own state, not filters


def filters_of(args, own: tuple) -> list[tuple[str, str]]:
    """The list's filters in the query string `args` (a list links here with its own query
    string): every parameter but the screen's `own`, the list's paging and the list screen's
    own state (its columns and saved view). The record service checks them: a bad one is a
    400 page."""
    skip = own + ("cursor", "limit") + LIST_ONLY
    return [(key, value) for key, value in args.items(multi=True) if key not in skip]


def query_string(filters, **extra) -> str:
    pairs = list(filters) + [(k, v) for k, v in extra.items() if v not in (None, "")]
    return urlencode(pairs)


def record_url(entity: str, record_id) -> str:
    """The record page of a record (every screen links to one through here)."""
    return url_for("screens.record_page", entity=entity, record_id=record_id)


def key_fields(entity: dict, leave_out=()) -> list[dict]:
    """The fields a card shows under its title: the entity's list layout columns (or its
    first fields), without the title, system columns and `leave_out`."""
    skip = {title_field(entity), *leave_out} | SYSTEM_COLUMNS
    names = []
    for layout in screen_view()["layouts"]:
        if layout.get("entity") == entity["name"] and layout.get("kind") == "list":
            names = [c["name"] for c in layout.get("columns", ())]
            break
    names = names or [f["name"] for f in entity["fields"]]
    fields = entity["field_by_name"]
    return [fields[n] for n in names if n in fields and n not in skip][:KEY_FIELDS]


def cards(entity: dict, records, shown_fields) -> list[dict]:
    """Each record as a card: id, version, title, address and its key fields' texts."""
    labels = reference_labels(records, entity)
    return [{"id": r["id"], "version": r.get("version"), "title": record_title(entity, r),
             "url": record_url(entity["name"], r["id"]), "record": r,
             "fields": [{"label": f["label"], "text": badged(f, r.get(f["name"]), labels)}
                        for f in shown_fields if r.get(f["name"]) not in (None, "", [])]}
            for r in records]
