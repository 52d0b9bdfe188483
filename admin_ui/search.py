"""The global search: the header's box, its results page and the top results shown as the
user types, across every entity the user may read that the metadata does not hide.

Candidates come from the tenant's search index (`engine.records.search_index`, ranked:
a value equal to the query, then one starting with it, then one holding a word or CJK
character starting with it); they are then read through the record service, which drops
every record the user may not read, so sharing decides here as on every other screen."""
from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _

from admin_ui.board_common import record_url
from admin_ui.formats import record_title
from admin_ui.view import screen_view
from admin_ui.web import screens
from engine.records.access_log import log_access
from engine.records.search_index import find, searchable_fields

PAGE, SUGGESTIONS = 50, 8
OVERFETCH = 4  # candidates per result wanted: some may be records the user cannot read
CHUNK = 100


def results(query: str, wanted: int) -> list[dict]:
    """The best `wanted` records for `query` that the user may read."""
    view = screen_view()
    package = g.session.metadata().package
    shown = {name: e for name, e in view["entity_by_name"].items() if not e.get("hidden")}
    # Only the fields the user reads in clear: one their roles hide, or they read masked,
    # would tell them which record holds a value they may not see.
    records = g.session.records
    fields = {e.name: [name for name in searchable_fields(e) if name not in records.masking.hidden(e)]
              for e in (records.visible_entity(entity.name) for entity in package.entities if entity.name in shown)}
    candidates = find(g.session.storage, g.session.metadata(), query, shown, wanted * OVERFETCH, fields)
    by_entity: dict = {}
    for entity, record_id, _rank in candidates:
        by_entity.setdefault(entity, []).append(record_id)
    readable = {}
    for entity, ids in by_entity.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            page = g.session.records.list(entity, [("id__in", ",".join(map(str, chunk))), ("limit", str(len(chunk)))])
            readable.update({(entity, r["id"]): r for r in page["items"]})
    log_access(g.session.storage, g.ui_user.id, "search", None, (), {"q": query[:200]})
    found = []
    for entity, record_id, _rank in candidates:
        record = readable.get((entity, record_id))
        if record is not None:
            entity_view = view["entity_by_name"][entity]
            found.append({"entity": entity_view["label"], "title": record_title(entity_view, record),
                          "url": record_url(entity, record_id)})
    return found[:wanted]


@screens.get("/search")
def search():
    query = request.args.get("q", "").strip()
    found = results(query, PAGE) if query else []
    return render_template("screens/search.html", title=_("Search"), query=query, found=found)


@screens.get("/search/suggest")
def search_suggest():
    """The top results as the user types (an htmx partial under the search box)."""
    query = request.args.get("q", "").strip()
    found = results(query, SUGGESTIONS) if query else []
    return render_template("screens/_search_suggestions.html", query=query, found=found)
