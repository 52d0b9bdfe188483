"""A field's or an entity's usage in a draft document: every form, list view, workflow, rule set,
sharing rule, index and other field's condition of its entity that names it, with the
JSON path of the mention — what an admin would break by retiring or changing it.

Names are found where the metadata format puts field names: a `field` (conditions,
workflow state fields, actions' parameters), the lists `fields`, `columns`, `requires`,
`changed` and `header_fields`, a list view's `kanban_field`, `calendar_field` and `sort`,
and another entity's sharing rule `referenced_by: "<entity>.<field>"`."""
from __future__ import annotations

from admin_ui.designer.edits import indexed

NAME_KEYS = ("field", "kanban_field", "calendar_field")
NAME_LISTS = ("fields", "columns", "requires", "changed", "header_fields")


def field_usage(document: dict, entity_name: str, field_name: str) -> list[dict]:
    """`{"kind", "name", "path"}` for each mention of the field, in document order; kinds:
    form, list, workflow, ruleset, field (another field's condition), index, sharing."""
    out = []
    for i, layout in indexed(document, "layouts"):
        if layout.get("entity") == entity_name:
            kind = "list" if layout.get("kind") == "list" else "form"
            out += _found(kind, layout.get("name"), _mentions(layout, field_name, f"/layouts/{i}"))
    for key, kind in (("workflows", "workflow"), ("rulesets", "ruleset")):
        for i, item in indexed(document, key):
            if item.get("entity") == entity_name:
                out += _found(kind, item.get("name"), _mentions(item, field_name, f"/{key}/{i}"))
    for i, entity in indexed(document, "entities"):
        at = f"/entities/{i}"
        if entity.get("name") == entity_name:
            for j, field in indexed(entity, "fields"):
                if field.get("name") != field_name:
                    out += _found("field", field.get("name"), _mentions(field, field_name, f"{at}/fields/{j}"))
            out += _found("index", entity_name, _mentions(entity.get("indexes"), field_name, f"{at}/indexes"))
            out += _found("sharing", entity_name, _mentions(entity.get("sharing"), field_name, f"{at}/sharing"))
        sharing = entity.get("sharing") if isinstance(entity.get("sharing"), dict) else {}
        for k, rule in indexed(sharing, "rules"):
            if rule.get("referenced_by") == f"{entity_name}.{field_name}":
                out += _found("sharing", entity.get("name"), [f"{at}/sharing/rules/{k}/referenced_by"])
    return out


def _found(kind: str, name, paths) -> list[dict]:
    return [{"kind": kind, "name": name if isinstance(name, str) else "", "path": path} for path in paths]


def _mentions(value, name: str, path: str):
    """The JSON paths under `value` (at `path`) where the field `name` is named."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}/{key}"
            if key in NAME_KEYS and item == name:
                yield here
            elif key == "sort" and isinstance(item, str) and name in (k.lstrip("-") for k in item.split(",")):
                yield here
            elif key in NAME_LISTS and isinstance(item, list) and name in item:
                yield f"{here}/{item.index(name)}"
            else:
                yield from _mentions(item, name, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _mentions(item, name, f"{path}/{i}")


def entity_usage(document: dict, entity_name: str) -> list[dict]:
    """`{"kind", "name", "path"}` for each definition that names the entity, in document
    order; kinds: reference (another entity's field referring to it), sharing (another
    entity's sharing rule through one of its fields), form, list, workflow, ruleset (those
    bound to it, and actions elsewhere naming it as their `entity`)."""
    out = []
    for i, entity in indexed(document, "entities"):
        if entity.get("name") == entity_name:
            continue
        for j, field in indexed(entity, "fields"):
            if field.get("to") == entity_name:
                out += _found("reference", f"{entity.get('name')}.{field.get('name')}", [f"/entities/{i}/fields/{j}/to"])
        sharing = entity.get("sharing") if isinstance(entity.get("sharing"), dict) else {}
        for k, rule in indexed(sharing, "rules"):
            if str(rule.get("referenced_by", "")).startswith(f"{entity_name}."):
                out += _found("sharing", entity.get("name"), [f"/entities/{i}/sharing/rules/{k}/referenced_by"])
    for i, layout in indexed(document, "layouts"):
        if layout.get("entity") == entity_name:
            out += _found("list" if layout.get("kind") == "list" else "form", layout.get("name"), [f"/layouts/{i}/entity"])
    for key, kind in (("workflows", "workflow"), ("rulesets", "ruleset")):
        for i, item in indexed(document, key):
            out += _found(kind, item.get("name"), _entity_mentions(item, entity_name, f"/{key}/{i}"))
    return out


def _entity_mentions(value, name: str, path: str):
    """The JSON paths under `value` whose `entity` is `name` (the first of each object)."""
    if isinstance(value, dict):
        if value.get("entity") == name:
            yield f"{path}/entity"
            return
        for key, item in value.items():
            yield from _entity_mentions(item, name, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _entity_mentions(item, name, f"{path}/{i}")
