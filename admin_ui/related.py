"""A record's related lists, and the type-ahead of reference inputs.

A related list is every record of an entity whose reference field points at this record,
read through the record service (so only records the user may read), a page at a time
by the list API's keyset cursor, each list with a "New" link that pre-fills the
reference. The type-ahead lists the records of an entity the user may read whose title
contains what was typed."""
from __future__ import annotations

from flask import abort, g, render_template, request

from admin_ui.formats import display, record_title, reference_labels, title_field
from admin_ui.record_form import summary_fields
from admin_ui.record_access import entity_or_404, record_or_404
from admin_ui.view import screen_view
from admin_ui.web import screens

PAGE = 5
COLUMNS = 3
LOOKUP_SIZE = 20


def referrers(entity: dict) -> list[tuple[dict, dict]]:
    """`(entity, reference field)` of every reference to `entity`, in metadata order."""
    return [(other, field) for other in screen_view()["entities"] for field in other["fields"]
            if field["base_type"] == "reference" and field.get("to") == entity["name"]]


def lists(entity: dict, record: dict) -> dict:
    """The first page of every related list: `filled` (lists with records) and `empty`."""
    out = {"filled": [], "empty": []}
    for other, field in referrers(entity):
        section = page(other, field, record, None)
        out["filled" if section["rows"] else "empty"].append(section)
    return out


def page(other: dict, field: dict, record: dict, cursor: str | None) -> dict:
    """One page of the records of `other` whose `field` is `record` (named by the field
    too when `other` refers to the record's entity by more than one field)."""
    name_field = sum(f["base_type"] == "reference" and f.get("to") == field["to"] for f in other["fields"]) > 1
    params = [(field["name"], str(record["id"])), ("limit", str(PAGE)), ("sort", "-id")]
    if cursor:
        params.append(("cursor", cursor))
    found = g.session.records.list(other["name"], params)
    columns = summary_fields(other, {field["name"], title_field(other)}, COLUMNS)
    labels = reference_labels(found["items"], other)
    rows = [{"id": item["id"], "title": record_title(other, item),
             "cells": [(column["label"], display(column, item.get(column["name"]), labels)) for column in columns]}
            for item in found["items"]]
    label = other["plural_label"] or other["label"]
    return {"entity": other, "field": field, "record": record, "rows": rows, "next_cursor": found["next_cursor"],
            "label": f"{label} · {field['label']}" if name_field else label,
            "new_label": f"{other['label']} · {field['label']}" if name_field else other["label"],
            "key": f"related-{other['name']}-{field['name']}"}


@screens.get("/e/<entity>/<record_id>/related/<other>/<field>")
def record_related(entity, record_id, other, field):
    """The next page of one related list (htmx: its rows and the next "more" button)."""
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    target = entity_or_404(other)
    reference = target["field_by_name"].get(field)
    if reference is None or reference["base_type"] != "reference" or reference.get("to") != found["name"]:
        abort(404)
    section = page(target, reference, record, request.args.get("cursor") or None)
    return render_template("screens/record/_related_rows.html", section=section)


@screens.get("/e/<entity>/lookup")
def record_lookup(entity):
    """Options for a reference input: readable records whose title contains `q`."""
    found = entity_or_404(entity)
    query = request.args.get("q", "").strip()[:100]
    name = title_field(found)
    params = [("limit", str(LOOKUP_SIZE))]
    if query:
        params.append((f"{name}__contains", query) if name else ("q", query))
    items = g.session.records.list(found["name"], params)["items"]
    return render_template("screens/record/_lookup.html", entity=found,
                           options=[(item["id"], record_title(found, item)) for item in items])
