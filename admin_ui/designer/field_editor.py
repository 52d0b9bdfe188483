"""The full field editor: one field of the draft with every property its type takes —
labels and help in English and Chinese, type, flags (required, read-only, unique, indexed,
PII), default, limits and formats, choices with their own labels and colours, reference
target — beside its usage (what names it) and, when the change rewrites its column, how
many stored values convert and which would not; and the entity's composite indexes."""
from __future__ import annotations

import json

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer import edits, edits_fields
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from admin_ui.designer.usage import field_usage
from engine.whole import whole_number
from admin_ui.web import admin_only, screens
from engine.jsontext import strict_loads
from engine.migration.conversion import conversion, rewritten
from metadata.fieldtypes import COMMON_PROPERTIES, TYPE_PROPERTIES, known_types
from metadata.model import OPTION_COLORS, Field

FLAGS = edits_fields.FLAGS
NEW_OPTION_ROWS = 2  # empty rows for new choices under the existing ones
WHOLE = ("max_length", "precision", "scale")
ON_DELETE = ("restrict", "set_null", "cascade")


def _found(document: dict, entity: str, field: str):
    """(entity index, entity, field index, field) of the draft, or a 404 page."""
    for i, definition in edits.indexed(document, "entities"):
        if definition.get("name") == entity:
            for j, found in edits.indexed(definition, "fields"):
                if found.get("name") == field:
                    return i, definition, j, found
    abort(404, _("Your draft has no field %(field)s in %(entity)s.", field=field, entity=entity))


@screens.get("/designer/e/<entity>/f/<field>")
@admin_only
def designer_field(entity, field):
    draft = drafts().open()
    i, definition, j, doc = _found(draft.document, entity, field)
    at = f"/entities/{i}/fields/{j}"
    types = known_types(g.session.extra_types)
    base = types.get(doc.get("type"), "")
    problems = problems_at(draft.problems, at)
    label = doc.get("label") if isinstance(doc.get("label"), dict) else {"en": doc.get("label") or ""}
    help_text = doc.get("help") if isinstance(doc.get("help"), dict) else {"en": doc.get("help") or ""}
    return render_template(
        "designer/field.html", title=_("Field %(field)s of %(entity)s", field=field, entity=entity),
        entity=entity, entity_label=shown(definition.get("label"), entity), field=doc, base=base, at=at,
        label=label, help_text=help_text, types=sorted(types), allowed=TYPE_PROPERTIES.get(base, frozenset()),
        flags=FLAGS, options=_options(doc, at, draft.problems), colours=OPTION_COLORS, on_delete=ON_DELETE,
        targets=[e.get("name") for e in edits.dicts(draft.document, "entities")],
        problems={key: problems_at(draft.problems, f"{at}/{key}") for key in (*COMMON_PROPERTIES, *_all_props())},
        own_problems=problems_at(draft.problems, at, exact=True), default=shown_value(doc.get("default", None)),
        usage=_grouped(field_usage(draft.document, entity, field)),
        conversion=None if problems else _conversion(entity, doc, types))


def _grouped(usage: list) -> list[dict]:
    """The mentions by the object that makes them: `{"kind", "name", "paths"}`."""
    found: dict = {}
    for mention in usage:
        found.setdefault((mention["kind"], mention["name"]), []).append(mention["path"])
    return [{"kind": kind, "name": name, "paths": paths} for (kind, name), paths in found.items()]


def _all_props() -> set:
    return set().union(*TYPE_PROPERTIES.values())


def _options(doc: dict, at: str, problems: list) -> list[dict]:
    rows = []
    for k, option in enumerate(doc.get("options") if isinstance(doc.get("options"), list) else []):
        option = option if isinstance(option, dict) else {"value": option}
        label = option.get("label") if isinstance(option.get("label"), dict) else {"en": option.get("label") or ""}
        rows.append({"value": option.get("value", ""), "en": label.get("en", ""), "zh": label.get("zh-CN", ""),
                     "color": option.get("color", ""), "problems": problems_at(problems, f"{at}/options/{k}")})
    return rows + [{"value": "", "en": "", "zh": "", "color": "", "problems": [], "new": True}] * NEW_OPTION_ROWS


