"""Semantic checks of an entity's ``privacy`` that JSON Schema cannot make: a retention
period counts from a date or datetime field of the entity (or ``created_at`` /
``updated_at``), and an evidence entity is not also erased by retention. Like
``semantic``, it inspects only values of the right JSON type."""

from __future__ import annotations

import copy
from typing import Mapping

from .errors import Problem, pointer
from .fields_of import fields_by_name
from .pii import ENCRYPTED_CLASSES, pii_class

SYSTEM_DATES = ("created_at", "updated_at")
DATE_TYPES = ("date", "datetime")


def normal_privacy(doc) -> dict | None:
    """An entity's privacy rules with `retain_for` as a language map; None when empty."""
    from .model import optional_text  # the model imports this module

    if not doc:
        return None
    out = copy.deepcopy(dict(doc))
    if "retain_for" in out:
        out["retain_for"] = optional_text(out["retain_for"])
        if out["retain_for"] is None:
            del out["retain_for"]
    return out or None


def privacy_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """Problems of every entity's ``privacy`` in a (possibly malformed) package."""
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    problems: list[Problem] = []
    for i, entity in enumerate(document["entities"]):
        privacy = entity.get("privacy") if isinstance(entity, dict) else None
        if not isinstance(privacy, dict) or not isinstance(privacy.get("retention"), dict):
            continue
        path = pointer("entities", i, "privacy", "retention")
        name = privacy["retention"].get("field")
        fields = fields_by_name(entity)
        if isinstance(name, str) and name not in SYSTEM_DATES:
            field = fields.get(name)
            kind = field.get("type") if isinstance(field, dict) else None
            base = types.get(kind) if isinstance(kind, str) else None
            if field is None:
                problems.append(Problem(f"{path}/field", "unknown_field",
                                        f"retention counts from {name!r}, which is not a field of the entity; "
                                        f"use a date or datetime field, created_at or updated_at"))
            elif base not in DATE_TYPES:
                problems.append(Problem(f"{path}/field", "not_a_date",
                                        f"retention counts from {name!r}, a {kind} field; "
                                        f"use a date or datetime field, created_at or updated_at"))
            elif pii_class(field.get("pii")) in ENCRYPTED_CLASSES:
                problems.append(Problem(f"{path}/field", "encrypted_date",
                                        f"retention counts from {name!r}, which is encrypted at rest and cannot "
                                        f"be compared in the database; use another date, created_at or updated_at"))
        if privacy.get("evidence") is True and privacy["retention"].get("action") == "erase":
            problems.append(Problem(f"{path}/action", "evidence_erased",
                                    "records kept as evidence cannot be erased by retention; use anonymise"))
    return problems
