"""The designer's overview: the draft's entities and status (based on which version,
changed or not, its problems), the other admins' drafts; adding an entity, discarding
or rebasing the draft, and the JSON in and out (export a version or the draft, import
a document into the draft)."""
from __future__ import annotations

import json

from flask import Response, flash, g, redirect, render_template, request
from flask_babel import gettext as _

from admin_ui.designer import edits
from admin_ui.designer.common import drafts, overview_url, save_edit
from admin_ui.designer.entities import label_problem
from admin_ui.designer.entity_order import entity_rows
from admin_ui.web import admin_only, screens
from engine.errors import Conflict, NotFound
from engine.jsontext import strict_loads
from metadata.identifiers import identifier_problem
from engine.whole import whole_number


@screens.get("/designer/")
@admin_only
def designer():
    return _overview()


def _overview(add_problems: dict | None = None, typed=None) -> str:
    """The overview; `add_problems` (`{input: message}`) and the `typed` values when the
    new entity's form was refused at the door."""
    found = drafts()
    draft = found.open()
    return render_template("designer/overview.html", title=_("Designer"), draft=draft,
                           status=found.status(draft), entities=entity_rows(draft),
                           add_problems=add_problems or {}, typed=typed or {})


@screens.post("/designer/entities")
@admin_only
def designer_add_entity():
    """A new entity: its name and a label checked at the door (nothing is written when
    they will not do), then added to the draft, checked like every edit."""
    name = request.form.get("name", "").strip()
    label = edits.labels(request.form.get("label_en"), request.form.get("label_zh"))
    plural = edits.labels(request.form.get("plural_en"), request.form.get("plural_zh"))
    refused = _new_entity_problems(drafts().open().document, name, label)
    if refused:
        return _overview(refused, request.form), 400
    flash(_("Added the entity %(name)s to your draft.", name=name))
    return save_edit(edits.add_entity, name, label, plural, back=f"{overview_url()}#entity-{name}")


def _new_entity_problems(document: dict, name: str, label) -> dict:
    """`{input: message}` for a new entity's name (an identifier, as the metadata format
    wants, that the draft does not have yet) and label (English or Chinese given)."""
    found = {}
    if not name:
        found["name"] = _("Give the entity a name.")
    elif identifier_problem(name, "entity"):
        found["name"] = identifier_problem(name, "entity")
    elif any(e.get("name") == name for e in edits.dicts(document, "entities")):
        found["name"] = _("Your draft already has an entity %(name)s.", name=name)
    if label_problem(label):
        found["label"] = label_problem(label)
    return found


@screens.post("/designer/discard")
@admin_only
def designer_discard():
    drafts().discard()
    flash(_("Your draft was discarded; a new one starts from the current version."))
    return redirect(overview_url())


@screens.post("/designer/rebase")
@admin_only
def designer_rebase():
    """Replay the draft on the current version; conflicts are shown with both values."""
    chosen = {key.removeprefix("resolve:"): value for key, value in request.form.items()
              if key.startswith("resolve:")}
    try:
        draft = drafts().rebase([p for p, v in chosen.items() if v == "mine"],
                                [p for p, v in chosen.items() if v == "theirs"])
    except Conflict as exc:
        return render_template("designer/conflicts.html", title=_("Rebase the draft"),
                               conflicts=exc.details), 409
    flash(_("Your draft is now based on version %(version)s.", version=draft.based_on))
    return redirect(overview_url())


@screens.get("/designer/export")
@admin_only
def designer_export():
    """The draft (default) or a version (`?version=N`) as a JSON document."""
    found = drafts()
    version = request.args.get("version")
    if version is None:
        document, name = found.open().document, "draft"
    else:
        number = whole_number(version, 1) or -1
        if not 0 < number <= found.published()[0]:
            raise NotFound(_("There is no version %(version)s.", version=version[:20]))
        document, name = found.published(number)[1], f"version-{number}"
    body = json.dumps(document, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{g.tenant_slug}-{name}.json"'
    return response


@screens.post("/designer/import")
@admin_only
def designer_import():
    """A JSON document (an uploaded file) becomes the draft, checked like every edit."""
    upload = request.files.get("document")
    try:
        document = strict_loads(upload.read().decode("utf-8")) if upload else None
    except (UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict):
        return render_template("screens/error.html", title=_("Not possible"),
                               message=_("Choose a JSON file holding a metadata document (an object).")), 400
    drafts().save(document)
    flash(_("The document is now your draft."))
    return redirect(overview_url())
