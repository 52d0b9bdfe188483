"""What changed between two packages, as steps the engine can turn into migrations.

The diff only describes; deciding how (or whether) a change can be applied to
existing data is the engine's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fieldtypes import show
from .model import Entity, Field, Package

KINDS = (
    "add_entity", "drop_entity", "add_field", "drop_field", "alter_type", "alter_length",
    "alter_precision", "alter_required", "alter_unique", "alter_indexed", "alter_reference",
    "alter_default", "alter_options", "alter_label", "alter_other",
)
_NO_DDL = frozenset(("alter_label", "alter_default", "alter_options", "alter_other"))
# Field attributes reported as alter_other, one Change each, with {attr: value} as old/new.
_OTHER_FIELD_ATTRS = ("help", "pii", "readonly", "pattern", "min", "max")


@dataclass(frozen=True)
class Change:
    """One difference.  ``old``/``new`` hold what changed:

    add/drop_entity: the Entity; add/drop_field: the Field; alter_type: type names;
    alter_length: max_length; alter_precision: (precision, scale); alter_required /
    alter_unique / alter_indexed: bools; alter_reference: (to, on_delete);
    alter_default: the default (None when there is none); alter_options: tuples of
    Option; alter_label: label maps; alter_other: ``{attribute: value}``.
    """

    kind: str
    entity: str
    field: str | None = None
    old: object = None
    new: object = None

    @property
    def needs_ddl(self) -> bool:
        return self.kind not in _NO_DDL

    @property
    def destructive(self) -> bool:
        return self.kind in ("drop_entity", "drop_field")

    @property
    def target(self) -> str:
        return f"{self.entity}.{self.field}" if self.field else self.entity

    def describe(self) -> str:
        """Plain words, e.g. ``change contact.full_name max_length 120 -> 80``."""
        k, t, old, new = self.kind, self.target, self.old, self.new
        if k == "add_entity":
            return f"add entity {t} ({len(new.fields)} fields)"
        if k == "drop_entity":
            return f"drop entity {t}"
        if k == "add_field":
            return f"add field {t} ({new.type})"
        if k == "drop_field":
            return f"drop field {t}"
        if k == "alter_required":
            return f"make {t} {'required' if new else 'optional'}"
        if k == "alter_unique":
            return f"make {t} unique" if new else f"drop the unique constraint on {t}"
        if k == "alter_indexed":
            return f"add an index on {t}" if new else f"drop the index on {t}"
        if k == "alter_precision":
            return f"change {t} precision,scale {old[0]},{old[1]} -> {new[0]},{new[1]}"
        if k == "alter_reference":
            return f"change {t} reference {old[0]} (on_delete {old[1]}) -> {new[0]} (on_delete {new[1]})"
        if k == "alter_options":
            return (f"change {t} options {', '.join(o.value for o in old)} -> "
                    f"{', '.join(o.value for o in new)}")
        if k == "alter_default":
            return f"change {t} default {_opt(old)} -> {_opt(new)}"
        if k == "alter_other":
            (attr, before), (_, after) = next(iter(old.items())), next(iter(new.items()))
            return f"change {t} {attr} {show(before)} -> {show(after)}"
        attr = {"alter_type": "type", "alter_length": "max_length", "alter_label": "label"}.get(k, k)
        return f"change {t} {attr} {show(old)} -> {show(new)}"


def _opt(value) -> str:
    return "none" if value is None else show(value)


def diff_packages(old: Package | None, new: Package) -> list[Change]:
    """Changes turning ``old`` into ``new`` (``old=None`` means an empty package).

    Order: add_entity (new order); then per kept entity (new order) its entity
    level changes and its added/altered fields (new field order); then every
    drop_field (old order); then every drop_entity (old order).  Renames are not
    detected: they appear as a drop plus an add.
    """
    old_entities = old.entities if old is not None else ()
    old_by_name = {e.name: e for e in old_entities}
    new_names = {e.name for e in new.entities}
    adds, alters, drop_fields = [], [], []
    for entity in new.entities:
        before = old_by_name.get(entity.name)
        if before is None:
            adds.append(Change("add_entity", entity.name, new=entity))
            continue
        alters += _entity_changes(before, entity)
        after_names = set(entity.field_names())
        drop_fields += [Change("drop_field", entity.name, f.name, old=f)
                        for f in before.fields if f.name not in after_names]
    drops = [Change("drop_entity", e.name, old=e) for e in old_entities if e.name not in new_names]
    return adds + alters + drop_fields + drops


def _entity_changes(old: Entity, new: Entity) -> list[Change]:
    changes = []
    if old.label != new.label:
        changes.append(Change("alter_label", new.name, old=old.label, new=new.label))
    for attr in ("plural_label", "description"):
        if getattr(old, attr) != getattr(new, attr):
            changes.append(Change("alter_other", new.name, old={attr: getattr(old, attr)},
                                  new={attr: getattr(new, attr)}))
    kept_old = [n for n in old.field_names() if new.field(n) is not None]
    kept_new = [n for n in new.field_names() if old.field(n) is not None]
    if kept_old != kept_new:
        changes.append(Change("alter_other", new.name, old={"field_order": kept_old},
                              new={"field_order": kept_new}))
    for field in new.fields:
        before = old.field(field.name)
        if before is None:
            changes.append(Change("add_field", new.name, field.name, new=field))
        else:
            changes += _field_changes(new.name, before, field)
    return changes


def _field_changes(entity: str, old: Field, new: Field) -> list[Change]:
    def change(kind, before, after):
        return Change(kind, entity, new.name, old=before, new=after)

    if (old.type, old.base_type) != (new.type, new.base_type):
        return [change("alter_type", old.type, new.type)]  # the engine rebuilds the column
    changes = []
    if old.max_length != new.max_length:
        changes.append(change("alter_length", old.max_length, new.max_length))
    if (old.precision, old.scale) != (new.precision, new.scale):
        changes.append(change("alter_precision", (old.precision, old.scale), (new.precision, new.scale)))
    for attr in ("required", "unique", "indexed"):
        if getattr(old, attr) != getattr(new, attr):
            changes.append(change(f"alter_{attr}", getattr(old, attr), getattr(new, attr)))
    if (old.to, old.on_delete) != (new.to, new.on_delete):
        changes.append(change("alter_reference", (old.to, old.on_delete), (new.to, new.on_delete)))
    if (old.has_default, old.default) != (new.has_default, new.default):
        changes.append(change("alter_default", old.default if old.has_default else None,
                              new.default if new.has_default else None))
    if old.options != new.options:
        changes.append(change("alter_options", old.options, new.options))
    if old.label != new.label:
        changes.append(change("alter_label", old.label, new.label))
    for attr in _OTHER_FIELD_ATTRS:
        if getattr(old, attr) != getattr(new, attr):
            changes.append(change("alter_other", {attr: getattr(old, attr)}, {attr: getattr(new, attr)}))
    return changes
