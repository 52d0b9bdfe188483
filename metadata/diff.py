"""What changed between two packages, as steps the engine can turn into migrations.

The diff only describes; deciding how (or whether) a change can be applied to
existing data is the engine's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fieldtypes import show
from .model import Entity, Field, Package
from .pii import ENCRYPTED_CLASSES

WORKFLOW_KINDS = ("add_workflow", "drop_workflow", "alter_workflow", "drop_state")
RULESET_KINDS = ("add_ruleset", "drop_ruleset", "alter_ruleset")
TEMPLATE_KINDS = ("add_template", "drop_template", "alter_template")
LAYOUT_KINDS = ("add_layout", "change_layout", "drop_layout")
ROLE_KINDS = ("add_role", "drop_role", "alter_role", "add_permission_set", "drop_permission_set",
              "alter_permission_set")
KINDS = (
    "add_entity", "drop_entity", "add_field", "drop_field", "alter_type", "alter_length",
    "alter_precision", "alter_required", "alter_unique", "alter_indexed", "alter_reference", "alter_encryption",
    "alter_default", "alter_options", "alter_label", "alter_hidden", "alter_other", "add_index", "drop_index",
    "change_sharing", "alter_settings",
) + WORKFLOW_KINDS + RULESET_KINDS + TEMPLATE_KINDS + LAYOUT_KINDS + ROLE_KINDS
_NO_DDL = frozenset(("alter_label", "alter_hidden", "alter_default", "alter_options", "alter_other",
                     "change_sharing", "alter_settings")
                    + WORKFLOW_KINDS + RULESET_KINDS + TEMPLATE_KINDS + LAYOUT_KINDS + ROLE_KINDS)
# Field attributes reported as alter_other, one Change each, with {attr: value} as old/new.
_OTHER_FIELD_ATTRS = ("help", "pii", "readonly", "pattern", "min", "max", "visible_if", "required_if",
                      "match", "region", "strict")


@dataclass(frozen=True)
class Change:
    """One difference.  ``old``/``new`` hold what changed:

    add/drop_entity: the Entity; add/drop_field: the Field; alter_type: type names;
    alter_length: max_length; alter_precision: (precision, scale); alter_required /
    alter_unique / alter_indexed: bools; alter_reference: (to, on_delete);
    alter_default: the default (None when there is none); alter_encryption: the PII
    classes, when one is encrypted at rest and the other not; alter_options: tuples of
    Option; alter_label: label maps; alter_other: ``{attribute: value}``;
    add_index / drop_index (``field`` None): the composite ``Index``.

    Workflows (``entity`` = the workflow's entity, ``field`` None): add/drop/alter_workflow
    hold Workflow objects; drop_state (``field`` = the state field) holds the removed
    state's name in ``old`` and asks for a state map (``needs_state_map``) so records
    in that state can be moved.  Rule sets (``entity`` ""): add/drop/alter_ruleset
    hold the rule set dicts.  None of these needs DDL or destroys data.

    change_sharing (an entity, ``field`` None): the entity's ``sharing`` dicts (None
    when it has none); it changes who sees records, never the schema.

    alter_hidden (a field): the ``hidden`` bools.  Layouts (``entity`` = the layout's
    entity, ``field`` None): add/change/drop_layout hold the layout dicts; like labels,
    they need no DDL and dropping a layout destroys no data.
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
    def needs_state_map(self) -> bool:
        """True when records may sit in a state that no longer exists (drop_state)."""
        return self.kind == "drop_state"

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
        if k in ("add_index", "drop_index"):
            index = new if k == "add_index" else old
            unique = "unique " if index.unique else ""
            return f"{k.split('_')[0]} {unique}index on {t} ({', '.join(index.fields)})"
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
        if k in WORKFLOW_KINDS or k in RULESET_KINDS or k in TEMPLATE_KINDS or k in ROLE_KINDS:
            return _describe_process(self)
        if k in LAYOUT_KINDS:
            layout = new if new is not None else old
            verb = k.split("_")[0]
            return f"{verb} {layout.get('kind')} layout {layout.get('name')} of {layout.get('entity')}"
        if k == "change_sharing":
            return f"change sharing of {t}: {_sharing_words(old)} -> {_sharing_words(new)}"
        if k == "alter_settings":
            return f"change the setting {self.field} {_opt(old)} -> {_opt(new)}"
        if k == "alter_hidden":
            return f"hide {t} from layouts" if new else f"show {t} in layouts again"
        if k == "alter_encryption":
            if new in ENCRYPTED_CLASSES:
                return f"encrypt {t} at rest (pii {new}): its stored values are encrypted"
            return f"decrypt {t} (pii {show(new) if new else 'none'}): its stored values are kept in clear text"
        if k == "alter_other":
            (attr, before), (_, after) = next(iter(old.items())), next(iter(new.items()))
            return f"change {t} {attr} {show(before)} -> {show(after)}"
        attr = {"alter_type": "type", "alter_length": "max_length", "alter_label": "label"}.get(k, k)
        return f"change {t} {attr} {show(old)} -> {show(new)}"


def _describe_process(change: Change) -> str:
    k, old, new = change.kind, change.old, change.new
    if k == "add_workflow":
        return f"add workflow {new.name} on {new.entity}.{new.field} ({len(new.states)} states)"
    if k == "drop_workflow":
        return f"drop workflow {old.name} from {old.entity}.{old.field}"
    if k == "alter_workflow":
        return f"change workflow {new.name} on {new.entity}.{new.field}"
    if k == "drop_state":
        return f"drop state {show(old)} of {change.target}; records in it need a new state"
    verb, kind = k.split("_", 1)
    verb = {"alter": "change"}.get(verb, verb)
    noun = {"ruleset": "rule set", "template": "template", "role": "role", "permission_set": "permission set"}[kind]
    return f"{verb} {noun} {(new if new is not None else old).get('name')}"


