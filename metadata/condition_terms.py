"""The terms of the condition language: its operators and combinators, the operators each
base type takes, the system columns' types, how a condition's field names are typed, and
which record values count as empty.

Checking (``metadata.conditions``) and evaluating (``metadata.conditions_compiled``) read
these same terms; callers take them from ``metadata.conditions``.
"""

from __future__ import annotations

from typing import Callable, Mapping

from .comparison import MOMENTS, NUMERIC, as_moment, as_number
from .fieldtypes import STRING_TYPES
from .model import SYSTEM_COLUMNS, Field

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "matches", "exists", "not_exists")
COMBINATORS = ("all", "any", "not")
LEAF_KEYS = ("field", "op", "value")
NO_VALUE_OPS = ("exists", "not_exists")
MAX_DEPTH = 32
SYSTEM_FIELD_TYPES = {"id": "integer", "created_at": "datetime", "updated_at": "datetime",
                      "created_by": "integer", "updated_by": "integer", "owner_id": "integer",
                      "version": "integer"}
assert tuple(SYSTEM_FIELD_TYPES) == SYSTEM_COLUMNS

_EQUALITY = ("eq", "ne", "in", "not_in", "exists", "not_exists")
_ORDERING = ("gt", "gte", "lt", "lte")
# Which operators apply to each built-in base type.
OPS_BY_TYPE: dict[str, frozenset] = {
    **{t: frozenset(_EQUALITY + ("contains", "matches")) for t in STRING_TYPES},
    **{t: frozenset(_EQUALITY + _ORDERING) for t in NUMERIC + MOMENTS},
    "boolean": frozenset(_EQUALITY), "choice": frozenset(_EQUALITY), "reference": frozenset(_EQUALITY),
    "multi_choice": frozenset(("eq", "ne", "contains", "exists", "not_exists")),
    "json": frozenset(("eq", "ne", "exists", "not_exists")),
}
EMPTY_PASSES = frozenset(("ne", "not_in", "not_exists"))  # the operators an empty value passes


def system_field(name: str) -> Field | None:
    """The system column ``name`` as a Field (for typing conditions), or None."""
    base = SYSTEM_FIELD_TYPES.get(name)
    return Field(name=name, type=base, label={"en": name}, base_type=base) if base else None


def condition_field(entity, name: str) -> Field | None:
    """The field a condition may name: a system column or one of ``entity``'s fields.

    ``entity`` is an Entity, or a ``{field: base type}`` mapping (fields typed by their
    base type alone: no options, ranges or patterns)."""
    if isinstance(entity, Mapping):
        base = entity.get(name)
        typed = Field(name=name, type=base, label={"en": name}, base_type=base) if isinstance(base, str) else None
        return system_field(name) or typed
    return system_field(name) or (entity.field(name) if entity is not None else None)


def ops_for(base_type: str) -> tuple[str, ...]:
    """The operators that apply to a base type, in OPS order (all of them when unknown)."""
    allowed = OPS_BY_TYPE.get(base_type, frozenset(OPS))
    return tuple(op for op in OPS if op in allowed)


def field_typer(entity) -> Callable[[str], str | None]:
    """``base_of(name)``: the base type a condition compares field ``name`` by, from an
    Entity or a ``{name: base type}`` mapping; None (inferred from the values) when unknown
    or without an entity."""
    if isinstance(entity, Mapping):
        return lambda name: entity.get(name) or SYSTEM_FIELD_TYPES.get(name)

    def base_of(name: str) -> str | None:
        field = condition_field(entity, name)
        return (field.base_type or None) if field is not None else None
    return base_of


def is_empty(value) -> bool:
    """Whether a record value counts as empty: missing, null, "" or []."""
    return value is None or value == "" or value == []


def fits(value, base: str | None) -> bool:
    """Whether a non-empty record value is of its field's base type; one that is not (text
    in a number field of an unvalidated event, say) compares as empty."""
    if base in NUMERIC or base == "reference":
        return as_number(value) is not None
    if base in MOMENTS:
        return as_moment(value) is not None
    if base == "boolean":
        return isinstance(value, bool)
    if base in STRING_TYPES or base == "choice":
        return isinstance(value, str)
    return True
