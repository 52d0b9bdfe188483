"""The normalised, immutable metadata model the engine, API and UI build on.

Documents arrive in a forgiving shape (plain-string labels, plain-string options,
omitted defaults); the model holds one canonical shape so consumers never have
to handle the variants.  Building the model does NOT validate: use
``metadata.load_package`` for untrusted input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping

from .index_model import Index  # noqa: F401 (part of the model: metadata.model.Index)
from .jsoncopy import json_copy
from .pii import ENCRYPTED_CLASSES, pii_class, pii_value
from .duplicate_checks import normal_duplicate_rules
from .privacy_checks import normal_privacy
from .sharing_shape import normal_sharing

BUILTIN_FIELD_TYPES = (
    "string", "text", "integer", "decimal", "boolean", "date", "datetime", "email",
    "phone", "url", "choice", "multi_choice", "reference", "currency", "json",
)
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "version")

DECIMAL_TYPES = ("decimal", "currency")
# The colours a choice option may have (its badge on the screens; the entity schema's enum).
OPTION_COLORS = ("grey", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")
DEFAULT_PRECISION = 18
DEFAULT_SCALE = 2
DEFAULT_ON_DELETE = "restrict"


def language_map(value) -> dict | None:
    """Normalise a label: a plain string ``s`` becomes ``{"en": s}``."""
    if value is None:
        return None
    if isinstance(value, str):
        return {"en": value}
    return dict(value)


def optional_text(value) -> dict | None:
    """Normalise help / description: like a label, but empty text means none."""
    return None if value == "" else language_map(value)


def default_label(name: str) -> dict:
    """The label used when none is given: ``full_name`` -> ``{"en": "Full name"}``."""
    return {"en": name.replace("_", " ").capitalize()}


def base_type_of(type_name: str, extra_types: Mapping[str, str] | None = None) -> str:
    """The built-in type a field type is stored as ("" when unknown)."""
    if type_name in BUILTIN_FIELD_TYPES:
        return type_name
    return (extra_types or {}).get(type_name, "")


def _whole(value):
    # JSON Schema accepts 12.0 as an integer; the model wants a real int.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class Option:
    """One choice of a choice / multi_choice field."""

    value: str
    label: dict
    color: str | None = None  # one of OPTION_COLORS: its badge on the screens

    def to_dict(self) -> dict:
        out = {"value": self.value, "label": dict(self.label)}
        if self.color is not None:
            out["color"] = self.color
        return out

    @classmethod
    def from_document(cls, doc) -> "Option":
        if isinstance(doc, Mapping):
            value = doc["value"]
            return cls(value, language_map(doc.get("label")) or {"en": value}, doc.get("color"))
        return cls(doc, {"en": doc})


@dataclass(frozen=True)
class Field:
    """One field of an entity, with type-dependent defaults filled in."""

    name: str
    type: str
    label: dict
    help: dict | None = None
    required: bool = False
    unique: bool = False
    indexed: bool = False
    pii: bool | str = False  # true (meaning "contact") or one of PII_CLASSES
    readonly: bool = False
    hidden: bool = False  # left out of layouts and screens; keeps its column, data and API presence
    has_default: bool = False
    default: object = None
    max_length: int | None = None
    min: object = None
    max: object = None
    pattern: str | None = None  # the whole value must match (metadata.regex, fullmatch)
    precision: int | None = None
    scale: int | None = None
    options: tuple = ()
    to: str | None = None
    on_delete: str | None = None
    base_type: str = ""
    # Conditions (metadata.conditions) over the same record: shown only while visible_if
    # holds; a value needed while required_if holds (and the field is visible).
    visible_if: dict | None = None
    required_if: dict | None = None
    # Match keys (engine.matchkeys): "phone" | "email" | "name" | "id" (a phone or e-mail
    # field has its own kind unsaid); the country a phone number is read in; strict: refuse
    # a number that cannot be read.
    match: str | None = None
    region: str | None = None
    strict: bool = False

    def __post_init__(self):
        if not isinstance(self.options, tuple):
            object.__setattr__(self, "options", tuple(self.options))

    def option_values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    @cached_property
    def option_set(self) -> frozenset[str]:
        """The options' values, for checking a value is one (built once per field: a batch
        checks every row's)."""
        return frozenset(o.value for o in self.options)

    pii_class = property(lambda self: pii_class(self.pii), doc="the PII class (metadata.pii), None if none")
    encrypted = property(lambda self: pii_class(self.pii) in ENCRYPTED_CLASSES, doc="encrypted at rest")

    def to_dict(self) -> dict:
        """Canonical JSON-able form: labels as maps, options as objects, no default-valued keys.

        ``label`` is always present (it is never absent from the model).
        """
        out: dict = {"name": self.name, "type": self.type, "label": dict(self.label)}
        if self.help is not None:
            out["help"] = dict(self.help)
        for flag in ("required", "unique", "indexed", "pii", "readonly", "hidden", "strict"):
            if getattr(self, flag):
                out[flag] = self.pii if flag == "pii" else True
        if self.has_default:
            out["default"] = json_copy(self.default)
        for key in ("max_length", "min", "max", "pattern", "match", "region"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        decimal = self.base_type in DECIMAL_TYPES
        if self.precision is not None and not (decimal and self.precision == DEFAULT_PRECISION):
            out["precision"] = self.precision
        if self.scale is not None and not (decimal and self.scale == DEFAULT_SCALE):
            out["scale"] = self.scale
        if self.options:
            out["options"] = [o.to_dict() for o in self.options]
        if self.to is not None:
            out["to"] = self.to
        if self.on_delete is not None and not (
            self.base_type == "reference" and self.on_delete == DEFAULT_ON_DELETE
        ):
            out["on_delete"] = self.on_delete
        for key in ("visible_if", "required_if"):
            if getattr(self, key) is not None:
                out[key] = json_copy(getattr(self, key))
        return out

    @classmethod
    def from_document(cls, doc: Mapping, extra_types: Mapping[str, str] | None = None) -> "Field":
        name, type_name = doc["name"], doc["type"]
        base = base_type_of(type_name, extra_types)
        precision, scale = _whole(doc.get("precision")), _whole(doc.get("scale"))
        on_delete = doc.get("on_delete")
        if base in DECIMAL_TYPES:
            precision = DEFAULT_PRECISION if precision is None else precision
            scale = DEFAULT_SCALE if scale is None else scale
        if base == "reference" and on_delete is None:
            on_delete = DEFAULT_ON_DELETE
        return cls(
            name=name,
            type=type_name,
            label=language_map(doc.get("label")) or default_label(name),
            help=optional_text(doc.get("help")),
            required=bool(doc.get("required", False)),
            unique=bool(doc.get("unique", False)),
            indexed=bool(doc.get("indexed", False)),
            pii=pii_value(doc.get("pii", False)),
            readonly=bool(doc.get("readonly", False)),
            hidden=bool(doc.get("hidden", False)),
            has_default="default" in doc,
            default=json_copy(doc.get("default")),
            max_length=_whole(doc.get("max_length")),
            min=doc.get("min"),
            max=doc.get("max"),
            pattern=doc.get("pattern"),
            precision=precision,
            scale=scale,
            options=tuple(Option.from_document(o) for o in doc.get("options", ())),
            to=doc.get("to"),
            on_delete=on_delete,
            base_type=base,
            visible_if=json_copy(doc.get("visible_if")),
            required_if=json_copy(doc.get("required_if")),
            match=doc.get("match"), region=doc.get("region"), strict=bool(doc.get("strict", False)),
        )


@dataclass(frozen=True)
class Entity:
    """A record type (e.g. ``contact``) and its fields in document order."""

    name: str
    label: dict
    fields: tuple
    plural_label: dict | None = None
    description: dict | None = None
    indexes: tuple = ()  # composite Index definitions, in document order
    sharing: dict | None = None  # record sharing (see normal_sharing); None = no restriction
    privacy: dict | None = None  # {"evidence", "retain_for", "retention"} (docs/privacy.md); None = none
    order: int | None = None  # the place in the navigation (None: after those with one, by label)
    hidden: bool = False  # left out of the navigation and the search; records kept
    duplicate_rules: tuple = ()  # normalised duplicate rules (metadata.duplicate_checks), in document order
    natural_key: str | None = None  # the field an import upserts on by default (metadata.natural_key_checks)

    def __post_init__(self):
        if not isinstance(self.fields, tuple):
            object.__setattr__(self, "fields", tuple(self.fields))
        if not isinstance(self.indexes, tuple):
            object.__setattr__(self, "indexes", tuple(self.indexes))
        by_name: dict = {}
        for f in self.fields:
            by_name.setdefault(f.name, f)
        # Not a dataclass field, so it stays out of __eq__ / __repr__.
        object.__setattr__(self, "_by_name", by_name)

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "label": dict(self.label)}
        if self.plural_label is not None:
            out["plural_label"] = dict(self.plural_label)
        if self.description is not None:
            out["description"] = dict(self.description)
        # order and hidden are omitted when unset: older documents keep their canonical form
        out.update({key: value for key, value in (("order", self.order), ("hidden", self.hidden or None)) if value is not None})
        out["fields"] = [f.to_dict() for f in self.fields]
        if self.indexes:  # omitted when empty: older documents keep their canonical form
            out["indexes"] = [i.to_dict() for i in self.indexes]
        if self.sharing is not None:  # likewise: only entities that share by rule carry it
            out["sharing"] = json_copy(self.sharing)
        if self.privacy:
            out["privacy"] = json_copy(self.privacy)
        if self.duplicate_rules:
            out["duplicate_rules"] = json_copy(list(self.duplicate_rules))
        if self.natural_key is not None:
            out["natural_key"] = self.natural_key
        return out

    @classmethod
    def from_document(cls, doc: Mapping, extra_types: Mapping[str, str] | None = None) -> "Entity":
        name = doc["name"]
        return cls(
            name=name,
            label=language_map(doc.get("label")) or default_label(name),
            fields=tuple(Field.from_document(f, extra_types) for f in doc["fields"]),
            plural_label=language_map(doc.get("plural_label")),
            description=optional_text(doc.get("description")),
            indexes=tuple(Index.from_document(i) for i in doc.get("indexes", ())),
            sharing=normal_sharing(doc.get("sharing")),
            privacy=normal_privacy(doc.get("privacy")),
            order=doc.get("order"),
            hidden=bool(doc.get("hidden", False)),
            duplicate_rules=normal_duplicate_rules(doc.get("duplicate_rules")),
            natural_key=doc.get("natural_key"),
        )


