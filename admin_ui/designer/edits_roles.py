"""The designer's edits of roles and permission sets: plain functions from a draft document
to a new one — a role or permission set added or removed, its rights on each entity (the
rights matrix), its access to each field (edit, read only, hidden, or as its other
fields) and the personal-data classes it may unmask and export. Whether the result is
valid is the engine's check (`metadata.role_checks`, shown next to the control)."""
from __future__ import annotations

from admin_ui.designer.edits import DraftMalformed, EditRefused, dicts, editable_list, entity_of
from engine.records.permissions import ACCESS, RIGHTS
from metadata.jsoncopy import json_copy

KINDS = ("roles", "permission_sets")
PII_KEYS = ("unmask", "export_pii")


def role_of(document: dict, kind: str, name: str) -> dict:
    """The role (or permission set) called `name` (EditRefused when the draft has none)."""
    if kind not in KINDS:
        raise EditRefused(f"no kind of role {kind!r}")
    found = next((item for item in dicts(document, kind) if item.get("name") == name), None)
    if found is None:
        raise EditRefused(f"the draft has no {kind[:-1].replace('_', ' ')} {name!r}")
    return found


def _entries(role: dict) -> dict:
    """The role's `entities` object to edit in place (created when missing)."""
    entries = role.setdefault("entities", {})
    if not isinstance(entries, dict):
        raise DraftMalformed(f"the draft's entities of {role.get('name')!r} is not an object; "
                             f"correct it in the JSON (export, edit, import) first")
    return entries


def add_role(document: dict, kind: str, name: str, label: dict | None) -> dict:
    """A new role (or permission set) that may do nothing yet: each entity it does not name
    is one its holders may not use."""
    if kind not in KINDS:
        raise EditRefused(f"no kind of role {kind!r}")
    out = json_copy(document)
    role = {"name": name, "entities": {}}
    if label:
        role["label"] = label
    editable_list(out, kind).append(role)
    return out


def remove_role(document: dict, kind: str, name: str) -> dict:
    """The role removed (its holders keep the name, which then gives them nothing)."""
    out = json_copy(document)
    role_of(out, kind, name)
    out[kind] = [item for item in out[kind] if not (isinstance(item, dict) and item.get("name") == name)]
    if not out[kind]:
        del out[kind]
    return out


def set_rights(document: dict, kind: str, name: str, rights: dict, pii: dict | None = None) -> dict:
    """The rights matrix saved: `rights` is {entity: the rights ticked} for every entity the
    matrix shows; an entity with none and no field settings is left out (its holders may not
    use it). `pii`, when given, is {"unmask" | "export_pii": the classes ticked}."""
    out = json_copy(document)
    role = role_of(out, kind, name)
    entries = _entries(role)
    for entity, ticked in rights.items():
        entity_of(out, entity)
        chosen = [r for r in RIGHTS if r in set(ticked)]  # in the format's order
        entry = entries.get(entity)
        if not isinstance(entry, dict):
            entry = {}
        if chosen:
            entries[entity] = {**entry, "rights": chosen}
        elif set(entry) - {"rights"}:
            entries[entity] = {**entry, "rights": []}
        else:
            entries.pop(entity, None)
    for key, classes in (pii or {}).items():
        if key not in PII_KEYS:
            raise EditRefused(f"a role has no setting {key!r}")
        if classes:
            role[key] = list(dict.fromkeys(classes))
        else:
            role.pop(key, None)
    return out


def set_field_access(document: dict, kind: str, name: str, entity: str, fields: dict,
                     other_fields: str | None) -> dict:
    """The role's access to the entity's fields: `fields` is {field: "edit" | "read" |
    "none" | None (as its other fields)}; `other_fields` the access of every field not
    named (None: edit, the default). An entity not in the role's entities yet is added
    with no rights (the field settings apply once a right is ticked)."""
    unknown = {v for v in [*fields.values(), other_fields] if v is not None and v not in ACCESS}
    if unknown:
        raise EditRefused(f"a field's access is edit, read or none, not {sorted(unknown)[0]!r}")
    out = json_copy(document)
    entity_of(out, entity)
    entries = _entries(role_of(out, kind, name))
    entry = entries.get(entity)
    entry = dict(entry) if isinstance(entry, dict) else {"rights": []}
    named = {field: access for field, access in fields.items() if access is not None}
    if named:
        entry["fields"] = named
    else:
        entry.pop("fields", None)
    if other_fields is not None and other_fields != "edit":
        entry["other_fields"] = other_fields
    else:
        entry.pop("other_fields", None)
    if not entry.get("rights") and set(entry) <= {"rights"}:
        entries.pop(entity, None)
    else:
        entries[entity] = entry
    return out
