"""An entity's `natural_key`: the field that names a record outside Loom (an external
id, an e-mail, a VIN), on which an import upserts by default. It must be a field of the
entity whose values can be compared as they are: text, e-mail, phone, URL, whole number,
choice or date, not encrypted at rest."""
from __future__ import annotations

from typing import Mapping

from .errors import Problem, pointer
from .fields_of import fields_by_name
from .pii import ENCRYPTED_CLASSES, pii_class

KEY_TYPES = ("string", "email", "phone", "url", "integer", "choice", "date")


def natural_key_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """Problems of every entity's ``natural_key`` in a (possibly malformed) package."""
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    problems: list[Problem] = []
    for i, entity in enumerate(document["entities"]):
        name = entity.get("natural_key") if isinstance(entity, dict) else None
        if not isinstance(name, str):
            continue
        path = pointer("entities", i, "natural_key")
        fields = fields_by_name(entity)
        field = fields.get(name)
        if field is None:
            problems.append(Problem(path, "unknown_field", f"{name!r} is not a field of this entity; fields: "
                                                           f"{', '.join(str(n) for n in fields)}"))
            continue
        kind = field.get("type")
        if (types.get(kind) if isinstance(kind, str) else None) not in KEY_TYPES:
            problems.append(Problem(path, "not_matchable", f"{name!r} is a {kind} field: a natural key is a "
                                                           f"{', '.join(KEY_TYPES)} field"))
        elif pii_class(field.get("pii")) in ENCRYPTED_CLASSES:
            problems.append(Problem(path, "not_matchable", f"{name!r} is encrypted at rest: the database cannot "
                                                           "look records up by it"))
    return problems
