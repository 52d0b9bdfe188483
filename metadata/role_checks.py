"""Semantic checks of a package's ``roles`` and ``permission_sets`` that JSON Schema cannot
make: each is named by a safe, unique name that is not a built-in role (``admin``,
``member``), and names only entities of the package and fields of those entities.  Like
``semantic``, it inspects only values of the right JSON type and leaves the rest to the
schema layer."""

from __future__ import annotations

from .errors import Problem, pointer
from .fieldtypes import show
from .identifiers import identifier_problem

BUILT_IN_ROLES = ("admin", "member")
KINDS = {"roles": "role", "permission_sets": "permission set"}


def role_problems(document) -> list[Problem]:
    """Problems of every role and permission set of a (possibly malformed) package."""
    if not isinstance(document, dict):
        return []
    entities = document.get("entities") if isinstance(document.get("entities"), list) else []
    fields = {e["name"]: _field_names(e) for e in entities if isinstance(e, dict) and isinstance(e.get("name"), str)}
    problems: list[Problem] = []
    for key, kind in KINDS.items():
        items = document.get(key)
        seen: set = set()
        for i, item in enumerate(items if isinstance(items, list) else ()):
            if not isinstance(item, dict):
                continue
            problems += _name(item.get("name"), pointer(key, i, "name"), kind, seen)
            rights = item.get("entities")
            if isinstance(rights, dict):
                problems += _entities(rights, pointer(key, i, "entities"), fields)
    return problems


def _field_names(entity: dict) -> set:
    listed = entity.get("fields") if isinstance(entity.get("fields"), list) else []
    return {f["name"] for f in listed if isinstance(f, dict) and isinstance(f.get("name"), str)}


def _name(name, path: str, kind: str, seen: set) -> list[Problem]:
    if not isinstance(name, str):
        return []
    problem = identifier_problem(name, kind.replace(" ", "_"))
    if problem:
        return [Problem(path, "bad_name", problem)]
    if kind == "role" and name in BUILT_IN_ROLES:
        return [Problem(path, "reserved_role", f"{show(name)} is a built-in role; name the role otherwise")]
    if name in seen:
        return [Problem(path, "duplicate_name", f"two {kind}s are called {show(name)}")]
    seen.add(name)
    return []


def _entities(rights: dict, path: str, fields: dict) -> list[Problem]:
    problems = []
    for entity, entry in rights.items():
        where = path + pointer(entity)
        if entity not in fields:
            problems.append(Problem(where, "unknown_entity", f"no entity {show(entity)} in this package"))
            continue
        named = entry.get("fields") if isinstance(entry, dict) else None
        for field in named if isinstance(named, dict) else ():
            if field not in fields[entity]:
                problems.append(Problem(where + pointer("fields", field), "unknown_field",
                                        f"{entity} has no field {show(field)}"))
    return problems

