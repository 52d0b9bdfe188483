"""The designer's edits of whole entities: relabel, set the navigation order, hide or
show, retire — plain functions from a draft document to a new one (valid or not is the
engine's check, `engine.drafts`)."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import dicts, editable_list, entity_of

# What an entity's own definitions hold besides its fields: bound to it by their "entity".
OWNED = ("layouts", "workflows", "rulesets")


def relabel_entity(document: dict, name: str, label: dict | None, plural: dict | None) -> dict:
    """The entity's label and plural label (a None one is removed: it takes its default)."""
    out = copy.deepcopy(document)
    entity = entity_of(out, name)
    for key, value in (("label", label), ("plural_label", plural)):
        if value:
            entity[key] = value
        else:
            entity.pop(key, None)
    return out


def reorder_entities(document: dict, names: list[str]) -> dict:
    """Every entity numbered by its place in `names` (the navigation order, 1 first); the
    entities `names` leaves out follow in document order."""
    out = copy.deepcopy(document)
    for name in names:
        entity_of(out, name)  # a name the draft lacks refuses the edit
    rest = [e.get("name") for e in dicts(out, "entities") if e.get("name") not in names]
    place = {name: n for n, name in enumerate([*dict.fromkeys(names), *rest], start=1)}
    for entity in dicts(out, "entities"):
        entity["order"] = place[entity.get("name")]
    return out


def move_entity(document: dict, shown: list[str], name: str, step: int) -> dict:
    """`name` moved `step` places (-1 up, +1 down) in `shown` (the navigation order as the
    admin sees it), and that order written; at either end it stays."""
    names = list(shown)
    if name not in names:
        entity_of(document, name)
        names.append(name)
    index = names.index(name)
    target = index + step
    if 0 <= target < len(names):
        names.insert(target, names.pop(index))
    return reorder_entities(document, names)


def set_entity_hidden(document: dict, name: str, hidden: bool) -> dict:
    out = copy.deepcopy(document)
    entity = entity_of(out, name)
    if hidden:
        entity["hidden"] = True
    else:
        entity.pop("hidden", None)
    return out


def retire_entity(document: dict, name: str) -> dict:
    """The entity removed, with the layouts, workflows and rule sets bound to it (its
    records are archived when the draft is published). What other entities say of it (a
    reference field, a sharing rule) stays: the draft's problems name each one."""
    out = copy.deepcopy(document)
    entity = entity_of(out, name)
    entities = editable_list(out, "entities")
    entities.remove(entity)
    for key in OWNED:
        if isinstance(out.get(key), list):
            out[key] = [item for item in out[key] if not (isinstance(item, dict) and item.get("entity") == name)]
    return out
