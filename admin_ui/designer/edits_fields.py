"""The designer's edits of a field's whole definition and of an entity's composite
indexes: plain functions from a draft document to a new one (valid or not is the
engine's check, `engine.drafts`)."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import EditRefused, editable_list, entity_of, field_index

# What the field editor writes; the rest of a field (its name, `hidden`, its conditions)
# is kept as it is.
EDITABLE = ("type", "label", "help", "required", "readonly", "unique", "indexed", "pii", "default",
            "max_length", "pattern", "min", "max", "precision", "scale", "options", "to", "on_delete")


FLAGS = ("required", "readonly", "unique", "indexed", "pii")  # off (False) is their default


def replace_properties(document: dict, entity_name: str, field_name: str, properties: dict) -> dict:
    """The field's EDITABLE properties replaced by `properties` (None leaves the key out, and
    so does a flag that is off: each takes its default; a default value of false is kept)."""
    unknown = set(properties) - set(EDITABLE)
    if unknown:
        raise EditRefused(f"the field editor does not write {sorted(unknown)[0]!r}")
    out = copy.deepcopy(document)
    entity = entity_of(out, entity_name)
    fields = entity["fields"]
    index = field_index(entity, field_name)
    kept = {key: value for key, value in fields[index].items() if key not in EDITABLE}
    if properties.get("pii") is True and isinstance(fields[index].get("pii"), str):
        properties = {**properties, "pii": fields[index]["pii"]}  # a ticked "PII" keeps the field's class
    written = {key: copy.deepcopy(value) for key, value in properties.items()
               if value is not None and not (value is False and key in FLAGS)}
    fields[index] = {"name": kept.pop("name", field_name), **written, **kept}
    return out


def add_index(document: dict, entity_name: str, fields: list, unique: bool) -> dict:
    """A composite index over `fields` (in that order), unique when asked."""
    out = copy.deepcopy(document)
    index = {"fields": list(fields)}
    if unique:
        index["unique"] = True
    editable_list(entity_of(out, entity_name), "indexes").append(index)
    return out


def remove_index(document: dict, entity_name: str, position: int) -> dict:
    out = copy.deepcopy(document)
    indexes = editable_list(entity_of(out, entity_name), "indexes")
    if not 0 <= position < len(indexes):
        raise EditRefused(f"entity {entity_name!r} has no index {position}")
    del indexes[position]
    if not indexes:
        del entity_of(out, entity_name)["indexes"]
    return out
