"""The conditions of the form editor, written with the designer's condition builder: when a
field shows (`visible_if`) and when it is required (`required_if`), and when a section
shows (`visible_if`). A condition the builder refuses is shown with its problems beside
the builder and nothing is saved; a saved one goes into the draft like every edit."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.condition_words import describe
from admin_ui.designer import edits, edits_forms
from admin_ui.designer.common import drafts, problems_at, shown
from admin_ui.designer.condition_builder import builder_for, builder_from_form, condition_of
from admin_ui.designer.edits import EditRefused
from admin_ui.i18n import language_of_request
from admin_ui.web import admin_only, screens

KEYS = {"field": edits_forms.FIELD_CONDITIONS, "section": ("visible_if",)}


def _target(document: dict, entity_name: str, kind: str, name: str) -> tuple[dict, dict, str]:
    """(the entity, the field or section holding the conditions, the JSON path of it)."""
    at = next((i for i, e in edits.indexed(document, "entities") if e.get("name") == entity_name), None)
    if at is None or kind not in KEYS:
        abort(404)
    entity = document["entities"][at]
    if kind == "field":
        found = next(((j, f) for j, f in edits.indexed(entity, "fields") if f.get("name") == name), None)
        if found is None:
            abort(404, _("Your draft has no field %(name)s.", name=name))
        return entity, found[1], f"/entities/{at}/fields/{found[0]}"
    for i, layout in edits.indexed(document, "layouts"):
        if layout.get("entity") == entity_name and layout.get("kind") == "form":
            found = next(((j, s) for j, s in edits.indexed(layout, "sections") if s.get("name") == name), None)
            if found is None:
                break
            return entity, found[1], f"/layouts/{i}/sections/{found[0]}"
    abort(404, _("The form has no section %(name)s.", name=name))


def _page(entity_name: str, kind: str, name: str, refused: dict | None = None, status: int = 200):
    draft = drafts().open()
    entity, holder, path = _target(draft.document, entity_name, kind, name)
    language = language_of_request()
    conditions = []
    for key in KEYS[kind]:
        condition = holder.get(key)
        submitted = refused if refused and refused["key"] == key else None
        builder = (submitted["builder"] if submitted
                   else builder_for(condition, entity, draft.document, key))
        conditions.append({
            "key": key, "builder": builder,
            "words": describe(condition, entity, language) if condition is not None else None,
            "problems": problems_at(draft.problems, f"{path}/{key}")})
    label = shown(holder.get("label"), name)
    title = (_("Conditions of the field %(name)s", name=label) if kind == "field"
             else _("Condition of the section %(name)s", name=label))
    return render_template("designer/form_conditions.html", title=title, entity=entity_name, kind=kind,
                           name=name, label=label, conditions=conditions), status


@screens.get("/designer/e/<entity>/form/conditions/<kind>/<name>")
@admin_only
def designer_form_conditions(entity, kind, name):
    return _page(entity, kind, name)


@screens.post("/designer/e/<entity>/form/conditions/<kind>/<name>")
@admin_only
def designer_form_save_condition(entity, kind, name):
    """Save one condition (`key`) from its builder, or remove it (`clear`)."""
    key = request.form.get("key", "")
    if kind not in KEYS or key not in KEYS[kind]:
        abort(404)
    found = drafts()
    document = found.open().document
    entity_doc, _holder, _path = _target(document, entity, kind, name)
    builder = builder_from_form(request.form, key, entity_doc, document)
    condition, problems = (None, []) if request.form.get("clear") else condition_of(builder, entity_doc, document)
    if problems:
        if condition is not None and builder.mode == "rows":
            builder = builder_for(condition, entity_doc, document, key, problems)
        else:
            builder.problems.extend(problems)
        return _page(entity, kind, name, {"key": key, "builder": builder}, 400)
    try:
        edited = (edits_forms.set_field_condition(document, entity, name, key, condition) if kind == "field"
                  else edits_forms.set_section_condition(document, entity, name, condition))
    except EditRefused as exc:
        abort(404, str(exc))
    found.save(edited)
    focus = f"fld-{name}" if kind == "field" else f"sec-{name}"
    return redirect(url_for("screens.designer_form", entity=entity, focus=focus) + f"#{focus}")