@dataclass(frozen=True)
class Package:
    """A tenant's whole metadata: entities, workflows, rule sets, message templates and
    layouts, in document order.

    ``rulesets``, ``templates`` and ``layouts`` are plain dicts kept verbatim (rule sets
    and templates are checked in full by the layers that run them; layouts by
    ``metadata.layout_checks``); each has at least a ``name``.  Screens render
    ``metadata.layouts.effective_layout``, which leaves hidden fields out.
    """

    entities: tuple
    workflows: tuple = ()
    rulesets: tuple = ()
    templates: tuple = ()
    layouts: tuple = ()
    roles: tuple = ()            # role documents, verbatim (see metadata.role_checks)
    permission_sets: tuple = ()  # the same shape: extra rights given to a user
    settings: dict | None = None  # tenant-wide settings, e.g. {"phone_region": "CN"}

    def __post_init__(self):
        for attr in ("entities", "workflows", "rulesets", "templates", "layouts", "roles", "permission_sets"):
            if not isinstance(getattr(self, attr), tuple):
                object.__setattr__(self, attr, tuple(getattr(self, attr)))
        by_name: dict = {}
        for e in self.entities:
            by_name.setdefault(e.name, e)
        by_entity: dict = {}
        for w in self.workflows:
            by_entity.setdefault(w.entity, w)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_workflow_by_entity", by_entity)

    def entity(self, name: str) -> Entity | None:
        return self._by_name.get(name)

    def entity_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entities)

    def workflow_for(self, entity_name: str):
        """The Workflow bound to ``entity_name``, or None (an entity has at most one)."""
        return self._workflow_by_entity.get(entity_name)

    def workflow(self, name: str):
        """The Workflow called ``name``, or None."""
        return next((w for w in self.workflows if w.name == name), None)

    def ruleset(self, name: str) -> dict | None:
        """A private copy of the rule set called ``name``, or None."""
        found = next((r for r in self.rulesets if r.get("name") == name), None)
        return json_copy(found) if found is not None else None

    def template(self, name: str) -> dict | None:
        """A private copy of the message template called ``name``, or None."""
        found = next((t for t in self.templates if t.get("name") == name), None)
        return json_copy(found) if found is not None else None

    def layout(self, name: str) -> dict | None:
        """A private copy of the layout called ``name`` as written (hidden fields included), or None."""
        found = next((t for t in self.layouts if t.get("name") == name), None)
        return json_copy(found) if found is not None else None

    def layouts_for(self, entity_name: str) -> list[dict]:
        """Private copies of the layouts of ``entity_name``, in document order."""
        return [json_copy(t) for t in self.layouts if t.get("entity") == entity_name]

    def to_dict(self) -> dict:
        """Canonical form; ``Package.from_document(p.to_dict()) == p``.

        ``workflows`` / ``rulesets`` / ``templates`` / ``layouts`` are written only when
        there are some.
        """
        out: dict = {"entities": [e.to_dict() for e in self.entities]}
        if self.workflows:
            out["workflows"] = [w.to_dict() for w in self.workflows]
        if self.rulesets:
            out["rulesets"] = json_copy(list(self.rulesets))
        if self.templates:
            out["templates"] = json_copy(list(self.templates))
        if self.layouts:
            out["layouts"] = json_copy(list(self.layouts))
        for attr in ("roles", "permission_sets"):
            if getattr(self, attr):
                out[attr] = json_copy(list(getattr(self, attr)))
        if self.settings:
            out["settings"] = json_copy(self.settings)
        return out

    @classmethod
    def from_document(cls, doc: Mapping, extra_types: Mapping[str, str] | None = None) -> "Package":
        """Build the model WITHOUT validating (the document must already be valid).

        Use ``metadata.load_package`` for anything a user or file supplied.
        Top-level ``version`` / ``description`` are accepted but not kept.
        """
        from .workflow import Workflow  # workflow.py builds on this module

        return cls(
            entities=tuple(Entity.from_document(e, extra_types) for e in doc["entities"]),
            workflows=tuple(Workflow.from_document(w) for w in doc.get("workflows", ())),
            rulesets=tuple(json_copy(dict(r)) for r in doc.get("rulesets", ())),
            templates=tuple(json_copy(dict(t)) for t in doc.get("templates", ())),
            layouts=tuple(json_copy(dict(t)) for t in doc.get("layouts", ())),
            roles=tuple(json_copy(dict(r)) for r in doc.get("roles", ())),
            permission_sets=tuple(json_copy(dict(r)) for r in doc.get("permission_sets", ())),
            settings=json_copy(doc["settings"]) if doc.get("settings") else None,
        )
