"""The batch path's validator: the marshmallow schema's rules in one tight loop.

Imports of 100,000 records cannot afford marshmallow's per-record machinery; this loader
applies the same converters, the same required/default/unknown rules and the same
messages (a property test holds the two paths to identical results)."""
from __future__ import annotations

from engine.fieldtypes import converter_of
from engine.problem_codes import problem
from engine.schemas import default_factory, required_problem, unknown_field_problem, value_problem

_MISSING = object()


class BatchLoader:
    def __init__(self, entity, validators=None):
        validators = validators or {}
        self.specs = []
        for f in entity.fields:
            self.specs.append((
                f.name, f, converter_of(f),
                f.required and not f.has_default, f.required,
                default_factory(f) if f.has_default else None,
                validators.get(f.type),
            ))
        self.names = frozenset(f.name for f in entity.fields)

    def load_one(self, data) -> tuple[dict, list]:
        """(values, [Problem, ...]) for one input object, each problem's path its field."""
        if not isinstance(data, dict):
            return {}, [problem("", "not_object", "must be an object")]
        errors = [] if self.names.issuperset(data) else [
            unknown_field_problem(key) for key in data if key not in self.names]
        values = {}
        for name, field, convert, required, not_null, default, custom in self.specs:
            value = data.get(name, _MISSING)
            try:
                if value is _MISSING:
                    if required:
                        errors.append(required_problem(name))
                    elif default is not None:
                        values[name] = default()
                    continue
                if value is None:
                    if not_null:
                        errors.append(required_problem(name, given_null=True))
                    else:
                        values[name] = None
                    continue
                value = convert(field, value)
                if custom is not None:
                    value = custom(value)
            except ValueError as exc:  # FieldInvalid included
                errors.append(value_problem(name, exc))
                continue
            values[name] = value
        return values, errors
