"""The codes of the problems a record's values and a workflow step are refused with, and the
details each problem carries: the one table the engine raises from, the screens translate
and the API's documentation lists.

A problem (`metadata.errors.Problem`) keeps its English `message` for the API and the CLI;
its `code` and `details` say the same for a machine, so a client can word it in its own
language. `problem` builds one and refuses a code or details this table does not declare:
an engine problem the table misses is a bug, found by the first test that meets it.
"""
from __future__ import annotations

from dataclasses import dataclass

from metadata.errors import Problem


@dataclass(frozen=True)
class Code:
    name: str
    details: tuple[str, ...]
    meaning: str


_TABLE = (
    # a field's value
    Code("required", (), "the field needs a value (missing or null)"),
    Code("required_if", ("required_if",),
         "the field's `required_if` condition holds while it is empty (`required_if`: the condition's leaves, explained)"),
    Code("not_text", (), "a text value was expected"),
    Code("too_long", ("max", "length"), "longer than the field's `max` characters (`length` given)"),
    Code("unstorable_text", (), "text with NUL or other control characters, or unpaired surrogates"),
    Code("not_email", (), "not an e-mail address"),
    Code("not_phone", (), "not a phone number"),
    Code("not_url", (), "not an http(s) URL"),
    Code("not_option", ("options",), "not one of the field's `options` (their values, in order)"),
    Code("not_option_list", (), "a list of options was expected"),
    Code("repeated_option", (), "an option given twice"),
    Code("not_integer", (), "not a whole number"),
    Code("out_of_range", (), "a number or date beyond what can be stored"),
    Code("not_number", (), "not a (finite) number"),
    Code("too_many_digits", ("digits",), "more than `digits` digits before the decimal point"),
    Code("too_many_decimals", ("places",), "more than `places` decimal places"),
    Code("not_boolean", (), "not true or false"),
    Code("not_date", (), "not a date as YYYY-MM-DD"),
    Code("not_datetime", (), "not an ISO 8601 date and time"),
    Code("below_min", ("min",), "less than the field's `min`"),
    Code("above_max", ("max",), "more than the field's `max`"),
    Code("not_money", (), "not an object {\"amount\", \"currency\"}"),
    Code("not_currency", (), "not an ISO 4217 currency code"),
    Code("not_json", (), "a JSON value both databases cannot store (too deep, non-text keys, NUL, infinity)"),
    Code("pattern_mismatch", ("pattern",), "does not match the field's `pattern`"),
    Code("broken_pattern", ("pattern",), "the field's `pattern` cannot be checked; an admin must change it"),
    Code("not_reference", ("entity",), "not the id of an `entity` record"),
    Code("unknown_reference", ("entity", "id"), "no `entity` record with this `id` (or none you may read)"),
    Code("bad_default", ("default",), "the field is missing and its `default` does not fit it"),
    Code("not_filterable", (), "a field whose values cannot be filtered by"),
    Code("invalid", (), "refused by a plugin's field type or check; the message is the plugin's"),
    # a record's keys and its place among others
    Code("not_object", (), "a record must be a JSON object of fields"),
    Code("unknown_field", (), "the entity has no such field"),
    Code("read_only", (), "a read-only or system field"),
    Code("already_used", ("holder",), "a unique field's value already held by the record `holder`"),
    Code("combination_used", ("fields", "holder"), "the unique combination of `fields` already held by `holder`"),
    Code("repeated_in_batch", ("index",), "a unique value repeating the batch's record at `index`"),
    Code("not_your_value", ("attribute",), "a value outside your user attribute `attribute`"),
    Code("duplicate", ("record_id", "score", "rule", "label", "action", "overridable", "reasons"),
         "the record looks like the existing `record_id` by the duplicate rule `rule` (`label`), `score` 0-100 "
         "and `reasons`; `action` block refuses it unless `overridable` and allow_duplicates=true"),
    Code("starts_at", ("state",), "a new record starts in the workflow's first `state`"),
    Code("set_by_workflow", (), "the state field changes only through a transition"),
    # a workflow step
    Code("guard_failed", ("op", "value", "actual", "passed"),
         "the step's guard: the field's condition `op` `value` is false (`passed` false), or true where it "
         "must not be (`passed` true, under a `not`); `actual` is what the record holds"),
    Code("required_for_step", ("transition",), "the field must be filled before the step `transition`"),
    Code("comment_required", ("transition",), "the step `transition` needs a comment"),
    Code("comment_too_long", ("max",), "a comment longer than `max` characters"),
    Code("transition_blocked", (), "the step is refused by its guard or required fields: the problems listed"),
    Code("illegal_transition", ("transition", "state"), "the step `transition` does not leave the state `state`"),
    Code("role_not_allowed", ("transition", "roles", "role"),
         "the step `transition` is for the `roles`; the caller's role is `role`"),
    Code("approver_role", ("transition", "role", "given", "needed", "your_role"),
         "the step needs approvals by `role` (`given` of `needed`); the caller's role is `your_role`"),
    Code("already_approved", ("transition",), "the caller approved the step `transition` already"),
    Code("values_with_approval", ("transition",), "fields cannot be written with a step that needs approvals"),
    Code("state_changed", ("state",), "the record moved to `state` meanwhile"),
)

CODES: dict[str, Code] = {code.name: code for code in _TABLE}
RESERVED = frozenset({"field", "code", "message"})  # a detail entry's own keys in the API's format


def check(code: str, details) -> None:
    """Refuse (KeyError, TypeError: a bug, never a user's mistake) a code the table does not
    declare or details other than the code's."""
    declared = CODES[code].details
    if set(details) != set(declared):
        raise TypeError(f"problem {code} carries {sorted(details)}, declared {sorted(declared)}")


def problem(path: str, code: str, message: str, **details) -> Problem:
    """A problem of a declared code with exactly its declared details."""
    check(code, details)
    return Problem(path, code, message, details)


def refusal(error, code: str, message: str, **details):
    """A refused step as the LoomError class `error` whose one problem (at no field)
    carries `code` and its `details`."""
    return error(message, code=code, details=[problem("", code, message, **details)])
