"""The rights matrix editor: the draft's roles and permission sets, each a table of the
entities (rows) by the rights (columns), a labelled checkbox in every cell; per entity,
each field's access for the role (edit, read only, hidden, or as its other fields); the
personal-data classes the role may unmask and export; and a preview of what a holder of
the role could do with the draft published (the engine's own `Permissions` over the
draft's metadata). Every change is an edit of the admin's draft (`edits_roles`), checked
by the same checks as `loom metadata apply` and published like every designer change."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from admin_ui.designer import edits_roles
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from admin_ui.designer.edits import dicts, indexed, labels
from admin_ui.web import admin_only, screens
from engine.records.permissions import ACCESS, RIGHTS, Permissions, Source
from metadata import Package
from metadata.pii import PII_CLASSES

KIND = "<any(roles, permission_sets):kind>"
RIGHT_WORDS = {"create": lazy_gettext("Create"), "read": lazy_gettext("Read"), "update": lazy_gettext("Update"),
               "delete": lazy_gettext("Delete"), "export": lazy_gettext("Export"), "import": lazy_gettext("Import"),
               "merge": lazy_gettext("Merge"), "transfer": lazy_gettext("Transfer ownership")}
ACCESS_WORDS = {"edit": lazy_gettext("Edit"), "read": lazy_gettext("Read only"), "none": lazy_gettext("Hidden")}
CLASS_WORDS = {"contact": lazy_gettext("Contact details"), "identity": lazy_gettext("Identity numbers"),
               "financial": lazy_gettext("Financial data"), "sensitive": lazy_gettext("Sensitive data")}
KIND_WORDS = {"roles": lazy_gettext("Role"), "permission_sets": lazy_gettext("Permission set")}


@dataclass(frozen=True)
class Holder:
    """A user who holds only the role: whom the preview asks the engine about."""

    roles: tuple = ()
    permission_sets: tuple = ()
    role: str = "member"
    is_admin: bool = False


def _entities(document) -> list[dict]:
    return [{"name": e["name"], "label": shown(e.get("label"), e["name"]), "fields": [
        {"name": f["name"], "label": shown(f.get("label"), f["name"])}
        for f in dicts(e, "fields") if isinstance(f.get("name"), str)]}
        for e in dicts(document, "entities") if isinstance(e.get("name"), str)]


def _found(document, kind: str, name: str) -> tuple[int, dict]:
    found = next(((i, item) for i, item in indexed(document, kind) if item.get("name") == name), None)
    if found is None:
        abort(404, _("Your draft has no role or permission set %(name)s.", name=name))
    return found


@screens.get("/designer/roles")
@admin_only
def designer_roles():
    draft = drafts().open()
    groups = [{"kind": kind, "members": [_listed(draft, kind, i, item) for i, item in indexed(draft.document, kind)]}
              for kind in edits_roles.KINDS]
    return render_template("designer/rights.html", title=_("Roles and rights"), groups=groups, kinds=KIND_WORDS)


def _listed(draft, kind: str, index: int, item: dict) -> dict:
    entries = item.get("entities")
    return {"name": item.get("name"), "label": shown(item.get("label"), str(item.get("name"))),
            "entities": len(entries) if isinstance(entries, dict) else 0,
            "problems": len(problems_at(draft.problems, f"/{kind}/{index}"))}


@screens.post("/designer/roles")
@admin_only
def designer_add_role():
    form = request.form
    kind, name = form.get("kind", ""), form.get("name", "").strip()[:64]
    if kind not in edits_roles.KINDS:
        abort(400, _("Choose a role or a permission set."))
    if not name:
        abort(400, _("Name the role, e.g. claims_adjuster."))
    label = labels(form.get("label_en", "")[:200], form.get("label_zh", "")[:200])
    return save_edit(edits_roles.add_role, kind, name, label, back=url_for("screens.designer_role", kind=kind, name=name))


def _preview(draft, kind: str, name: str) -> dict | None:
    """What a holder could do with the draft published: per entity, the rights and the
    fields hidden or read only (None while the draft has problems: it cannot be read)."""
    if draft.problems:
        return None
    package = Package.from_document(draft.document, extra_types=g.session.extra_types)
    permissions = Permissions(package, Holder(roles=(name,) if kind == "roles" else ()))
    if kind == "permission_sets":  # what the set gives on its own, without the member role beneath
        found = next(s for s in package.permission_sets if s["name"] == name)
        permissions.sources = (Source("permission set", name, found),)
    shown_as = {e["name"]: e for e in _entities(draft.document)}  # the labels the matrix shows
    usable, unusable = [], []
    for entity in package.entities:
        rights = permissions.rights(entity.name)
        words = shown_as[entity.name]
        if not rights:
            unusable.append(words["label"])
            continue
        field_words = {f["name"]: f["label"] for f in words["fields"]}
        access = {f.name: permissions.access(entity, f.name) for f in entity.fields}
        usable.append({"label": words["label"], "rights": [RIGHT_WORDS[r] for r in RIGHTS if r in rights],
                       "hidden": [field_words[n] for n, a in access.items() if a == "none"],
                       "readonly": [field_words[n] for n, a in access.items() if a == "read"]})
    return {"usable": usable, "unusable": unusable}


@screens.get(f"/designer/roles/{KIND}/<name>")
@admin_only
def designer_role(kind, name):
    draft = drafts().open()
    index, role = _found(draft.document, kind, name)
    at = f"/{kind}/{index}"
    entries = role.get("entities") if isinstance(role.get("entities"), dict) else {}
    rows = []
    for entity in _entities(draft.document):
        entry = entries.get(entity["name"]) if isinstance(entries.get(entity["name"]), dict) else {}
        ticked = entry.get("rights") if isinstance(entry.get("rights"), list) else []
        named = entry.get("fields") if isinstance(entry.get("fields"), dict) else {}
        rows.append({**entity, "rights": set(ticked),
                     "hidden": sum(1 for v in named.values() if v == "none"),
                     "readonly": sum(1 for v in named.values() if v == "read"),
                     "other": entry.get("other_fields", "edit"),
                     "problems": problems_at(draft.problems, f"{at}/entities/{entity['name']}")})
    pii = {key: set(role.get(key)) if isinstance(role.get(key), list) else set() for key in edits_roles.PII_KEYS}
    return render_template(
        "designer/rights_role.html", title=_("Rights of %(name)s", name=shown(role.get("label"), name)),
        kind=kind, kind_word=KIND_WORDS[kind], name=name, rows=rows, rights=RIGHTS, right_words=RIGHT_WORDS,
        classes=PII_CLASSES, class_words=CLASS_WORDS, pii=pii, access_words=ACCESS_WORDS,
        problems=problems_at(draft.problems, at), preview=_preview(draft, kind, name), draft_problems=len(draft.problems))


@screens.post(f"/designer/roles/{KIND}/<name>/rights")
@admin_only
def designer_role_rights(kind, name):
    """The whole matrix: `entity` names each row shown, `right` = `<entity>:<right>` each
    box ticked, `unmask` and `export_pii` the personal-data classes ticked."""
    form = request.form
    rights: dict = {entity: [] for entity in form.getlist("entity")}
    for value in form.getlist("right"):
        entity, _sep, right = value.partition(":")
        if entity not in rights or right not in RIGHTS:
            abort(400, _("A right is one of the matrix's boxes."))
        rights[entity].append(right)
    pii = {}
    for key in edits_roles.PII_KEYS:
        chosen = form.getlist(key)
        if set(chosen) - set(PII_CLASSES):
            abort(400, _("Choose among the personal-data classes."))
        pii[key] = chosen
    return save_edit(edits_roles.set_rights, kind, name, rights, pii,
                     back=url_for("screens.designer_role", kind=kind, name=name))


@screens.post(f"/designer/roles/{KIND}/<name>/remove")
@admin_only
def designer_remove_role(kind, name):
    return save_edit(edits_roles.remove_role, kind, name, back=url_for("screens.designer_roles"))


@screens.get(f"/designer/roles/{KIND}/<name>/e/<entity>")
@admin_only
def designer_role_fields(kind, name, entity):
    draft = drafts().open()
    index, role = _found(draft.document, kind, name)
    found = next((e for e in _entities(draft.document) if e["name"] == entity), None)
    if found is None:
        abort(404, _("Your draft has no entity %(name)s.", name=entity))
    entries = role.get("entities") if isinstance(role.get("entities"), dict) else {}
    entry = entries.get(entity) if isinstance(entries.get(entity), dict) else {}
    named = entry.get("fields") if isinstance(entry.get("fields"), dict) else {}
    ticked = set(entry.get("rights") or ()) if isinstance(entry.get("rights"), list) else set()
    at = f"/{kind}/{index}/entities/{entity}"
    return render_template(
        "designer/rights_fields.html", title=_("Fields of %(entity)s for %(name)s", entity=found["label"],
                                               name=shown(role.get("label"), name)),
        kind=kind, name=name, role_label=shown(role.get("label"), name), entity=found, named=named,
        other=entry.get("other_fields", "edit"), access_words=ACCESS_WORDS,
        applies=bool(ticked & {"read", "create", "update"}), problems=problems_at(draft.problems, at))


@screens.post(f"/designer/roles/{KIND}/<name>/e/<entity>")
@admin_only
def designer_role_fields_save(kind, name, entity):
    """Each field's access (`field:<name>` = edit, read, none, or empty for as the other
    fields) and `other_fields`."""
    form = request.form
    fields = {}
    for key, value in form.items():
        if key.startswith("field:"):
            if value and value not in ACCESS:
                abort(400, _("A field's access is edit, read only or hidden."))
            fields[key.removeprefix("field:")] = value or None
    other = form.get("other_fields") or None
    if other is not None and other not in ACCESS:
        abort(400, _("A field's access is edit, read only or hidden."))
    return save_edit(edits_roles.set_field_access, kind, name, entity, fields, other,
                     back=url_for("screens.designer_role", kind=kind, name=name))
