"""The designer's edits of a draft document: plain functions from a document to a new
one. They write what the admin asked for and nothing more; whether the result is valid
is the engine's check, shown next to the control (`engine.drafts`)."""
from __future__ import annotations

from metadata.jsoncopy import json_copy


class EditRefused(ValueError):
    """An edit naming an entity or field the draft does not have."""


class NameTaken(EditRefused):
    """A rename to a name its kind already has in the draft (two states, two transitions of
    one name would merge, and no rename could part them again)."""

    def __init__(self, name: str):
        super().__init__(f"the name {name!r} is already used")
        self.name = name


class DraftMalformed(EditRefused):
    """An edit of a part of the draft that is not what it must be (a draft is kept even
    when invalid, e.g. imported JSON whose "fields" is not a list)."""


def indexed(container, key) -> list[tuple[int, dict]]:
    """`(position, object)` of the objects in `container[key]`; none when it is not a list
    (a malformed draft reads as empty there, its problems say why)."""
    value = container.get(key) if isinstance(container, dict) else None
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def dicts(container, key) -> list[dict]:
    """The objects in `container[key]` (see `indexed`)."""
    return [item for _i, item in indexed(container, key)]


def editable_list(container: dict, key: str) -> list:
    """`container[key]` to edit in place, created when missing; DraftMalformed when the
    draft holds something other than a list there."""
    value = container.setdefault(key, [])
    if not isinstance(value, list):
        raise DraftMalformed(f"the draft's {key!r} of {container.get('name', 'the document')!r} is not a list; "
                             f"correct it in the JSON (export, edit, import) first")
    return value


def labels(en: str, zh: str) -> dict | None:
    """A language map of the non-empty texts (None when both are empty)."""
    found = {tag: text.strip() for tag, text in (("en", en or ""), ("zh-CN", zh or "")) if text and text.strip()}
    return found or None


def named(container, key: str, name: str, missing: str) -> dict:
    """The object named `name` in `container[key]` (to edit in place); EditRefused saying
    `missing` when there is none."""
    found = next((item for item in dicts(container, key) if item.get("name") == name), None)
    if found is None:
        raise EditRefused(missing)
    return found


def entity_of(document: dict, name: str) -> dict:
    return named(document, "entities", name, f"the draft has no entity {name!r}")


def field_index(entity: dict, name: str) -> int:
    for index, field in enumerate(editable_list(entity, "fields")):
        if isinstance(field, dict) and field.get("name") == name:
            return index
    raise EditRefused(f"entity {entity.get('name')!r} has no field {name!r}")


def add_entity(document: dict, name: str, label: dict | None, plural: dict | None) -> dict:
    """A new entity with one required text field, `name` (an entity needs a field)."""
    out = json_copy(document)
    entity = {"name": name, "fields": [{"name": "name", "type": "string", "required": True,
                                        "label": {"en": "Name", "zh-CN": "名称"}}]}
    if label:
        entity["label"] = label
    if plural:
        entity["plural_label"] = plural
    editable_list(out, "entities").append(entity)
    return out


def add_field(document: dict, entity_name: str, field: dict, section: str | None = None) -> dict:
    """`field` appended to the entity's fields, and to `section` of its form layouts."""
    out = json_copy(document)
    editable_list(entity_of(out, entity_name), "fields").append(field)
    if section:
        for layout in form_layouts(out, entity_name):
            for found in dicts(layout, "sections"):
                if found.get("name") == section:
                    editable_list(found, "fields").append(field.get("name"))
    return out


def form_layouts(document: dict, entity_name: str) -> list[dict]:
    return [layout for layout in dicts(document, "layouts")
            if layout.get("entity") == entity_name and layout.get("kind") == "form"]


def relabel_field(document: dict, entity_name: str, field_name: str, label: dict | None) -> dict:
    return set_property(document, entity_name, field_name, "label", label)


def set_property(document: dict, entity_name: str, field_name: str, key: str, value) -> dict:
    """The field's `key` set to `value` (removed when the value is None or False)."""
    out = json_copy(document)
    entity = entity_of(out, entity_name)
    field = entity["fields"][field_index(entity, field_name)]
    if value is None or value is False:
        field.pop(key, None)
    else:
        field[key] = value
    return out


def move_field(document: dict, entity_name: str, field_name: str, step: int) -> dict:
    """The field moved `step` places (-1 up, +1 down); at either end it stays."""
    out = json_copy(document)
    entity = entity_of(out, entity_name)
    fields = entity["fields"]
    index = field_index(entity, field_name)
    target = index + step
    if 0 <= target < len(fields):
        fields.insert(target, fields.pop(index))
    return out


def retire_field(document: dict, entity_name: str, field_name: str) -> dict:
    """The field removed, and with it from the entity's layouts (its values are archived
    when the draft is published)."""
    out = json_copy(document)
    entity = entity_of(out, entity_name)
    del entity["fields"][field_index(entity, field_name)]
    for layout in dicts(out, "layouts"):
        if layout.get("entity") != entity_name:
            continue
        for section in dicts(layout, "sections"):
            if isinstance(section.get("fields"), list):
                section["fields"] = [f for f in section["fields"] if f != field_name]
        if isinstance(layout.get("columns"), list):
            layout["columns"] = [c for c in layout["columns"] if c != field_name]
    return out
