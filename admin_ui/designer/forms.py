"""The form layout editor: an entity's form in the draft — tabs, sections (labels, 1–4
columns), the fields in them, the fields not on the form — with a button or a form for
every move (a drag only sends the same move), beside a live preview of the draft's form.

Every change is an edit of the draft (`edits_forms`), saved checked and kept even when
invalid; the page comes back with the draft's problems beside their controls. htmx posts
redraw the editor and the preview in place, and the element to focus next is named in
the page (`focus`), so a keyboard user goes on from the control they used."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer import edits, edits_forms
from admin_ui.designer.common import drafts
from admin_ui.designer.edits import DraftMalformed, EditRefused
from admin_ui.designer.forms_preview import preview, submitted_preview
from admin_ui.designer.forms_view import editor
from engine.whole import whole_number
from admin_ui.web import admin_only, screens
from metadata.identifiers import identifier_problem

STEPS = {"up": -1, "down": 1}


class Refused(ValueError):
    """A bad input of the editor's forms: said on the page, nothing saved."""


def page(entity: str, refusal: str | None = None, status: int = 200):
    draft = drafts().open()
    found = editor(draft.document, draft.problems, entity)
    if found is None:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    title = _("Form of %(name)s", name=found["label"])
    return render_template("designer/form.html", title=title, editor=found, refusal=refusal,
                           focus=request.args.get("focus", ""), draft=draft,
                           preview=preview(draft, entity) if found["form"] else None), status


def _save(entity: str, focus: str, edit, *args):
    """Apply `edit(document, entity, *args)` to the draft and go back to the editor (focus
    on `focus`); a refused edit is said on the editor page, and nothing is saved."""
    found = drafts()
    try:
        document = edit(found.open().document, entity, *args)
    except DraftMalformed as exc:
        return page(entity, str(exc), 409)
    except EditRefused as exc:
        return page(entity, str(exc), 404)
    found.save(document)
    return redirect(url_for("screens.designer_form", entity=entity, focus=focus) + f"#{focus}")


def _guarded(view):
    """A bad input (`Refused`) answered by the editor page with its reason, status 400."""
    def wrapper(entity, *args, **kwargs):
        try:
            return view(entity, *args, **kwargs)
        except Refused as exc:
            return page(entity, str(exc), 400)
    wrapper.__name__ = view.__name__
    return wrapper


def _step() -> int:
    step = STEPS.get(request.form.get("direction", ""))
    if step is None:
        raise Refused(_("Move up or down."))
    return step


def _name(kind: str) -> str:
    name = request.form.get("name", "").strip()
    if identifier_problem(name, kind):
        raise Refused(_("A name is lowercase letters, digits and underscores, starting with a letter."))
    return name


def _columns() -> int | None:
    text = request.form.get("columns", "").strip()
    if not text:
        return None
    number = whole_number(text)
    if number is None or not 1 <= number <= 4:
        raise Refused(_("A section has 1 to 4 columns."))
    return number


def _chosen(key: str) -> str:
    value = request.form.get(key, "").strip()
    if not value:
        raise Refused(_("Choose where to move it."))
    return value


def _label():
    return edits.labels(request.form.get("label_en"), request.form.get("label_zh"))


@screens.get("/designer/e/<entity>/form")
@admin_only
def designer_form(entity):
    return page(entity)


@screens.post("/designer/e/<entity>/form/preview")
@admin_only
def designer_form_preview(entity):
    """The preview's form body drawn again for the values typed into it; saves nothing."""
    return str(submitted_preview(drafts().open(), entity))


@screens.post("/designer/e/<entity>/form/create")
@admin_only
def designer_form_create(entity):
    return _save(entity, "form-sections", edits_forms.create_form)


@screens.post("/designer/e/<entity>/form/place")
@admin_only
@_guarded
def designer_form_place(entity):
    """Put a field in a section (at `position`, else at its end): a drop, a move to
    another section, or placing a field the form does not show."""
    field, section = _chosen("field"), _chosen("section")
    text = request.form.get("position", "").strip()
    position = whole_number(text) if text else None
    if text and position is None:
        raise Refused(_("A position is a whole number."))
    return _save(entity, f"fld-{field}", edits_forms.place_field, field, section, position)


@screens.post("/designer/e/<entity>/form/fields/<field>/move")
@admin_only
@_guarded
def designer_form_move_field(entity, field):
    return _save(entity, f"fld-{field}", edits_forms.step_field, field, _step())


@screens.post("/designer/e/<entity>/form/fields/<field>/off")
@admin_only
def designer_form_take_off(entity, field):
    return _save(entity, "form-unplaced", edits_forms.take_off, field)


@screens.post("/designer/e/<entity>/form/sections")
@admin_only
@_guarded
def designer_form_add_section(entity):
    name = _name("section")
    return _save(entity, f"sec-{name}", edits_forms.add_section, name, _label(), _columns(),
                 request.form.get("tab") or None)


@screens.post("/designer/e/<entity>/form/sections/<section>")
@admin_only
@_guarded
def designer_form_section(entity, section):
    return _save(entity, f"sec-{section}", edits_forms.set_section, section, _label(), _columns())


@screens.post("/designer/e/<entity>/form/sections/<section>/move")
@admin_only
@_guarded
def designer_form_move_section(entity, section):
    return _save(entity, f"sec-{section}", edits_forms.step_section, section, _step())


@screens.post("/designer/e/<entity>/form/sections/<section>/tab")
@admin_only
@_guarded
def designer_form_section_tab(entity, section):
    return _save(entity, f"sec-{section}", edits_forms.section_to_tab, section, _chosen("tab"))


@screens.post("/designer/e/<entity>/form/sections/<section>/remove")
@admin_only
def designer_form_remove_section(entity, section):
    return _save(entity, "form-sections", edits_forms.remove_section, section)


@screens.post("/designer/e/<entity>/form/tabs")
@admin_only
@_guarded
def designer_form_add_tab(entity):
    name = _name("tab")
    return _save(entity, f"tab-ed-{name}", edits_forms.add_tab, name, _label())


@screens.post("/designer/e/<entity>/form/tabs/<tab>")
@admin_only
def designer_form_tab(entity, tab):
    return _save(entity, f"tab-ed-{tab}", edits_forms.relabel_tab, tab, _label())


@screens.post("/designer/e/<entity>/form/tabs/<tab>/move")
@admin_only
@_guarded
def designer_form_move_tab(entity, tab):
    return _save(entity, f"tab-ed-{tab}", edits_forms.step_tab, tab, _step())


@screens.post("/designer/e/<entity>/form/tabs/<tab>/remove")
@admin_only
def designer_form_remove_tab(entity, tab):
    return _save(entity, "form-sections", edits_forms.remove_tab, tab)
