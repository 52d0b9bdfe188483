"""Record pages, the 360° view: a record's page (header, workflow stage bar, its form
layout, related lists and timeline), a new record's form and the edit form.

A record the user may not read, a deleted one, a malformed id and an unknown entity all
get the same 404 page, so a page never hints that a record exists. Every write goes
through `g.session.records`, the record service the API uses; its problems come back next
to their fields, in the user's language (`admin_ui.problems`)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.whole import whole_number
from admin_ui import duplicates, form_layout, record_form, related, stale_edit, timeline, workflow_bar
from admin_ui.formats import record_title, reference_labels, title_field
from admin_ui.problems import by_field
from admin_ui.record_access import entity_or_404, record_or_404
from admin_ui.web import screens
from engine.errors import Conflict, StaleVersion, ValidationFailed

REFUSALS = (ValidationFailed, Conflict)  # shown on the form: bad values, a unique value taken

KEY_FIELDS = 4


def key_fields(entity: dict, record: dict) -> list[dict]:
    """A few fields that say what the record is, for its header: the list layout's
    `header_fields`, else its columns (after the title and the workflow state), else the
    first fields; those that show."""
    chosen = (record_form.layout_of(entity, "list") or {}).get("header_fields")
    if chosen:
        fields = [entity["field_by_name"][n] for n in chosen if n in entity["field_by_name"]]
    else:
        skip = {title_field(entity), record_form.state_field(entity)}
        fields = record_form.summary_fields(entity, skip, KEY_FIELDS)
    return form_layout.showing(entity, record_form.sections(entity), fields, record)


@screens.get("/e/<entity>/<record_id>")
def record_page(entity, record_id):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    return render_template("screens/record/page.html", **page_context(found, record))


def page_context(entity: dict, record: dict, **extra) -> dict:
    labels = reference_labels([record], entity)
    referring = related.referring(entity, record)  # read once, for the related lists and the timeline
    return {"title": record_title(entity, record), "nav_entity": entity["name"], "entity": entity,
            "record": record, "labels": labels, "key_fields": key_fields(entity, record),
            "layout": record_form.arranged(entity, record), "workflow": workflow_bar.bar(entity, record),
            "related": related.lists(entity, record, referring),
            "timeline": timeline.first_page(entity, record, referring=referring),
            "transition_error": None, "may_edit": g.session.records.may_edit(entity["name"], record["id"]),
            **extra}


@screens.route("/e/<entity>/new", methods=["GET", "POST"])
def record_new(entity):
    found = entity_or_404(entity)
    if request.method == "GET":
        return form_page(found, None, record_form.prefill(found, request.args))
    values, raw, problems = record_form.read_form(found, request.form)
    if not problems:
        try:
            created = duplicates.create(found, values)
        except duplicates.Refused as refused:
            return form_page(found, None, raw, duplicates=refused), 409
        except REFUSALS as error:
            problems = _problems(found, error)
        else:
            flash(_("Created."))
            return redirect(url_for("screens.record_page", entity=found["name"], record_id=created["id"]))
    return form_page(found, None, raw, problems), 422


@screens.route("/e/<entity>/<record_id>/edit", methods=["GET", "POST"])
def record_edit(entity, record_id):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    if not g.session.records.may_edit(found["name"], record["id"]):  # asked before anyone types
        return render_template("screens/error.html", title=_("Not allowed"),
                               message=_("You may read this record, not change it.")), 403
    if request.method == "GET":
        return form_page(found, record, _input_values(found, record))
    loaded = stale_edit.form_version(request.form)
    if loaded != record["version"]:
        return _stale(found, record, loaded)
    values, raw, problems = record_form.read_form(found, request.form, before=record)
    if not problems:
        if not values:
            flash(_("Nothing changed."))
            return redirect(url_for("screens.record_page", entity=found["name"], record_id=record["id"]))
        try:
            duplicates.update(found, record["id"], values, loaded)
        except duplicates.Refused as refused:
            return form_page(found, record, raw, duplicates=refused), 409
        except StaleVersion:
            return _stale(found, record_or_404(found, record["id"]), loaded)
        except REFUSALS as error:
            problems = _problems(found, error)
        else:
            flash(_("Saved."))
            return redirect(url_for("screens.record_page", entity=found["name"], record_id=record["id"]))
    return form_page(found, record, raw, problems), 422


@screens.post("/e/<entity>/<record_id>/transitions/<name>")
def record_transition(entity, record_id, name):
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    status, refusal = workflow_bar.take(found, record, name, request.form, stale_edit.form_version(request.form))
    if refusal is not None:
        record = record_or_404(found, record["id"])
        return render_template("screens/record/page.html",
                               **page_context(found, record, transition_error=refusal)), status
    return redirect(url_for("screens.record_page", entity=found["name"], record_id=record["id"]))


def _stale(entity: dict, record: dict, loaded: int):
    inputs, stale = stale_edit.reapplied(entity, record, loaded, request.form)
    return form_page(entity, record, inputs, stale=stale), 409


def _input_values(entity: dict, record: dict) -> dict:
    return {field["name"]: record_form.input_value(field, record.get(field["name"]))
            for section in record_form.sections(entity) for field in section["fields"]}


def _problems(entity: dict, error) -> dict:
    """`{field: [text]}` of the error's problems; those of no field on the form (a rule's
    refusal) under `""`, with the error's message when nothing else says what is wrong."""
    fields, general = by_field(error)
    for name in [n for n in fields if n not in entity["field_by_name"]]:
        general += fields.pop(name)
    if general or not fields:
        fields[""] = general or [error.message]
    return fields


