"""Marshmallow schemas generated from an entity's metadata.

They validate single-record writes (`load`) and describe records to apispec for the
OpenAPI document. Each field delegates to the type's converter in `engine.fieldtypes`,
the same one the batch loader uses, so both paths judge a value alike."""
from __future__ import annotations

import copy
from dataclasses import replace

from marshmallow import RAISE, Schema, ValidationError, fields

from engine.fieldtypes import CONVERTERS, DECIMAL_RE, FieldInvalid
from engine.problem_codes import problem
from engine.records.dump import SYSTEM_FIELDS
from metadata.errors import Problem
from metadata.regex import IGNORE_CASE

_DECIMAL_INPUT = {"anyOf": [{"type": "string", "pattern": f"^{DECIMAL_RE.pattern}$"}, {"type": "number"}]}
_OPENAPI = {
    "string": {"type": "string"}, "text": {"type": "string"},
    "email": {"type": "string", "format": "email"}, "phone": {"type": "string"},
    "url": {"type": "string", "format": "uri"}, "integer": {"type": "integer", "format": "int64"},
    "decimal": _DECIMAL_INPUT, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
    "choice": {"type": "string"}, "multi_choice": {"type": "array", "items": {"type": "string"}},
    "reference": {"type": "integer", "format": "int64", "minimum": 1},
    "currency": {"type": "object", "additionalProperties": False, "properties": {
        "amount": _DECIMAL_INPUT, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "required": ["amount", "currency"]},
    "json": {},
}
# Records as the API returns them: decimals are always strings.
_OUTPUT = {"decimal": {"type": "string", "format": "decimal"},
           "currency": {"type": "object", "properties": {
               "amount": {"type": "string", "format": "decimal"}, "currency": {"type": "string"}},
               "required": ["amount", "currency"]}}

MESSAGES = {"required": "is required", "null": "is required and cannot be null"}
READ_ONLY = "is read-only"


def unknown_field_problem(key, readonly=frozenset()) -> Problem:
    """What is wrong with an input key that is not a writable field."""
    if key in SYSTEM_FIELDS or key in readonly:
        return problem(str(key), "read_only", READ_ONLY)
    return problem(str(key), "unknown_field", f"unknown field '{key}'")


def required_problem(name, given_null=False) -> Problem:
    return problem(name, "required", MESSAGES["null" if given_null else "required"])


def value_problem(name, exc: ValueError) -> Problem:
    """A converter's or a custom type's refusal of the value of field `name`."""
    if isinstance(exc, FieldInvalid):
        return exc.problem(name)
    return problem(name, "invalid", str(exc))


class _Said(str):
    """A marshmallow error message that keeps its problem (marshmallow keeps the string)."""

    problem: Problem


def default_factory(meta_field):
    """The field's default, converted once; a fresh copy for every record. A default
    that does not fit its field is reported on the field of each record that needs it."""
    try:
        value = CONVERTERS[meta_field.base_type or meta_field.type](meta_field, meta_field.default)
    except ValueError as exc:  # FieldInvalid included
        said = f"is missing, and its default {meta_field.default!r} does not fit: {exc}"

        def broken():
            raise FieldInvalid(said, "bad_default", default=meta_field.default)
        return broken
    return lambda: copy.deepcopy(value)


def _marshmallow_default(factory):
    def load_default():
        try:
            return factory()
        except FieldInvalid as exc:
            raise ValidationError(_said(exc.problem(""))) from None
    return load_default


def _said(found: Problem) -> _Said:
    said = _Said(found.message)
    said.problem = found
    return said


class LoomField(fields.Field):
    """A marshmallow field for one metadata field."""

    def __init__(self, meta_field, custom_validate=None, output=False, **kwargs):
        self.meta_field = meta_field
        self.base = meta_field.base_type or meta_field.type
        self.custom_validate = custom_validate
        prop = openapi_property(meta_field, output)
        if kwargs.get("allow_none") and "enum" in prop:
            prop["enum"].append(None)
        super().__init__(metadata={"openapi": prop}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            value = CONVERTERS[self.base](self.meta_field, value)
            if self.custom_validate is not None:
                value = self.custom_validate(value)
        except ValueError as exc:  # FieldInvalid included
            raise ValidationError(_said(value_problem("", exc))) from None
        return value


def openapi_property(meta_field, output=False) -> dict:
    """The OpenAPI property of a field's type and limits; the API document adds its title
    and description in the language it is written in."""
    base = meta_field.base_type or meta_field.type
    prop = copy.deepcopy(_OUTPUT.get(base, _OPENAPI[base]) if output else _OPENAPI[base])
    if base == "choice":
        prop["enum"] = list(meta_field.option_values())
    if base == "multi_choice":
        prop["items"] = {"type": "string", "enum": list(meta_field.option_values())}
        prop["uniqueItems"] = True
    if meta_field.max_length:
        prop["maxLength"] = meta_field.max_length
    if meta_field.pattern and not meta_field.pattern.startswith(IGNORE_CASE):  # ECMA has no inline flags
        prop["pattern"] = f"^(?:{meta_field.pattern})$"  # metadata patterns match the whole value
    if base == "integer":
        if meta_field.min is not None:
            prop["minimum"] = meta_field.min
        if meta_field.max is not None:
            prop["maximum"] = meta_field.max
    if base == "reference":
        prop["description"] = f"the id of a {meta_field.to} record"
    return prop


def entity_schema(entity, validators=None, for_update=False, readonly=False) -> Schema:
    """The input schema of an entity: required fields and defaults on create;
    everything optional and read-only fields refused on update (unless `readonly`:
    the system's own writes may set them)."""
    validators = validators or {}
    attrs = {}
    for f in entity.fields:
        if for_update and f.readonly and not readonly:
            continue
        kwargs = {"allow_none": not f.required, "error_messages": MESSAGES}
        if not for_update:
            if f.required and not f.has_default:
                kwargs["required"] = True
            elif f.has_default:
                kwargs["load_default"] = _marshmallow_default(default_factory(f))
        attrs[f.name] = LoomField(f, validators.get(f.type), **kwargs)
    name = f"{entity.name.title().replace('_', '')}{'Update' if for_update else 'Create'}{'System' if readonly else ''}"
    cls = type(name, (Schema,), {**attrs, "Meta": type("Meta", (), {"unknown": RAISE})})
    return cls()


def output_schema(entity) -> Schema:
    """The record as the API returns it (for the OpenAPI document)."""
    attrs = {
        "id": fields.Integer(required=True), "version": fields.Integer(required=True),
        "created_at": fields.DateTime(), "updated_at": fields.DateTime(),
        "created_by": fields.Integer(allow_none=True), "updated_by": fields.Integer(allow_none=True),
        "owner_id": fields.Integer(allow_none=True),
    }
    for f in entity.fields:
        attrs[f.name] = LoomField(f, output=True, allow_none=not f.required)
    return type(f"{entity.name.title().replace('_', '')}Record", (Schema,), attrs)()


def errors_to_details(messages, readonly=frozenset()) -> list[dict]:
    """Marshmallow's error dict as a flat list of problems ({field, code, message, ...}),
    sorted by field."""
    details = []
    for key, value in sorted(messages.items(), key=lambda kv: str(kv[0])):
        for message in value if isinstance(value, list) else [value]:
            details.append(_problem_of(str(key), message, readonly).to_dict())
    return details


def _problem_of(name: str, message, readonly) -> Problem:
    """The problem behind one of marshmallow's messages: ours keep theirs; marshmallow's
    own (missing, null, unknown) are its fixed words."""
    if isinstance(message, _Said):
        return replace(message.problem, path=name)
    if message == "Unknown field.":
        return unknown_field_problem(name, readonly)
    if message in (MESSAGES["required"], MESSAGES["null"]):
        return required_problem(name, message == MESSAGES["null"])
    return problem(name, "invalid", str(message))
