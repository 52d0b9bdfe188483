"""Conditional fields on the server: which fields a record shows (`visible_if`) and which it
needs (`required_if`), judged by the one condition language (`metadata.conditions`) on the
record in its JSON form — as it will be after a write, or as a form holds it unsaved.

A field whose `visible_if` is false is never required by its `required_if`, and its value
is kept as it is: hiding a field clears nothing (a record that turns back shows the value
again). Every write of the record service (create, create_many, update, a workflow step
with its values) refuses a record on which a visible field's `required_if` holds while the
field is empty, with the problem code `required_if` and the condition's explanation."""
from __future__ import annotations

from metadata.conditions import evaluate_condition, explain_condition, is_empty
from metadata.errors import Problem

from engine.errors import ValidationFailed
from engine.problem_codes import problem


def visible(entity, field, record: dict) -> bool:
    """Whether `field` (a metadata Field) shows on `record`: it has no visible_if, or it holds."""
    return field.visible_if is None or evaluate_condition(field.visible_if, record, entity)


def required(entity, field, record: dict) -> bool:
    """Whether `field` needs a value on `record`: statically, or by a required_if that holds
    while the field is visible."""
    if field.required:
        return True
    return (field.required_if is not None and visible(entity, field, record)
            and evaluate_condition(field.required_if, record, entity))


def conditional(entity) -> bool:
    """Whether a field of `entity` has a required_if (without one, `missing` finds nothing:
    a write need not put its record in JSON form to ask)."""
    return any(field.required_if is not None for field in entity.fields)


def missing(entity, record: dict) -> list[Problem]:
    """A `required_if` problem for each empty field `record` needs by a required_if (path: the
    field's name; details: `required_if`, the leaves of the condition as explained)."""
    return [problem(field.name, "required_if", "is required",
                    required_if=explain_condition(field.required_if, record, entity))
            for field in entity.fields
            if field.required_if is not None and is_empty(record.get(field.name))
            and required(entity, field, record)]


class ConditionalWrites:
    """The record service's step that enforces required_if on the record after a write."""

    def _require_conditions(self, entity, record: dict) -> None:
        """Refuse the write when `record` (JSON form, as it will be written) lacks a value
        its required_if asks for."""
        problems = missing(entity, record)
        if problems:
            raise ValidationFailed(f"invalid {entity.name} record", details=problems)
