"""Checks JSON Schema cannot express: names, types, references, defaults, ranges.

Every check inspects only values of the right JSON type and skips the rest
(the schema layer reports those), so this module never raises on any JSON and
never reports the same mistake twice.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from .errors import Problem, pointer
from .fields_of import fields_by_name
from .fieldtypes import (
    BOUND_HINTS, COMMON_PROPERTIES, REQUIRED_PROPERTIES, TYPE_PROPERTIES, parse_bound,
    show, value_problem,
)
from .identifiers import identifier_problem
from .match_checks import match_problems, settings_problems
from .model import DECIMAL_TYPES, DEFAULT_PRECISION, DEFAULT_SCALE, Field, Option
from .pii import ENCRYPTABLE_TYPES, ENCRYPTED_CLASSES, pii_class
from .regex import pattern_problem

MAX_FIELDS = 500
# System columns a composite index may name besides the entity's own fields.
INDEXABLE_SYSTEM_COLUMNS = ("created_at", "updated_at", "owner_id")
UNINDEXABLE_TYPES = ("multi_choice", "json")
MAX_INDEX_FIELDS = 8  # as the entity schema says
# Keys the field schema defines; unknown keys are the schema layer's to report.
FIELD_KEYS = COMMON_PROPERTIES.union(*TYPE_PROPERTIES.values())


def _a(word: str) -> str:
    """'an integer', 'a string': messages are read by people."""
    return ("an " if word[:1] in ("a", "e", "i", "o") else "a ") + word


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def semantic_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """All semantic problems of a (possibly malformed) package document.

    ``types`` maps every known field type name to its built-in base type.
    """
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    entities = document["entities"]
    entity_names = [e.get("name") for e in entities if isinstance(e, dict) and isinstance(e.get("name"), str)]
    problems: list[Problem] = []
    first_seen: dict[str, int] = {}
    # Database index names, package-wide: the tables and the fields' own indexes first.
    index_names: dict[str, str] = {}
    for i, entity in enumerate(entities):
        if isinstance(entity, dict) and isinstance(entity.get("name"), str):
            index_names.setdefault(entity["name"], f"the table of {pointer('entities', i)}")
            for name in _field_index_names(entity, types):
                index_names.setdefault(name, f"a field index of {pointer('entities', i)}")
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict):
            continue
        name = entity.get("name")
        if isinstance(name, str):
            path = pointer("entities", i, "name")
            message = identifier_problem(name, "entity")
            if message:
                problems.append(Problem(path, "unsafe_identifier", message))
            if name in first_seen:
                problems.append(Problem(path, "duplicate_name",
                                        f"entity name {show(name)} is already used by /entities/{first_seen[name]}"))
            else:
                first_seen[name] = i
        fields = entity.get("fields")
        if isinstance(fields, list):
            problems += _entity_fields(fields, i, entity_names, types)
        if isinstance(entity.get("indexes"), list):
            problems += _entity_indexes(entity, i, types, index_names)
    return problems + settings_problems(document.get("settings"))


def _field_index_names(entity: dict, types) -> list[str]:
    """The (unhashed) names of the indexes the fields' own flags ask for."""
    names = []
    fields = entity.get("fields") if isinstance(entity.get("fields"), list) else []
    for field in fields:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            continue
        base = types.get(field.get("type")) if isinstance(field.get("type"), str) else None
        if field.get("unique") is True:
            names.append(f"ux_{entity['name']}_{field['name']}")
        elif field.get("indexed") is True or base == "reference":
            names.append(f"ix_{entity['name']}_{field['name']}")
    return names


def _entity_indexes(entity: dict, i: int, types, index_names: dict) -> list[Problem]:
    """Composite indexes: known, indexable, distinct fields; distinct field lists and names.

    ``index_names`` (name -> path, shared by the whole package) catches two indexes
    that would get the same database name: PostgreSQL names indexes per schema.
    """
    problems: list[Problem] = []
    by_name = fields_by_name(entity)
    entity_name = entity.get("name") if isinstance(entity.get("name"), str) else None
    seen_lists: dict[tuple, int] = {}
    for k, index in enumerate(entity["indexes"]):
        if not isinstance(index, dict) or not isinstance(index.get("fields"), list) \
                or not 1 <= len(index["fields"]) <= MAX_INDEX_FIELDS:
            continue  # the schema reports it
        path = pointer("entities", i, "indexes", k)
        names = index["fields"]
        seen: set = set()
        for n, name in enumerate(names):
            if not isinstance(name, str):
                continue
            where = f"{path}/fields/{n}"
            if name in seen:
                problems.append(Problem(where, "duplicate_name", f"field {show(name)} is listed twice in this index"))
                continue
            seen.add(name)
            field = by_name.get(name)
            if field is None and name not in INDEXABLE_SYSTEM_COLUMNS:
                known = ", ".join(list(by_name) + list(INDEXABLE_SYSTEM_COLUMNS))
                problems.append(Problem(where, "unknown_field",
                                        f"{show(name)} is not a field of this entity; fields: {known}"))
            elif field is not None and types.get(field.get("type")) in UNINDEXABLE_TYPES:
                problems.append(Problem(where, "not_indexable",
                                        f"{show(name)} is a {field.get('type')} field, which cannot be indexed"))
            elif field is not None and pii_class(field.get("pii")) in ENCRYPTED_CLASSES:
                problems.append(Problem(where, "not_indexable",
                                        f"{show(name)} is encrypted at rest ({field['pii']}): it cannot be part "
                                        "of a composite index (give the field unique or indexed instead)"))
        key = tuple(n for n in names if isinstance(n, str))
        if len(key) == len(names):
            if key in seen_lists:
                problems.append(Problem(path + "/fields", "duplicate_index",
                                        f"the same fields are already indexed by "
                                        f"{pointer('entities', i, 'indexes', seen_lists[key])}"))
                continue
            seen_lists[key] = k
        complete = key if len(key) == len(names) else ()  # else no name can be derived
        problems += _index_name(index, path, entity_name, complete, index_names)
    return problems


