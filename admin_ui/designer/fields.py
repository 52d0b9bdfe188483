"""The entity editor: the entity's labels, and its fields in the draft — add a field (type, choices,
reference target, required, labels in English and Chinese side by side, help text),
relabel, move up or down, hide or show, retire — each edit saved into the draft and its
problems shown beside the field."""
from __future__ import annotations

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer import edits
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from admin_ui.web import admin_only, screens
from engine.packs.show import show_layer
from metadata.fieldtypes import known_types

MOVES = {"up": -1, "down": 1}


def _pack_fields(entity_name: str) -> frozenset:
    """The names of the fields an installed pack gives the entity (kept, hidden instead),
    worked out once per metadata version."""
    compiled = g.session.metadata()
    return compiled.memo(("designer_pack_fields",), _fields_of_packs).get(entity_name, frozenset())


def _fields_of_packs() -> dict:
    document = show_layer(g.session, "pack").get("document") or {}
    return {e["name"]: frozenset(f["name"] for f in e.get("fields", [])) for e in document.get("entities", [])}


@screens.get("/designer/e/<entity>")
@admin_only
def designer_entity(entity):
    return entity_page(entity)


def entity_page(entity: str, label_problem: str | None = None, typed=None) -> str:
    """The entity's page; `label_problem` and the `typed` labels when its relabel form was
    refused at the door."""
    draft = drafts().open()
    found = [(i, e) for i, e in edits.indexed(draft.document, "entities") if e.get("name") == entity]
    if not found:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    index, definition = found[0]
    at = f"/entities/{index}"
    from_pack = _pack_fields(entity)
    fields = [_row(f, f"{at}/fields/{j}", draft.problems, from_pack)
              for j, f in edits.indexed(definition, "fields")]
    own = [p for p in problems_at(draft.problems, at) if not str(p["field"]).startswith(f"{at}/fields/")]
    sections = [s.get("name") for layout in edits.form_layouts(draft.document, entity)
                for s in edits.dicts(layout, "sections")]
    targets = [e.get("name") for e in edits.dicts(draft.document, "entities")]
    title = _("Fields of %(name)s", name=shown(definition.get("label"), entity))
    label_problems = problems_at(draft.problems, f"{at}/label") + problems_at(draft.problems, f"{at}/plural_label")
    own = [p for p in own if p not in label_problems]
    return render_template("designer/entity.html", title=title, entity=entity, fields=fields, problems=own,
                           types=sorted(known_types(g.session.extra_types)), targets=targets, sections=sections,
                           labels=typed or _entity_labels(definition), label_problems=label_problems,
                           label_problem=label_problem, hidden=definition.get("hidden") is True)


def _entity_labels(definition: dict) -> dict:
    """The entity's labels as the relabel form's inputs."""
    out = {}
    for key, prefix in (("label", "label"), ("plural_label", "plural")):
        value = definition.get(key)
        value = value if isinstance(value, dict) else {"en": value or ""}
        out[f"{prefix}_en"], out[f"{prefix}_zh"] = value.get("en", ""), value.get("zh-CN", "")
    return out


def _row(field: dict, path: str, problems: list, from_pack: set) -> dict:
    label = field.get("label")
    return {"name": field.get("name"), "type": field.get("type"),
            "label": label if isinstance(label, dict) else {"en": label or ""},
            "required": bool(field.get("required")), "hidden": bool(field.get("hidden")),
            "from_pack": field.get("name") in from_pack, "problems": problems_at(problems, path)}


def _back(entity, field=None) -> str:
    url = url_for("screens.designer_entity", entity=entity)
    return f"{url}#field-{field}" if field else url


def _field_from_form() -> dict:
    form = request.form
    field = {"name": form.get("name", "").strip(), "type": form.get("type", "").strip()}
    label = edits.labels(form.get("label_en"), form.get("label_zh"))
    help_text = edits.labels(form.get("help_en"), form.get("help_zh"))
    options = [line.strip() for line in form.get("options", "").splitlines() if line.strip()]
    for key, value in (("label", label), ("help", help_text), ("options", options or None),
                       ("to", form.get("to") if field["type"] == "reference" else None),
                       ("required", form.get("required") == "on" or None)):
        if value:
            field[key] = value
    return field


@screens.post("/designer/e/<entity>/fields")
@admin_only
def designer_add_field(entity):
    field = _field_from_form()
    return save_edit(edits.add_field, entity, field, request.form.get("section") or None,
                     back=_back(entity, field["name"]))


@screens.post("/designer/e/<entity>/fields/<field>/label")
@admin_only
def designer_relabel(entity, field):
    label = edits.labels(request.form.get("label_en"), request.form.get("label_zh"))
    return save_edit(edits.relabel_field, entity, field, label, back=_back(entity, field))


@screens.post("/designer/e/<entity>/fields/<field>/move")
@admin_only
def designer_move(entity, field):
    step = MOVES.get(request.form.get("direction", ""))
    if step is None:
        abort(400, _("Move a field up or down."))
    return save_edit(edits.move_field, entity, field, step, back=_back(entity, field))


@screens.post("/designer/e/<entity>/fields/<field>/hide")
@admin_only
def designer_hide(entity, field):
    hidden = request.form.get("hidden") == "1"
    return save_edit(edits.set_property, entity, field, "hidden", hidden, back=_back(entity, field))


@screens.post("/designer/e/<entity>/fields/<field>/retire")
@admin_only
def designer_retire(entity, field):
    return save_edit(edits.retire_field, entity, field, back=_back(entity))
