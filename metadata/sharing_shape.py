"""The canonical shape of an entity's sharing rule in the metadata model."""
from __future__ import annotations


def normal_sharing(doc) -> dict | None:
    """The canonical sharing rule: ``default`` and ``managers`` filled in, rules as given.

    One shape (``{"default", "managers", "rules"}``) so the engine never handles
    omitted keys; None stays None (the entity is not restricted).
    """
    if doc is None:
        return None
    rules = []
    for rule in doc.get("rules", ()):
        keys = (("parent", "access") if "parent" in rule else
                ("referenced_by", "access") if "referenced_by" in rule else ("field", "user", "access"))
        rules.append({k: rule[k] for k in keys if k in rule})
    return {"default": doc.get("default", "none"), "managers": bool(doc.get("managers", False)),
            "rules": rules}
