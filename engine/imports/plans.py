"""What an import's plan is made of: its options (`Options`, checked by `check_options`)
and each row's fate (`RowPlan`), as the dry run reports them and the real run writes
them (`engine.imports.planning` makes them)."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

from engine.errors import ValidationFailed

ACTIONS = ("create", "update", "skip", "refuse")
ON_DUPLICATE = ("skip", "update", "create")
KEY_TYPES = ("string", "email", "phone", "url", "integer", "choice", "date")


@dataclass(frozen=True)
class Options:
    """What an import does besides reading: the natural key it upserts on, what a
    duplicate-rule match does, how many rows a chunk writes."""

    key: str | None = None
    on_duplicate: str | None = None  # None: by the matching rule's action (block: skip, warn: create)
    chunk_size: int = 1000


@dataclass
class RowPlan:
    """One row's fate. `row` is its line (the header is line 1); `data` the fields a
    create sets or an update changes; `problems` [{column, field, code, message}];
    `duplicates` the existing records (or earlier rows of the file) a duplicate rule
    matched, with their reasons; `of_row` the earlier row whose new record an update
    changes (its id is known once that row is written)."""

    row: int
    action: str
    record_id: int | None = None
    data: dict | None = None
    problems: list = dataclass_field(default_factory=list)
    duplicates: list = dataclass_field(default_factory=list)
    reason: str | None = None
    of_row: int | None = None

    def to_dict(self) -> dict:
        out = {"row": self.row, "action": self.action}
        for name in ("record_id", "reason", "of_row"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.problems:
            out["problems"] = self.problems
        if self.duplicates:
            out["duplicates"] = self.duplicates
        return out


def check_options(entity, options: Options) -> None:
    details = []
    if options.key is not None:
        key = entity.field(options.key)
        if key is None:
            details.append({"field": "key", "message": f"{entity.name} has no field {options.key!r}"})
        elif (key.base_type or key.type) not in KEY_TYPES:
            details.append({"field": "key", "message": f"a {key.type} field cannot be a natural key"})
    if options.on_duplicate is not None and options.on_duplicate not in ON_DUPLICATE:
        details.append({"field": "on_duplicate", "message": f"must be one of {', '.join(ON_DUPLICATE)}"})
    if not isinstance(options.chunk_size, int) or not 1 <= options.chunk_size <= 10_000:
        details.append({"field": "chunk_size", "message": "must be a whole number from 1 to 10000"})
    if details:
        raise ValidationFailed("the import's options are wrong", code="bad_import_options", details=details)