def _index_name(index: dict, path: str, entity_name, fields: tuple, index_names: dict) -> list[Problem]:
    explicit = index.get("name")
    if isinstance(explicit, str):
        message = identifier_problem(explicit, "index")
        if message:
            return [Problem(path + "/name", "unsafe_identifier", message)]
        name, where = explicit, path + "/name"
    elif explicit is None and entity_name is not None and fields:
        prefix = "ux" if index.get("unique") is True else "ix"
        name, where = f"{prefix}_{entity_name}_{'_'.join(fields)}", path + "/fields"
    else:
        return []
    if name in index_names:
        return [Problem(where, "duplicate_name",
                        f"index name {show(name)} is already used by {index_names[name]}"
                        + ("" if explicit else "; give this index a \"name\""))]
    index_names[name] = path
    return []


def _entity_fields(fields: list, i: int, entity_names, types) -> list[Problem]:
    problems: list[Problem] = []
    if len(fields) > MAX_FIELDS:
        problems.append(Problem(pointer("entities", i, "fields"), "too_many_fields",
                                f"an entity may have at most {MAX_FIELDS} fields; this one has {len(fields)}"))
    first_seen: dict[str, int] = {}
    for j, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        path = pointer("entities", i, "fields", j)
        name = field.get("name")
        if isinstance(name, str):
            message = identifier_problem(name, "field")
            if message:
                problems.append(Problem(path + "/name", "unsafe_identifier", message))
            if name in first_seen:
                problems.append(Problem(path + "/name", "duplicate_name",
                                        f"field name {show(name)} is already used by "
                                        f"{pointer('entities', i, 'fields', first_seen[name])}"))
            else:
                first_seen[name] = j
        problems += _field(field, path, entity_names, types)
    return problems


def _field(doc: dict, path: str, entity_names, types) -> list[Problem]:
    type_name = doc.get("type")
    if not isinstance(type_name, str):
        return []
    if type_name not in types:
        return [Problem(path + "/type", "unknown_type",
                        f"unknown field type {show(type_name)}; expected one of: {', '.join(types)}")]
    base = types[type_name]
    allowed = COMMON_PROPERTIES | TYPE_PROPERTIES[base]
    problems: list[Problem] = []
    for key in doc:
        if key in FIELD_KEYS and key not in allowed:
            extra = sorted(TYPE_PROPERTIES[base])
            hint = f"; {_a(type_name)} field accepts: {', '.join(extra)}" if extra else ""
            problems.append(Problem(f"{path}/{key}", "property_not_allowed",
                                    f"{show(key)} does not apply to {_a(type_name)} field{hint}"))
    for key in REQUIRED_PROPERTIES.get(base, ()):
        if key not in doc:
            problems.append(Problem(f"{path}/{key}", "missing_property",
                                    f"{_a(type_name)} field needs {show(key)}"))
    spec = {k: v for k, v in doc.items() if k in allowed}
    problems += _pattern(spec, path)
    problems += _precision(spec, path, base)
    problems += _options(spec, path)
    problems += _reference(spec, path, entity_names)
    problems += _bounds(spec, path, base, type_name)
    problems += _default(spec, path, base, type_name)
    problems += _encryption(doc, path, base, type_name)
    problems += match_problems(spec, path, base, type_name)
    return problems


def _encryption(doc, path, base, type_name) -> list[Problem]:
    """A class encrypted at rest asks for a type whose value fits one encrypted column."""
    pii = pii_class(doc.get("pii"))
    if pii in ENCRYPTED_CLASSES and base not in ENCRYPTABLE_TYPES:
        return [Problem(path + "/pii", "not_encryptable",
                        f"{show(pii)} values are encrypted at rest, which {_a(type_name)} field cannot be; "
                        f"use {show('contact')} or {show('financial')}, or a text, number or date field")]
    return []


