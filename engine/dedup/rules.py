"""An entity's duplicate rules compiled against its table: for each field a rule compares,
the column it is compared on and how a typed value becomes that column's key.

A field with a match-key column (`<field>__key`: phone numbers in E.164, folded e-mails,
names and identity numbers, `engine.normalise`) is compared on that column, so "138 0013
8001" and "+86 13800138001" agree; any other field on its own column, value for value.
A fuzzy rule compares the name keys (`engine.normalise.name_key`) of its text field."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from engine.matchkeys import KEY_SUFFIX, match_kind, phone_region
from engine.normalise import key_of, name_key


@dataclass(frozen=True)
class Compared:
    """One field a rule compares: its name and label, the column, and the key kind of
    values written to it (None: compared as stored)."""

    name: str
    label: dict
    column: object
    kind: str | None
    base: str
    region: str

    def key(self, value):
        """The key of a value as the API takes it; None when there is nothing to compare."""
        if value is None or value == "":
            return None
        if self.kind is not None:
            return key_of(self.kind, value, self.region)
        return _stored(self.base, value)


@dataclass(frozen=True)
class Rule:
    """A compiled duplicate rule (the rule document's words: name, label, action, overridable)."""

    name: str
    label: dict
    action: str
    overridable: bool
    exact: tuple = ()  # Compared fields, every key equal
    fuzzy: Compared | None = None  # the text field compared by similarity
    scorer: str = ""
    threshold: float = 0.0
    within: tuple = ()  # Compared blocking fields of a fuzzy rule

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the rule reads."""
        compared = self.exact + ((self.fuzzy,) if self.fuzzy else ()) + self.within
        return tuple(c.name for c in compared)


def rules_of(metadata, entity) -> tuple[Rule, ...]:
    """The compiled rules of `entity` (an Entity or its name), made once per metadata version."""
    entity = metadata.entity(entity) if isinstance(entity, str) else entity
    if entity is None or not entity.duplicate_rules:
        return ()
    return metadata.memo(("dedup_rules", entity.name), lambda: _compile(metadata, entity))


def _compile(metadata, entity) -> tuple[Rule, ...]:
    table = metadata.tables[entity.name]
    region = phone_region(metadata.package)

    def compared(name: str) -> Compared:
        field = entity.field(name)
        key_column = table.c.get(name + KEY_SUFFIX)
        kind = match_kind(field) if key_column is not None else None
        return Compared(name, field.label, key_column if kind else table.c[name], kind, field.base_type,
                        (field.region or region).upper())

    rules = []
    for doc in entity.duplicate_rules:
        match = doc["match"]
        common = {"name": doc["name"], "label": doc["label"], "action": doc["action"],
                  "overridable": doc["overridable"]}
        if "exact" in match:
            rules.append(Rule(**common, exact=tuple(compared(n) for n in match["exact"])))
        else:
            rules.append(Rule(**common, fuzzy=compared(match["fuzzy"]), scorer=match["scorer"],
                              threshold=float(match["threshold"]),
                              within=tuple(compared(n) for n in match["within"])))
    return tuple(rules)


def fuzzy_key(value) -> str | None:
    """What a fuzzy rule compares: the name key of the text."""
    return name_key(value) if isinstance(value, str) else None


def _stored(base: str, value):
    """A JSON value as its column stores it, or None when it cannot be one (then it
    matches nothing)."""
    try:
        if base in ("integer", "reference"):
            return int(value) if not isinstance(value, bool) else None
        if base in ("decimal", "currency"):
            return Decimal(str(value["amount"] if isinstance(value, dict) else value))
        if base == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if base == "datetime":
            return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, KeyError, InvalidOperation):
        return None
    return value if isinstance(value, str) else str(value)
