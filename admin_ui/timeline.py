"""A record's timeline, the 360° history: field changes from the audit trail, workflow
transitions and approvals, rule firings and notifications, of the record and of every
record referencing it that the user may read (for a party: its activities, service
requests, surveys and their answers…), of the records merged into it (their history stays
with them) or linking to it by `related_entity`/`related_id`
(an activity logged on an opportunity), newest first, filterable by kind, paged.

The records come from the record service (`records.get` / `records.list`), so sharing
decides which ones contribute; a record the user may not read contributes nothing. Their
entries are read from the engine's tables in one query per table and entity. A
notification is shown to the user it was sent to and to admins."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from admin_ui import related
from admin_ui.formats import display, record_title, titles_of
from admin_ui.people import names_of
from admin_ui.record_access import entity_or_404, record_or_404
from admin_ui.view import entity_view, screen_view
from admin_ui.web import screens
from engine.errors import ValidationFailed
from engine.systables import loom_table
from engine.timefmt import iso_utc

PAGE = 15
STAMP = "%Y-%m-%dT%H:%M:%S.%f"
MAX_DETAILS = 8
KINDS = ("change", "activity", "transition", "approval", "rule", "notification", "survey")
# Records of these entities are the timeline's activities and surveys; others' are changes.
ENTITY_KINDS = {"activity": "activity", "survey": "survey", "survey_response": "survey"}


def kind_labels() -> dict:
    return {"change": _("Changes"), "activity": _("Activities"), "transition": _("Transitions"),
            "approval": _("Approvals"), "rule": _("Rule firings"), "notification": _("Notifications"),
            "survey": _("Surveys")}


def subjects(entity: dict, record: dict, referring: dict) -> dict:
    """`{entity name: {id: record}}`: the record and the readable records referencing it
    (`related.referring`'s)."""
    out = {entity["name"]: {record["id"]: record}}
    for (other, _field), items in referring.items():
        for item in items:
            out.setdefault(other, {})[item["id"]] = item
    for merge in g.session.records.merged_into(entity["name"], record["id"]):  # the losers' history
        for loser in merge["losers"]:
            out[entity["name"]].setdefault(loser["id"], loser)
    return out


SOURCES = (("audit", "loom_audit"), ("transition", "loom_transitions"), ("approval", "loom_approvals"),
           ("rule", "loom_rule_trace"), ("notification", "loom_notifications"))


def entries(found: dict, kind: str | None, cursor: str | None) -> tuple[list[dict], str | None]:
    """A page of the entries of the records in `found` older than `cursor`, newest first
    (not yet worded), and the cursor of the next page.

    Each table is read newest first, at most a page and one row past the cursor; when a
    table had more, the page ends at the oldest row read from it, so no older entry of
    another table can be shown before that table's skipped ones."""
    after = _parse_cursor(cursor)
    out, cutoff = [], None
    with g.session.storage.connect() as conn:
        for name, records in found.items():
            for source, table in SOURCES:
                entry_kind = ENTITY_KINDS.get(name, "change") if source == "audit" else source
                if kind is not None and kind != entry_kind:
                    continue
                stmt = _query(conn, loom_table(g.session.storage.schema, table), source, name, sorted(records),
                              KINDS.index(entry_kind), after)
                rows = conn.execute(stmt).mappings().all()
                batch = [{"source": source, "kind": entry_kind, "entity": name, "row": dict(row),
                          "record": records[row["record_id"]],
                          "key": f"{_stamp(row['at'])}|{KINDS.index(entry_kind)}|{row['id']:012d}"} for row in rows]
                out += batch
                if len(rows) > PAGE:
                    cutoff = max(cutoff or "", batch[-1]["key"])
    out = sorted((e for e in out if cutoff is None or e["key"] >= cutoff), key=lambda e: e["key"], reverse=True)
    page = out[:PAGE]
    return page, page[-1]["key"] if page and (len(out) > PAGE or cutoff is not None) else None


def _query(conn, table, source, entity_name, ids, rank, after):
    """Newest first, one page and a row of `table`'s entries of the records past `after`."""
    stmt = select(table).where(table.c.entity == entity_name, table.c.record_id.in_(ids))
    if source == "audit":
        stmt = stmt.where(table.c.action != "transition")  # the transition log tells it, with its name
    if source == "notification" and not g.ui_user.is_admin:
        stmt = stmt.where(table.c.user_id == g.ui_user.id)
    if after is not None:
        at, after_rank, after_id = after
        at = at.replace(tzinfo=None) if conn.dialect.name == "sqlite" else at
        if rank < after_rank:
            stmt = stmt.where(table.c.at <= at)
        elif rank > after_rank:
            stmt = stmt.where(table.c.at < at)
        else:
            stmt = stmt.where(or_(table.c.at < at, and_(table.c.at == at, table.c.id < after_id)))
    return stmt.order_by(table.c.at.desc(), table.c.id.desc()).limit(PAGE + 1)


def _parse_cursor(cursor: str | None):
    """`(time, kind rank, id)` of a cursor (a 400 for one this module did not write)."""
    if not cursor:
        return None
    try:
        stamp, rank, row_id = cursor.split("|")
        return datetime.strptime(stamp, STAMP).replace(tzinfo=timezone.utc), int(rank), int(row_id)
    except ValueError:
        raise ValidationFailed(_("This link to older entries is not valid; reload the page."),
                               details=[{"field": "cursor", "message": cursor[:40]}]) from None


def _stamp(value) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime(STAMP)


def first_page(entity: dict, record: dict, kind: str | None = None, cursor: str | None = None,
               referring: dict | None = None) -> dict:
    """One page of the timeline: `items` (worded entries), `next_cursor`, `kind`, `kinds`;
    `referring` when the caller read them already (`related.referring`)."""
    if kind is not None and kind not in KINDS:
        raise ValidationFailed(_("There is no such kind of timeline entry."),
                               details=[{"field": "kind", "message": kind[:40]}])
    if referring is None:
        referring = related.referring(entity, record)
    page, next_cursor = entries(subjects(entity, record, referring), kind, cursor)
    names = names_of({e["row"].get("actor_id") or e["row"].get("user_id") for e in page})
    labels = _reference_labels(page)
    items = [_worded(entity, record, e, names, labels) for e in page]
    standing = {m["at"]: m for m in g.session.records.merged_into(entity["name"], record["id"])}
    for item, e in zip(items, page):  # a merge that stands can be undone from its entry
        if e["source"] == "audit" and e["row"]["action"] == "merge" and e["record"] is record:
            merge = standing.get(iso_utc(e["row"]["at"])) or {}
            item["undo_merge"] = merge.get("id")
            item["hidden_losers"] = merge.get("hidden", 0)  # losers the user could not read: said, not shown
    return {"items": items,
            "next_cursor": next_cursor, "kind": kind, "kinds": kind_labels()}


def _reference_labels(page) -> dict:
    """The titles of the records the page's field changes refer to (one query per entity;
    a record the user may not read keeps its bare id)."""
    wanted: dict = {}
    for entry in page:
        about = entity_view(entry["entity"])
        for name, values in ((entry["row"].get("changes") or {}) if entry["source"] == "audit" else {}).items():
            field = about["field_by_name"].get(name)
            if field is not None and field["base_type"] == "reference":
                wanted.setdefault(field["to"], set()).update(v for v in values if isinstance(v, int))
    labels = {}
    for target, ids in wanted.items():
        labels.update(titles_of(target, ids))
    return labels


def _worded(entity, record, entry, names, labels) -> dict:
    """An entry as the timeline shows it: when, who, what and its details."""
    row, about = entry["row"], entity_view(entry["entity"])
    out = {"kind": entry["kind"], "at": row["at"], "who": names.get(row.get("actor_id")), "details": []}
    if entry["record"] is not record:
        out["subject"] = {"entity": about["label"], "title": record_title(about, entry["record"]),
                          "url": url_for("screens.record_page", entity=about["name"], record_id=entry["record"]["id"])}
    out["what"], out["details"] = WORDING[entry["source"]](about, row, names, labels)
    return out


def _audit(about, row, names, labels):
    changes = g.session.records.masked_changes(about["name"], row["changes"] or {})
    lines = []
    for name, (old, new) in changes.items():
        field = about["field_by_name"].get(name)
        if field is None:
            continue
        if row["action"] == "create":
            if new not in (None, "", []):
                lines.append(_("%(field)s: %(value)s", field=field["label"], value=display(field, new, labels)))
        else:
            lines.append(_("%(field)s: %(old)s → %(new)s", field=field["label"],
                           old=display(field, old, labels) or "—", new=display(field, new, labels) or "—"))
    what = {"create": _("Created %(entity)s", entity=about["label"]),
            "delete": _("Deleted %(entity)s", entity=about["label"]),
            "merge": _("Merged duplicates into this %(entity)s", entity=about["label"]),
            "unmerge": _("Undid a merge into this %(entity)s", entity=about["label"])}.get(
        row["action"], _("Changed %(entity)s", entity=about["label"]))
    return what, lines[:MAX_DETAILS]


def _transition(about, row, names, labels):
    workflow = screen_view()["workflow_by_entity"].get(about["name"]) or {"states": [], "transitions": []}
    states = {s["name"]: s["label"] for s in workflow["states"]}
    steps = {t["name"]: t["label"] for t in workflow["transitions"]}
    what = _("%(step)s: %(old)s → %(new)s", step=steps.get(row["transition"]) or row["transition"],
             old=states.get(row["from_state"], row["from_state"] or "—"),
             new=states.get(row["to_state"], row["to_state"]))
    return what, [row["comment"]] if row["comment"] else []


def _approval(about, row, names, labels):
    workflow = screen_view()["workflow_by_entity"].get(about["name"]) or {"transitions": []}
    steps = {t["name"]: t["label"] for t in workflow["transitions"]}
    what = _("Approved %(step)s", step=steps.get(row["transition"]) or row["transition"])
    return what, [row["comment"]] if row["comment"] else []


def _rule(about, row, names, labels):
    return _("Rule %(rule)s (%(ruleset)s): %(outcome)s", rule=row["rule"], ruleset=row["ruleset"],
             outcome=row["outcome"]), []


def _notification(about, row, names, labels):
    return _("Notified %(person)s: %(title)s", person=names.get(row["user_id"]) or "—",
             title=row["title"]), []


WORDING = {"audit": _audit, "transition": _transition, "approval": _approval, "rule": _rule,
           "notification": _notification}


@screens.get("/e/<entity>/<record_id>/timeline")
def record_timeline(entity, record_id):
    """A page of the timeline (htmx: the entries and the next "more" button)."""
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    page = first_page(found, record, request.args.get("kind") or None, request.args.get("cursor"))
    template = "screens/record/_timeline_items.html" if request.headers.get("HX-Request") and request.args.get(
        "cursor") else "screens/record/_timeline.html"
    return render_template(template, entity=found, record=record, timeline=page)