def _sharing_words(sharing) -> str:
    if sharing is None:
        return "everyone"
    return (f"default {sharing['default']}" + (", managers" if sharing["managers"] else "")
            + f", {len(sharing['rules'])} rule{'s' if len(sharing['rules']) != 1 else ''}")


def _opt(value) -> str:
    return "none" if value is None else show(value)


def diff_packages(old: Package | None, new: Package) -> list[Change]:
    """Changes turning ``old`` into ``new`` (``old=None`` means an empty package).

    Order: add_entity (new order); then per kept entity (new order) its entity
    level changes, its added/altered fields (new field order), its dropped
    composite indexes (old order) and its added ones (new order); then workflow
    changes and rule set changes (see ``_process_changes``); then every
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
    processes = _process_changes(old.workflows if old is not None else (), new.workflows,
                                 old.rulesets if old is not None else (), new.rulesets)
    processes += _named_changes("template", old.templates if old is not None else (), new.templates)
    processes += _layout_changes(old.layouts if old is not None else (), new.layouts)
    for kind in ("role", "permission_set"):  # who may do what: no schema change
        processes += _named_changes(kind, getattr(old, kind + "s", ()), getattr(new, kind + "s"))
    return adds + alters + processes + _settings_changes(old, new) + drop_fields + drops


def _settings_changes(old: Package | None, new: Package) -> list[Change]:
    """One alter_settings per tenant-wide setting that changed (``field``: its key)."""
    before, after = dict((old.settings if old is not None else None) or {}), dict(new.settings or {})
    return [Change("alter_settings", "", key, old=before.get(key), new=after.get(key))
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def _process_changes(old_workflows, new_workflows, old_rulesets, new_rulesets) -> list[Change]:
    """Workflow changes, then rule set changes; each as drops (old order), alters, adds (new order).

    A workflow is kept when one of the same name is bound to the same entity and
    field; rebinding it is a drop plus an add.  A kept workflow that changed gives
    alter_workflow followed by one drop_state per removed state (old state order).
    """
    def key(w):
        return (w.name, w.entity, w.field)

    before = {key(w): w for w in old_workflows}
    after = {key(w) for w in new_workflows}
    changes = [Change("drop_workflow", w.entity, old=w) for w in old_workflows if key(w) not in after]
    for workflow in new_workflows:
        old = before.get(key(workflow))
        if old is not None and old != workflow:
            changes.append(Change("alter_workflow", workflow.entity, old=old, new=workflow))
            kept = set(workflow.state_names())
            changes += [Change("drop_state", workflow.entity, workflow.field, old=s)
                        for s in old.state_names() if s not in kept]
    changes += [Change("add_workflow", w.entity, new=w) for w in new_workflows if key(w) not in before]
    return changes + _named_changes("ruleset", old_rulesets, new_rulesets)


def _named_changes(kind: str, old_items, new_items) -> list[Change]:
    """Drops, alters and adds of a verbatim list of named documents (rule sets, templates)."""
    old_by_name = {r["name"]: r for r in old_items}
    new_names = {r["name"] for r in new_items}
    changes = [Change(f"drop_{kind}", "", old=r) for r in old_items if r["name"] not in new_names]
    changes += [Change(f"alter_{kind}", "", old=old_by_name[r["name"]], new=r) for r in new_items
                if r["name"] in old_by_name and old_by_name[r["name"]] != r]
    changes += [Change(f"add_{kind}", "", new=r) for r in new_items if r["name"] not in old_by_name]
    return changes


def _layout_changes(old_layouts, new_layouts) -> list[Change]:
    """Layout drops (old order), changes and adds (new order); ``entity`` is the layout's entity."""
    old_by_name = {t["name"]: t for t in old_layouts}
    new_names = {t["name"] for t in new_layouts}
    changes = [Change("drop_layout", t.get("entity", ""), old=t) for t in old_layouts if t["name"] not in new_names]
    changes += [Change("change_layout", t.get("entity", ""), old=old_by_name[t["name"]], new=t) for t in new_layouts
                if t["name"] in old_by_name and old_by_name[t["name"]] != t]
    changes += [Change("add_layout", t.get("entity", ""), new=t) for t in new_layouts if t["name"] not in old_by_name]
    return changes


def _entity_changes(old: Entity, new: Entity) -> list[Change]:
    changes = []
    if old.label != new.label:
        changes.append(Change("alter_label", new.name, old=old.label, new=new.label))
    for attr in ("plural_label", "description", "privacy", "order", "hidden", "duplicate_rules", "natural_key"):
        if getattr(old, attr) != getattr(new, attr):
            changes.append(Change("alter_other", new.name, old={attr: getattr(old, attr)},
                                  new={attr: getattr(new, attr)}))
    if old.sharing != new.sharing:
        changes.append(Change("change_sharing", new.name, old=old.sharing, new=new.sharing))
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
    # An index whose fields, uniqueness or name changed is dropped and created again.
    changes += [Change("drop_index", new.name, old=i) for i in old.indexes if i not in new.indexes]
    changes += [Change("add_index", new.name, new=i) for i in new.indexes if i not in old.indexes]
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
    if old.hidden != new.hidden:
        changes.append(change("alter_hidden", old.hidden, new.hidden))
    if old.encrypted != new.encrypted:
        changes.append(change("alter_encryption", old.pii_class, new.pii_class))
    for attr in _OTHER_FIELD_ATTRS:
        if getattr(old, attr) != getattr(new, attr):
            changes.append(change("alter_other", {attr: getattr(old, attr)}, {attr: getattr(new, attr)}))
    return changes
