"""A composite index of an entity, as the metadata model holds it (re-exported by
``metadata.model``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Index:
    """A composite (multi-column) index of an entity, in column order.

    ``fields`` may name system columns (``created_at``, ``updated_at``, ``owner_id``);
    ``name`` None means the engine derives one from the entity and field names.
    """

    fields: tuple
    unique: bool = False
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.fields, tuple):
            object.__setattr__(self, "fields", tuple(self.fields))

    def to_dict(self) -> dict:
        out: dict = {"fields": list(self.fields)}
        if self.unique:
            out["unique"] = True
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def from_document(cls, doc: Mapping) -> "Index":
        return cls(fields=tuple(doc["fields"]), unique=bool(doc.get("unique", False)), name=doc.get("name"))
