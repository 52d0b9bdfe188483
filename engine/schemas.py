"""Marshmallow schemas generated from an entity's metadata.

They validate single-record writes (`load`) and describe records to apispec for the
OpenAPI document. Each field delegates to the type's converter in `engine.fieldtypes`,
the same one the batch loader uses, so both paths judge a value alike."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields

from engine.fieldtypes import CONVERTERS, FieldInvalid

SYSTEM_READONLY = ("id", "created_at", "updated_at", "created_by", "updated_by", "owner_id")

_OPENAPI = {
    "string": {"type": "string"}, "text": {"type": "string"},
    "email": {"type": "string", "format": "email"}, "phone": {"type": "string"},
    "url": {"type": "string", "format": "uri"}, "integer": {"type": "integer", "format": "int64"},
    "decimal": {"type": "string", "format": "decimal"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
    "choice": {"type": "string"}, "multi_choice": {"type": "array", "items": {"type": "string"}},
    "reference": {"type": "integer", "format": "int64"},
    "currency": {"type": "object", "properties": {
        "amount": {"type": "string", "format": "decimal"}, "currency": {"type": "string"}},
        "required": ["amount", "currency"]},
    "json": {},
}


MESSAGES = {"required": "is required", "null": "is required and cannot be null"}


def default_factory(meta_field):
    """The field's default, converted once; a fresh copy for every record."""
    import copy

    value = CONVERTERS[meta_field.base_type or meta_field.type](meta_field, meta_field.default)
    return lambda: copy.deepcopy(value)


class LoomField(fields.Field):
    """A marshmallow field for one metadata field."""

    def __init__(self, meta_field, custom_validate=None, **kwargs):
        self.meta_field = meta_field
        self.base = meta_field.base_type or meta_field.type
        self.custom_validate = custom_validate
        super().__init__(metadata={"openapi": openapi_property(meta_field)}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            value = CONVERTERS[self.base](self.meta_field, value)
            if self.custom_validate is not None:
                value = self.custom_validate(value)
        except (FieldInvalid, ValueError) as exc:
            raise ValidationError(str(exc)) from None
        return value


def openapi_property(meta_field) -> dict:
    base = meta_field.base_type or meta_field.type
    prop = dict(_OPENAPI[base])
    if base in ("choice",):
        prop["enum"] = list(meta_field.option_values())
    if base == "multi_choice":
        prop["items"] = {"type": "string", "enum": list(meta_field.option_values())}
    if meta_field.max_length:
        prop["maxLength"] = meta_field.max_length
    if meta_field.pattern:
        prop["pattern"] = meta_field.pattern
    if base == "integer":
        if meta_field.min is not None:
            prop["minimum"] = meta_field.min
        if meta_field.max is not None:
            prop["maximum"] = meta_field.max
    label = meta_field.label.get("en") or next(iter(meta_field.label.values()), meta_field.name)
    prop["title"] = label
    if meta_field.help:
        prop["description"] = meta_field.help.get("en") or next(iter(meta_field.help.values()))
    if base == "reference":
        prop["description"] = f"id of a {meta_field.to} record"
    return prop


def entity_schema(entity, validators=None, for_update=False) -> Schema:
    """The input schema of an entity: required fields and defaults on create;
    everything optional and read-only fields refused on update."""
    validators = validators or {}
    attrs = {}
    for f in entity.fields:
        if for_update and f.readonly:
            continue
        kwargs = {"allow_none": not f.required, "error_messages": MESSAGES}
        if not for_update:
            if f.required and not f.has_default:
                kwargs["required"] = True
            elif f.has_default:
                kwargs["load_default"] = default_factory(f)
        attrs[f.name] = LoomField(f, validators.get(f.type), **kwargs)
    name = f"{entity.name.title().replace('_', '')}{'Update' if for_update else 'Create'}"
    cls = type(name, (Schema,), {**attrs, "Meta": type("Meta", (), {"unknown": RAISE})})
    return cls()


def output_schema(entity) -> Schema:
    """The record as the API returns it (for the OpenAPI document)."""
    attrs = {
        "id": fields.Integer(metadata={"openapi": {"type": "integer", "format": "int64"}}),
        "version": fields.Integer(),
        "created_at": fields.DateTime(), "updated_at": fields.DateTime(),
        "created_by": fields.Integer(allow_none=True), "updated_by": fields.Integer(allow_none=True),
        "owner_id": fields.Integer(allow_none=True),
    }
    for f in entity.fields:
        attrs[f.name] = LoomField(f, allow_none=not f.required)
    return type(f"{entity.name.title().replace('_', '')}Record", (Schema,), attrs)()


def errors_to_details(messages, prefix="") -> list[dict]:
    """Marshmallow's nested error dict as a flat list of {field, message}."""
    details = []
    for key, value in sorted(messages.items(), key=lambda kv: str(kv[0])):
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            details += errors_to_details(value, prefix=f"{path}.")
        else:
            for message in value if isinstance(value, list) else [value]:
                if message == "Unknown field.":
                    message = f"unknown field '{key}'"
                details.append({"field": path, "message": str(message)})
    return details
