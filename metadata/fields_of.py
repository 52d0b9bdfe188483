"""An entity document's fields by name, as the checks read them before the document is
known to have the schema's shape."""
from __future__ import annotations


def fields_by_name(entity: dict) -> dict:
    """An entity document's fields by their names; a field that is no object, or whose name
    is no text, is left out (the schema reports it), so no check trips on its shape."""
    fields = entity.get("fields") if isinstance(entity.get("fields"), list) else []
    return {f["name"]: f for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)}
