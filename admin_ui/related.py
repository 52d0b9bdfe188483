"""A record's related lists, and the type-ahead of reference inputs.

A related list is every record of an entity whose reference field points at this record,
read through the record service (so only records the user may read), a page at a time
older than the last one shown, each list with a "New" link that pre-fills the
reference. The type-ahead lists the records of an entity the user may read whose title
contains what was typed."""
from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import gettext as _

from engine.whole import whole_number
from admin_ui.formats import display, record_title, reference_labels, title_field
from admin_ui.record_form import summary_fields
from admin_ui.record_access import entity_or_404, record_or_404
from admin_ui.view import screen_view
from admin_ui.web import screens
from engine.errors import ValidationFailed

PAGE = 5
MAX_REFERRING = 200  # records of each referencing entity and field read for the record page
LINK = ("related_entity", "related_id")  # a record of any entity, named by its entity and id
COLUMNS = 3
LOOKUP_SIZE = 20


def referrers(entity: dict) -> list[tuple[dict, dict]]:
    """`(entity, reference field)` of every reference to `entity`, in metadata order."""
    return [(other, field) for other in screen_view()["entities"] for field in other["fields"]
            if field["base_type"] == "reference" and field.get("to") == entity["name"]]


def linkers() -> list[dict]:
    """The entities whose records name a record of any entity by the LINK fields (a text
    and a whole number), as crm_core's activities do."""
    return [other for other in screen_view()["entities"]
            if other["field_by_name"].get(LINK[0], {}).get("base_type") == "string"
            and other["field_by_name"].get(LINK[1], {}).get("base_type") == "integer"]


def referring(entity: dict, record: dict) -> dict:
    """`{(entity, field): records}`: the newest MAX_REFERRING readable records of every
    referencing entity and reference field, and of every entity linking to the record by
    the LINK fields (under `related_id`), one list query each. The record page reads them
    once for its related lists and its timeline."""
    out = {}
    for other, field in referrers(entity):
        params = [(field["name"], str(record["id"])), ("limit", str(MAX_REFERRING)), ("sort", "-id")]
        out[(other["name"], field["name"])] = g.session.records.list(other["name"], params)["items"]
    for other in linkers():
        params = [(LINK[0], entity["name"]), (LINK[1], str(record["id"])), ("limit", str(MAX_REFERRING)),
                  ("sort", "-id")]
        out[(other["name"], LINK[1])] = g.session.records.list(other["name"], params)["items"]
    return out


def lists(entity: dict, record: dict, found: dict) -> dict:
    """The first page of every related list from the `referring` records `found`:
    `filled` (lists with records) and `empty`."""
    out = {"filled": [], "empty": []}
    for other, field in referrers(entity):
        items = found[(other["name"], field["name"])]
        section = section_of(other, field, record, items[:PAGE], len(items) > PAGE)
        out["filled" if section["rows"] else "empty"].append(section)
    return out


def page(other: dict, field: dict, record: dict, before: int) -> dict:
    """The page of the records of `other` whose `field` is `record` older than id `before`."""
    params = [(field["name"], str(record["id"])), ("id__lt", str(before)), ("limit", str(PAGE + 1)), ("sort", "-id")]
    items = g.session.records.list(other["name"], params)["items"]
    return section_of(other, field, record, items[:PAGE], len(items) > PAGE)


def section_of(other: dict, field: dict, record: dict, items: list, more: bool) -> dict:
    """A related list's page of `items` (named by the field too when `other` refers to the
    record's entity by more than one field); `next_cursor` is the id the next page is older than."""
    name_field = sum(f["base_type"] == "reference" and f.get("to") == field["to"] for f in other["fields"]) > 1
    columns = summary_fields(other, {field["name"], title_field(other)}, COLUMNS)
    labels = reference_labels(items, other)
    rows = [{"id": item["id"], "title": record_title(other, item),
             "cells": [(column["label"], display(column, item.get(column["name"]), labels)) for column in columns]}
            for item in items]
    label = other["plural_label"] or other["label"]
    return {"entity": other, "field": field, "record": record, "rows": rows,
            "next_cursor": items[-1]["id"] if more and items else None,
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
    before = whole_number(request.args.get("cursor"), 1)
    if before is None:
        raise ValidationFailed(_("This link to more records is not valid; reload the page."),
                               details=[{"field": "cursor", "message": str(request.args.get("cursor"))[:40]}])
    section = page(target, reference, record, before)
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