def _pattern(spec, path) -> list[Problem]:
    pattern = spec.get("pattern")
    if isinstance(pattern, str):
        error = pattern_problem(pattern)
        if error:
            return [Problem(path + "/pattern", "invalid_pattern",
                            f"pattern {show(pattern)} is not a pattern Loom can match: {error}")]
    return []


def _precision_scale(spec, base):
    """Effective (precision, scale), or None when either given value is malformed."""
    if base not in DECIMAL_TYPES:
        return None
    precision, scale = spec.get("precision", DEFAULT_PRECISION), spec.get("scale", DEFAULT_SCALE)
    if not (_int(precision) and 1 <= precision <= 38 and _int(scale) and 0 <= scale <= 38):
        return None
    return precision, scale


def _precision(spec, path, base) -> list[Problem]:
    effective = _precision_scale(spec, base)
    if effective and effective[1] > effective[0]:
        precision, scale = effective
        where = "scale" if "scale" in spec else "precision"
        return [Problem(f"{path}/{where}", "invalid_precision",
                        f"scale {scale} is larger than precision {precision}"
                        + ("" if "scale" in spec and "precision" in spec else
                           f" (defaults: precision {DEFAULT_PRECISION}, scale {DEFAULT_SCALE})"))]
    return []


def _option_value(option):
    if isinstance(option, str):
        return option
    if isinstance(option, dict) and isinstance(option.get("value"), str):
        return option["value"]
    return None


def _options(spec, path) -> list[Problem]:
    options = spec.get("options")
    if not isinstance(options, list):
        return []
    problems, seen = [], set()
    for k, option in enumerate(options):
        value = _option_value(option)
        if value is None:
            continue  # not text: reported by the schema
        where = f"{path}/options/{k}" + ("" if isinstance(option, str) else "/value")
        if not value.strip():
            problems.append(Problem(where, "invalid_option", "option value must not be empty"))
        elif value in seen:
            problems.append(Problem(where, "duplicate_option", f"option {show(value)} is listed more than once"))
        seen.add(value)
    return problems


def _reference(spec, path, entity_names) -> list[Problem]:
    problems = []
    target = spec.get("to")
    if isinstance(target, str) and target not in entity_names:
        known = ", ".join(entity_names) or "none"
        problems.append(Problem(path + "/to", "missing_reference_target",
                                f"reference target {show(target)} is not an entity in this package; "
                                f"entities: {known}"))
    if spec.get("on_delete") == "set_null" and spec.get("required") is True:
        problems.append(Problem(path + "/on_delete", "contradictory",
                                "on_delete 'set_null' cannot be combined with required: true "
                                "(a required reference cannot be emptied); use 'restrict' or 'cascade'"))
    return problems


def _bounds(spec, path, base, type_name) -> list[Problem]:
    problems, parsed = [], {}
    for key in ("min", "max"):
        if key in spec and isinstance(spec[key], (int, float, str)) and not isinstance(spec[key], bool):
            value = parse_bound(base, spec[key])
            if value is None:
                problems.append(Problem(f"{path}/{key}", "invalid_bound",
                                        f"{key} must be {BOUND_HINTS[base]} for {_a(type_name)} field, "
                                        f"got {show(spec[key])}"))
            else:
                parsed[key] = value
    if len(parsed) == 2 and parsed["min"] > parsed["max"]:
        problems.append(Problem(path + "/max", "invalid_range",
                                f"min {show(spec['min'])} is greater than max {show(spec['max'])}"))
    return problems


def _default(spec, path, base, type_name) -> list[Problem]:
    if "default" not in spec:
        return []
    if base == "reference":
        return [Problem(path + "/default", "invalid_default", "a reference field cannot have a default")]
    message = value_problem(_sanitised_field(spec, base, type_name), spec["default"])
    if message:
        return [Problem(path + "/default", "invalid_default",
                        f"default does not fit this {type_name} field: {message}")]
    return []


def _sanitised_field(spec, base, type_name) -> Field:
    """A Field holding only the well-formed constraints, to judge the default against."""
    max_length = spec.get("max_length")
    pattern = spec.get("pattern")
    options = spec.get("options") if isinstance(spec.get("options"), list) else []
    values = [v for v in map(_option_value, options) if v is not None]
    effective = _precision_scale(spec, base)
    bad_range = bool(_bounds(spec, "", base, type_name))
    field = Field(
        name="default", type=type_name, label={}, base_type=base,
        required=spec.get("required") is True,
        max_length=max_length if _int(max_length) and max_length >= 1 else None,
        pattern=pattern if isinstance(pattern, str) and pattern_problem(pattern) is None else None,
        options=tuple(Option(v, {}) for v in values),
        min=None if bad_range else spec.get("min"),
        max=None if bad_range else spec.get("max"),
    )
    if effective and effective[1] <= effective[0]:
        field = dataclasses.replace(field, precision=effective[0], scale=effective[1])
    return field
