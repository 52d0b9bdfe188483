"""The message templates editor: the draft's templates — each one's subject and body in
English and Chinese side by side, its description, where the draft sends it, the fields
of an entity it can name — saved into the draft (`edits_templates`) with the engine's
problems beside their controls, and previewed on a real record in both languages by the
renderer notifications use (nothing is sent)."""
from __future__ import annotations

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer import edits, edits_templates
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from engine.whole import whole_number
from admin_ui.web import admin_only, screens
from engine.errors import LoomError
from workflows.notify.templates import NAME_RE, TemplateFailed, message_context, render

LANGUAGES = (("en", "English"), ("zh-CN", "中文"))


@screens.get("/designer/templates")
@admin_only
def designer_templates():
    draft = drafts().open()
    found = [{"name": t.get("name"), "subject": shown(t.get("subject"), ""),
              "description": t.get("description") or "", "uses": edits_templates.uses_of(draft.document, t.get("name")),
              "problems": problems_at(draft.problems, f"/templates/{i}")}
             for i, t in edits.indexed(draft.document, "templates")]
    return render_template("designer/templates.html", title=_("Message templates"), templates=found)


@screens.post("/designer/templates")
@admin_only
def designer_add_template():
    name = request.form.get("name", "").strip()
    if not NAME_RE.fullmatch(name):
        abort(400, _("A template's name is 1 to 48 lowercase letters, digits or _, starting with a letter."))
    if any(t.get("name") == name for t in edits.dicts(drafts().open().document, "templates")):
        abort(409, _("Your draft already has a message template %(name)s.", name=name))
    return save_edit(edits_templates.add_template, name,
                     back=url_for("screens.designer_template", name=name))


@screens.get("/designer/templates/<name>")
@admin_only
def designer_template(name):
    draft = drafts().open()
    at = next((i for i, t in edits.indexed(draft.document, "templates") if t.get("name") == name), None)
    if at is None:
        abort(404, _("Your draft has no message template %(name)s.", name=name))
    template = draft.document["templates"][at]
    texts = {part: edits_templates_languages(template.get(part)) for part in ("subject", "body")}
    problems = {f"{part}/{lang}": problems_at(draft.problems, f"/templates/{at}/{part}/{lang}")
                for part in ("subject", "body") for lang, _label in LANGUAGES}
    own = [p for p in problems_at(draft.problems, f"/templates/{at}")
           if not any(p in found for found in problems.values())]
    entities = [{"name": e.name, "label": shown(e.label, e.name)} for e in g.session.metadata().package.entities]
    chosen = request.args.get("entity") or (entities[0]["name"] if entities else "")
    entity = g.session.metadata().entity(chosen)
    fields = [{"name": f.name, "label": shown(f.label, f.name)} for f in entity.fields] if entity else []
    preview, preview_problem = _preview(template, entity, request.args.get("id", "").strip())
    return render_template(
        "designer/template.html", title=_("Message template %(name)s", name=name), name=name, texts=texts,
        description=template.get("description") or "", problems=problems, own_problems=own,
        languages=LANGUAGES, uses=edits_templates.uses_of(draft.document, name), entities=entities,
        chosen=chosen, fields=fields, record_id=request.args.get("id", ""), preview=preview,
        preview_problem=preview_problem)


def edits_templates_languages(value) -> dict:
    """A part's texts by language (a plain text is English)."""
    if isinstance(value, str):
        return {"en": value}
    return {lang: text for lang, text in value.items() if isinstance(text, str)} if isinstance(value, dict) else {}


def _preview(template: dict, entity, asked: str) -> tuple[list | None, str | None]:
    """The template rendered on the record of `entity` with id `asked`, in each language
    ({"language", "subject", "body"} or the renderer's refusal); or why there is none."""
    if not asked or entity is None:
        return None, None
    record_id = whole_number(asked)
    if record_id is None or record_id < 1:
        return None, _("Type a record's id: a whole number.")
    try:
        record = g.session.records.get(entity.name, record_id)
    except LoomError:
        return None, _("There is no %(entity)s record %(id)s you may read.", entity=shown(entity.label, entity.name),
                       id=record_id)
    user = g.ui_user
    shown_in = []
    for lang, label in LANGUAGES:
        context = message_context(g.session.tenant, entity.name, record,
                                  {"name": g.get("ui_user_name") or user.email, "email": user.email,
                                   "locale": lang})
        try:
            subject, body = render(template, lang, context)
            shown_in.append({"language": label, "subject": subject, "body": body, "failed": None})
        except TemplateFailed as exc:
            shown_in.append({"language": label, "subject": "", "body": "", "failed": exc.message})
    return shown_in, None


@screens.post("/designer/templates/<name>")
@admin_only
def designer_save_template(name):
    form = request.form
    subject = {lang: form.get(f"subject_{lang}", "") for lang, _label in LANGUAGES}
    body = {lang: form.get(f"body_{lang}", "") for lang, _label in LANGUAGES}
    return save_edit(edits_templates.set_texts, name, subject, body, form.get("description", ""),
                     back=url_for("screens.designer_template", name=name))


@screens.post("/designer/templates/<name>/remove")
@admin_only
def designer_remove_template(name):
    return save_edit(edits_templates.remove_template, name, back=url_for("screens.designer_templates"))