def shown_value(value) -> str:
    """A default, min or max as the editor's input shows it (text as it is, anything else
    as JSON: `false`, `0`, `["a"]`)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _conversion(entity: str, doc: dict, types: dict) -> dict | None:
    """How the live values convert when the draft's field rewrites the live column (None
    when it does not, when the field is new or its type unknown)."""
    compiled = g.session.metadata()
    live = compiled.entity(entity)
    old = live.field(doc.get("name")) if live is not None else None
    if old is None or doc.get("type") not in types or entity not in compiled.tables:
        return None
    new = Field.from_document(doc, g.session.extra_types)
    if not rewritten(old, new):
        return None
    with g.session.storage.connect() as conn:
        found = conversion(conn, compiled.tables[entity], old, new)
    return {"old": old.type, "new": new.type, **found,
            "examples": [{**e, "shown": shown_value(e["value"]),
                          "url": url_for("screens.record_page", entity=entity, record_id=e["id"])}
                         for e in found["examples"]]}


@screens.post("/designer/e/<entity>/f/<field>")
@admin_only
def designer_save_field(entity, field):
    types = known_types(g.session.extra_types)

    def replaced(document, entity, field):  # the form read against the very field it replaces
        definition = edits.entity_of(document, entity)
        current = definition["fields"][edits.field_index(definition, field)]
        return edits_fields.replace_properties(document, entity, field, properties_from(request.form, types, current))

    back = url_for("screens.designer_field", entity=entity, field=field)
    return save_edit(replaced, entity, field, back=back)


def properties_from(form, types: dict, current: dict | None = None) -> dict:
    """The field's properties as the editor's form gives them: the common ones and those
    of its (new) type; a value that is not what the format wants is kept as typed, so the
    draft's check says why next to its input. A default, min or max whose text is the one
    the form showed for the field's `current` value (its document) keeps that value as it
    is (a decimal's bound written as a number stays one): a form saved unchanged changes
    nothing."""
    current = current or {}
    type_name = form.get("type", "").strip()
    base = types.get(type_name, "")
    allowed = TYPE_PROPERTIES.get(base, frozenset())

    def typed(key):
        text = form.get(key, "")
        if key in current and text.strip() == shown_value(current[key]).strip():
            return current[key]
        return _typed(text, base)

    out = {"type": type_name, "label": edits.labels(form.get("label_en"), form.get("label_zh")),
           "help": edits.labels(form.get("help_en"), form.get("help_zh")), "default": typed("default")}
    out.update({flag: form.get(flag) == "on" for flag in FLAGS})
    for key in ("max_length", "pattern", "min", "max", "precision", "scale", "to", "on_delete"):
        if key in allowed:
            text = form.get(key, "").strip()
            out[key] = _whole(text) if key in WHOLE else (typed(key) if key in ("min", "max") else text or None)
    if "options" in allowed:
        out["options"] = _options_from(form) or None
    return out


def _whole(text: str):
    number = whole_number(text)
    return None if not text else (text if number is None else number)


def _typed(text: str, base: str):
    """A default, min or max typed in the form, as the type's JSON value (text that does
    not read as one is kept as typed)."""
    text = text.strip()
    if not text:
        return None
    if base == "integer":
        return _whole(text)
    if base == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if base in ("json", "multi_choice", "currency"):
        try:
            return strict_loads(text)
        except ValueError:
            return text
    return text


def _options_from(form) -> list[dict]:
    """The choices' rows in order (`option_value_<n>`, labels, colour), without those
    marked for removal or left without a value."""
    out, n = [], 0
    while f"option_value_{n}" in form:
        value = form.get(f"option_value_{n}", "").strip()
        if value and form.get(f"option_remove_{n}") != "on":
            option = {"value": value}
            label = edits.labels(form.get(f"option_en_{n}"), form.get(f"option_zh_{n}"))
            if label:
                option["label"] = label
            if form.get(f"option_color_{n}"):
                option["color"] = form[f"option_color_{n}"]
            out.append(option)
        n += 1
    return out


@screens.get("/designer/e/<entity>/indexes")
@admin_only
def designer_indexes(entity):
    draft = drafts().open()
    found = [(i, e) for i, e in edits.indexed(draft.document, "entities") if e.get("name") == entity]
    if not found:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    i, definition = found[0]
    indexes = [{"fields": x.get("fields") if isinstance(x.get("fields"), list) else [], "unique": bool(x.get("unique")),
                "problems": problems_at(draft.problems, f"/entities/{i}/indexes/{k}")}
               for k, x in enumerate(definition.get("indexes") if isinstance(definition.get("indexes"), list) else [])]
    fields = [{"name": f.get("name"), "label": shown(f.get("label"), str(f.get("name")))}
              for f in edits.dicts(definition, "fields")]
    return render_template("designer/indexes.html", title=_("Indexes of %(name)s", name=shown(definition.get("label"), entity)),
                           entity=entity, entity_label=shown(definition.get("label"), entity), indexes=indexes, fields=fields, slots=range(1, 5),
                           problems=[p for p in problems_at(draft.problems, f"/entities/{i}/indexes")
                                     if not str(p["field"]).startswith(f"/entities/{i}/indexes/")])


@screens.post("/designer/e/<entity>/indexes")
@admin_only
def designer_add_index(entity):
    names = [name for name in (request.form.get(f"field_{n}", "").strip() for n in range(1, 5)) if name]
    if not names:
        abort(400, _("Choose the fields of the index."))
    return save_edit(edits_fields.add_index, entity, names, request.form.get("unique") == "on",
                     back=url_for("screens.designer_indexes", entity=entity))


@screens.post("/designer/e/<entity>/indexes/<int:position>/remove")
@admin_only
def designer_remove_index(entity, position):
    return save_edit(edits_fields.remove_index, entity, position,
                     back=url_for("screens.designer_indexes", entity=entity))