@screens.post("/e/<entity>/new/form")
def record_new_form(entity):
    """The new record's form body drawn again for the unsaved values (its conditions judged
    on them); writes nothing."""
    found = entity_or_404(entity)
    return render_template("screens/record/_form_body.html", **form_context(found, None, _unsaved(found, None)))


@screens.post("/e/<entity>/<record_id>/form")
def record_edit_form(entity, record_id):
    """The edit form's body drawn again for the unsaved values; writes nothing."""
    found = entity_or_404(entity)
    record = record_or_404(found, record_id)
    if not g.session.records.may_edit(found["name"], record["id"]):
        return render_template("screens/error.html", title=_("Not allowed"),
                               message=_("You may read this record, not change it.")), 403
    return render_template("screens/record/_form_body.html", **form_context(found, record, _unsaved(found, record)))


def _unsaved(entity: dict, record: dict | None) -> dict:
    """The input values the form sent, as typed."""
    return record_form.read_form(entity, request.form, before=record)[1]


def form_page(entity: dict, record: dict | None, inputs: dict, problems=None, **extra):
    """The new or edit form with the inputs' values and problems (`{field: [text]}`,
    `""` for the form as a whole)."""
    return render_template("screens/record/form.html", **form_context(entity, record, inputs, problems, **extra))


def form_context(entity: dict, record: dict | None, inputs: dict, problems=None, **extra) -> dict:
    """What the form and its body draw: the inputs over the record's (or a new record's
    starting) values, the layout as it shows for them, and the URL that draws it again."""
    inputs = {**(_input_values(entity, record) if record else record_form.starting_values(entity)), **inputs}
    values = dict(record or {})
    values.update({name: _as_record_value(entity, name, raw) for name, raw in inputs.items()})
    labels = reference_labels([values], entity)
    title = (_("Edit %(title)s", title=record_title(entity, record)) if record
             else _("New %(entity)s", entity=entity["label"]))
    unsaved = record_form.unsaved(entity, record, inputs)
    problems = _said_where_drawn(entity, problems, form_layout.shown_names(entity, record_form.sections(entity), unsaved))
    layout = record_form.arranged(entity, unsaved, request.form.get("_tab"), problems)
    refresh_url = (url_for("screens.record_edit_form", entity=entity["name"], record_id=record["id"]) if record
                   else url_for("screens.record_new_form", entity=entity["name"]))
    return {"title": title, "nav_entity": entity["name"], "entity": entity, "record": record, "inputs": inputs,
            "labels": labels, "problems": problems or {}, "layout": layout, "refresh_url": refresh_url,
            "form": record_form, **extra}


def _said_where_drawn(entity: dict, problems, drawn: set) -> dict | None:
    """The problems of fields the form does not draw (one in a section hidden by its
    condition) moved to the form's own message, each with its field's label: none is lost."""
    if not problems:
        return problems
    kept = {name: texts for name, texts in problems.items() if name == "" or name in drawn}
    fields = entity["field_by_name"]
    lost = [f"{fields[name]['label']}: {text}" if name in fields else text
            for name, texts in problems.items() if name and name not in drawn for text in texts]
    if lost:
        kept[""] = [*kept.get("", []), *lost]
    return kept


def _as_record_value(entity, name, raw):
    """A reference's id from its input, so the form can show the referenced record's title."""
    field = entity["field_by_name"].get(name)
    if field and field["base_type"] == "reference" and whole_number(raw, 1) is not None:
        return whole_number(raw)
    return None if field is None or field["base_type"] == "reference" else raw
