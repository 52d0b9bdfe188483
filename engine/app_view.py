"""The members' metadata view: what a screen needs to render a tenant for one role.

Built from a compiled package, once per metadata version, role and language (see
`CompiledMetadata.memo`). It holds what every user of the tenant may see:

- every entity (a member reads at least the records they own or that are shared with
  them, whatever the entity's sharing, so no entity is closed to a role of today's two),
  with its fields — type, labels, required, readonly, choices with their labels and colours,
  reference targets, the conditions `visible_if` and `required_if` (when set; screens
  ask the server to judge them) — hidden fields left out;
- the layouts, each field and column with its label (system columns included), a
  section's `visible_if` and a form's `tabs` (when it has them);
- the workflows' states and transitions, each transition saying whether the role may
  take it (`allowed`).

Left out: what only the engine runs (guards, actions, SLA escalations, rule sets,
message templates, sharing rules, indexes, PII flags).

Labels are language maps by default; with a `language` each is the text for that
language (`metadata.language.text_in`)."""
from __future__ import annotations

import json

from metadata.language import text_in
from metadata.layouts import effective_layouts
from metadata.model import default_label

SYSTEM_LABELS = {
    "id": {"en": "ID", "zh-CN": "编号"},
    "created_at": {"en": "Created at", "zh-CN": "创建时间"},
    "updated_at": {"en": "Updated at", "zh-CN": "更新时间"},
    "created_by": {"en": "Created by", "zh-CN": "创建人"},
    "updated_by": {"en": "Updated by", "zh-CN": "更新人"},
    "owner_id": {"en": "Owner", "zh-CN": "负责人"},
    "version": {"en": "Version", "zh-CN": "版本"},
}
_LIMITS = ("max_length", "min", "max", "precision", "scale")


def app_view(package, version: int, role: str, language: str | None = None) -> dict:
    """The view of `package` (metadata `version`) for a user of `role`, every label as a
    language map, or as the text for `language` when one is given."""
    def text(texts):
        if texts is None:
            return None
        return dict(texts) if language is None else text_in(texts, language)

    return {
        "version": version, "role": role, "language": language,
        "entities": [_entity(package, entity, text) for entity in package.entities],
        "layouts": [_layout(package, layout, text) for layout in effective_layouts(package)],
        "workflows": [_workflow(workflow, role, text) for workflow in package.workflows],
    }


def cached_view(compiled, role: str, language: str | None = None, permissions=None) -> bytes:
    """`app_view` of the compiled metadata as JSON (UTF-8), kept with it for the languages
    of its entity labels (others, e.g. a misspelt tag, are built on each call, so they
    cost no memory). With `permissions` (the user's roles, `engine.records.permissions`)
    it is the package as they let the user see it."""
    package = compiled.package if permissions is None else permissions.visible_package(compiled.package)
    key = role if permissions is None else permissions.key

    def build():
        view = app_view(package, compiled.version, role, language)
        return json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()

    languages = compiled.memo(("app_languages",), lambda: {
        tag.lower() for entity in compiled.package.entities for tag in entity.label})
    if language is not None and language.lower() not in languages:
        return build()
    return compiled.memo(("app_view", key, language), build)


def _entity(package, entity, text) -> dict:
    out = {"name": entity.name, "label": text(entity.label),
           "plural_label": text(entity.plural_label), "description": text(entity.description),
           "order": entity.order, "hidden": entity.hidden,
           "workflow": None, "fields": [_field(field, text) for field in entity.fields if not field.hidden]}
    workflow = package.workflow_for(entity.name)
    if workflow is not None:
        out["workflow"] = workflow.name
    return out


def _field(field, text) -> dict:
    base = field.base_type or field.type
    out = {"name": field.name, "type": field.type, "base_type": base, "label": text(field.label),
           "help": text(field.help), "required": field.required, "readonly": field.readonly,
           "unique": field.unique}
    if field.has_default:
        out["default"] = field.default
    for key in _LIMITS:
        if getattr(field, key) is not None:
            out[key] = getattr(field, key)
    if field.options:
        out["choices"] = [{"value": o.value, "label": text(o.label), **({"color": o.color} if o.color else {})}
                          for o in field.options]
    if base == "reference":
        out["to"] = field.to
    for key in ("visible_if", "required_if"):
        if getattr(field, key) is not None:
            out[key] = getattr(field, key)
    return out


def _layout(package, layout, text) -> dict:
    """An effective layout whose fields and columns are `{"name", "label"}`."""
    entity = package.entity(layout["entity"])

    def labelled(name):
        field = entity.field(name) if entity is not None else None
        texts = field.label if field is not None else SYSTEM_LABELS.get(name) or default_label(name)
        return {"name": name, "label": text(texts)}

    layout["label"] = text(layout["label"])
    for section in layout.get("sections", ()):
        section["label"] = text(section["label"])
        section["fields"] = [labelled(name) for name in section["fields"]]
    for tab in layout.get("tabs", ()):
        tab["label"] = text(tab["label"])
    if "columns" in layout and layout.get("kind") == "list":
        layout["columns"] = [labelled(name) for name in layout["columns"]]
    return layout


def _workflow(workflow, role, text) -> dict:
    return {
        "name": workflow.name, "entity": workflow.entity, "field": workflow.field,
        "label": text(workflow.label), "initial": workflow.initial,
        "states": [{"name": s.name, "label": text(s.label), "category": s.category, "final": s.final}
                   for s in workflow.states],
        "transitions": [_transition(t, role, text) for t in workflow.transitions],
    }


def _transition(transition, role, text) -> dict:
    out = {"name": transition.name, "label": text(transition.label),
           "from": "*" if transition.from_states is None else list(transition.from_states),
           "to": transition.to, "roles": list(transition.roles), "allowed": transition.allows_role(role),
           "requires": list(transition.requires), "comment": transition.comment}
    if transition.approval is not None:
        out["approval"] = transition.approval.to_dict()
    return out
