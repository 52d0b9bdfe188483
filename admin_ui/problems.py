"""Engine problems in the user's language, by their code and details alone.

The engine says what is wrong with a value or a workflow step by a code of
`engine.problem_codes` and its details (`metadata.errors.Problem`), with an English message
for the API. A screen words each code here; a guard's explanation names the field by its
label, its operator in words and its values as the user sees them. A code with no words here
keeps the engine's English message, so a new engine code is never lost, only untranslated."""
from __future__ import annotations

from typing import Callable, Mapping

from flask_babel import gettext as _

from metadata.errors import Problem

# code -> the words for its details (`d`); `f` is the field's view, when the problem has one.
TEXTS: dict[str, Callable[[Mapping, Mapping], str]] = {
    "required": lambda d, f: _("Required."),
    "required_if": lambda d, f: _("Required."),
    "not_text": lambda d, f: _("Enter text."),
    "too_long": lambda d, f: _("At most %(n)s characters.", n=d["max"]),
    "unstorable_text": lambda d, f: _("Remove the control characters from this text."),
    "not_email": lambda d, f: _("Enter an e-mail address such as name@example.com."),
    "not_phone": lambda d, f: _("Enter a phone number."),
    "not_url": lambda d, f: _("Enter a web address starting with https://."),
    "not_option": lambda d, f: _("Choose one of the options."),
    "not_option_list": lambda d, f: _("Choose one of the options."),
    "repeated_option": lambda d, f: _("Choose each option only once."),
    "not_integer": lambda d, f: _("Enter a whole number."),
    "out_of_range": lambda d, f: _("This value is too large or too small to be stored."),
    "not_number": lambda d, f: _("Enter a number."),
    "too_many_digits": lambda d, f: _("At most %(n)s digits before the decimal point.", n=d["digits"]),
    "too_many_decimals": lambda d, f: _("At most %(n)s decimal places.", n=d["places"]),
    "not_boolean": lambda d, f: _("Choose yes or no."),
    "not_date": lambda d, f: _("Enter a date."),
    "not_datetime": lambda d, f: _("Enter a date and time."),
    "below_min": lambda d, f: _("Must be at least %(n)s.", n=d["min"]),
    "above_max": lambda d, f: _("Must be at most %(n)s.", n=d["max"]),
    "not_money": lambda d, f: _("Enter an amount and a currency code."),
    "not_currency": lambda d, f: _("Enter a currency code such as CNY."),
    "not_json": lambda d, f: _("Enter valid JSON."),
    "pattern_mismatch": lambda d, f: _("This does not have the expected form."),
    "broken_pattern": lambda d, f: _("This field's format rule is broken: ask an administrator to fix it."),
    "not_reference": lambda d, f: _("Choose a record from the list."),
    "unknown_reference": lambda d, f: _("Choose a record from the list."),
    "bad_default": lambda d, f: _("This field's default value does not fit it: ask an administrator to fix it."),
    "not_filterable": lambda d, f: _("This field cannot be filtered by value."),
    "not_object": lambda d, f: _("The record could not be read."),
    "unknown_field": lambda d, f: _("The record has no such field: reload the page."),
    "read_only": lambda d, f: _("This field cannot be changed."),
    "already_used": lambda d, f: _("Another record already has this value."),
    "combination_used": lambda d, f: _("Another record already has this combination of values."),
    "repeated_in_batch": lambda d, f: _("Another record of the same batch has this value."),
    "not_your_value": lambda d, f: _("Choose a value that is shared with you."),
    "starts_at": lambda d, f: _("A new record starts at the workflow's first stage."),
    "set_by_workflow": lambda d, f: _("The stage changes only through a workflow step."),
    "guard_failed": lambda d, f: guard_text(d, f),
    "required_for_step": lambda d, f: _("Fill this in for this step."),
    "comment_required": lambda d, f: _("A comment is required for this step."),
    "comment_too_long": lambda d, f: _("At most %(n)s characters.", n=d["max"]),
    "transition_blocked": lambda d, f: _("This step is not possible now."),
    "illegal_transition": lambda d, f: _("This step is not possible from the current state."),
    "role_not_allowed": lambda d, f: _("Your role may not take this step."),
    "approver_role": lambda d, f: _("This step needs approvals by the role %(role)s (%(given)s of %(needed)s "
                                    "given); ask someone with that role.", role=d["role"], given=d["given"],
                                    needed=d["needed"]),
    "already_approved": lambda d, f: _("You already approved this step; it needs more approvals."),
    "values_with_approval": lambda d, f: _("This step needs approvals: save the fields first, then approve."),
    "state_changed": lambda d, f: _("Someone moved this record meanwhile: reload it and try again."),
    "not_role": lambda d, f: _("Choose one of the roles."),
    "token_label": lambda d, f: _("Name the token (what it is for), in at most 200 characters."),
    "not_entity_name": lambda d, f: _("Enter an entity's name: lowercase letters, digits and _."),
    "until_before_since": lambda d, f: _("The end is before the start."),
    "not_in_range": lambda d, f: _("Enter a whole number from %(min)s to %(max)s.", min=d["min"], max=d["max"]),
    # an import's rows (`engine.imports`)
    "repeated_key": lambda d, f: _("Row %(row)s of the file has the same key: keep one of them.", row=d["row"]),
    "ambiguous_key": lambda d, f: _("The key names %(count)s records: use a key that names one.", count=d["count"]),
    "formula_not_computed": lambda d, f: _("Cell %(cell)s holds a formula with no computed value: open the workbook "
                                           "in a spreadsheet, save it and import it again.", cell=d["cell"]),
    "spreadsheet_error": lambda d, f: _("Cell %(cell)s holds a spreadsheet error (such as #N/A): correct it in the "
                                        "workbook.", cell=d["cell"]),
    # the codes of whole errors, which their problems take when they have none of their own
    "duplicate": lambda d, f: (_("This looks like record %(id)s (score %(score)s).", id=d["record_id"],
                                  score=d["score"]) if d.get("record_id") is not None
                               else _("This looks like a record you may not read (score %(score)s).",
                                      score=d["score"])),
    "unique_violation": lambda d, f: _("Another record already has this value."),
    "stale_version": lambda d, f: _("Someone else saved this record first."),
}
# An error's own code, said of the error as a whole (a problem with this code is a plugin's
# refusal without a code of its own: its message says more).
HEADLINES: dict[str, Callable[[], str]] = {
    "validation_failed": lambda: _("Some values are not valid."),
    "read_only": lambda: _("This record is shared with you to read, not to change."),
    "record_not_found": lambda: _("There is no such record, or you may not see it."),
    "unknown_transition": lambda: _("The workflow has no such transition."),
    "user_exists": lambda: _("A user with this e-mail already exists."),
    "user_not_found": lambda: _("There is no such user."),
    "manager_cycle": lambda: _("That manager would make the chain of managers loop."),
    "last_admin": lambda: _("This is the last active admin: make another user an admin first."),
    "self_deactivation": lambda: _("You cannot deactivate yourself; another admin can."),
    "user_inactive": lambda: _("The user is deactivated: reactivate them first."),
    "token_revoked": lambda: _("The token is already revoked."),
    "rule_not_testable": lambda: _("The rule cannot be tried yet: correct its problems below."),
    "invalid_rules": lambda: _("The rule cannot be tried yet: correct its problems below."),
}
# Codes whose message is someone else's words (a plugin's field type or check): shown as given.
AS_GIVEN = frozenset({"invalid"})

# A guard's leaf in words: the operator it must meet (`passed` false) or, under a `not`, the
# operator it must not (`passed` true: the negation's words).
GUARD_WORDS: dict[str, Callable[..., str]] = {
    "eq": lambda **k: _("%(field)s must be %(value)s (it is %(actual)s).", **k),
    "ne": lambda **k: _("%(field)s must not be %(value)s.", **k),
    "gt": lambda **k: _("%(field)s must be more than %(value)s (it is %(actual)s).", **k),
    "gte": lambda **k: _("%(field)s must be at least %(value)s (it is %(actual)s).", **k),
    "lt": lambda **k: _("%(field)s must be less than %(value)s (it is %(actual)s).", **k),
    "lte": lambda **k: _("%(field)s must be at most %(value)s (it is %(actual)s).", **k),
    "in": lambda **k: _("%(field)s must be one of %(value)s (it is %(actual)s).", **k),
    "not_in": lambda **k: _("%(field)s must not be any of %(value)s (it is %(actual)s).", **k),
    "contains": lambda **k: _("%(field)s must contain %(value)s (it is %(actual)s).", **k),
    "not_contains": lambda **k: _("%(field)s must not contain %(value)s (it is %(actual)s).", **k),
    "matches": lambda **k: _("%(field)s must have the form %(value)s (it is %(actual)s).", **k),
    "not_matches": lambda **k: _("%(field)s must not have the form %(value)s (it is %(actual)s).", **k),
    "exists": lambda **k: _("%(field)s must be filled in.", **k),
    "not_exists": lambda **k: _("%(field)s must be empty (it is %(actual)s).", **k),
}
NEGATED = {"eq": "ne", "ne": "eq", "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt", "in": "not_in",
           "not_in": "in", "contains": "not_contains", "matches": "not_matches", "exists": "not_exists",
           "not_exists": "exists"}


def translated(code: str, message: str, details: Mapping | None = None, field: Mapping | None = None) -> str:
    """A problem's words in the request's language (the English `message` for a code without
    words here, or when its details are not the ones its words need)."""
    say = TEXTS.get(code)
    if say is None or code in AS_GIVEN:
        return message
    try:
        return say(details or {}, field or {})
    except KeyError:  # details of another shape than the code's: the engine's words stay right
        return message


def text(problem: Problem, fields: Mapping | None = None) -> str:
    """`problem` in words; `fields` the entity's field views by name (labels, choices)."""
    return translated(problem.code, problem.message, problem.details, (fields or {}).get(problem.path))


def texts(error, fields: Mapping | None = None) -> list[str]:
    """A LoomError in words: each of its problems, or the error itself when it has none."""
    return [text(p, fields) for p in error.problems] or [headline(error.code, error.message)]


def headline(code: str, message: str) -> str:
    """An error's own code and message in words (its problems say the rest); an error code
    is not a problem's: `read_only` of a record is not `read_only` of a field."""
    say = HEADLINES.get(code)
    return say() if say is not None else message


def guard_text(details: Mapping, field: Mapping) -> str:
    """A guard's failed leaf: the field by its label, the operator in words, the values as
    the user sees them."""
    op = details["op"] if not details.get("passed") else NEGATED[details["op"]]
    return GUARD_WORDS[op](field=field.get("label") or field.get("name") or "?",
                           value=shown(details.get("value"), field), actual=shown(details.get("actual"), field))


def shown(value, field: Mapping) -> str:
    """A value as the user sees it: an option by its label, yes/no, a list joined."""
    if value is None or value == "" or value == []:
        return _("empty")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return _(", ").join(shown(v, field) for v in value)
    labels = {c["value"]: c["label"] for c in field.get("choices", ())}
    return str(labels.get(value, value) if isinstance(value, str) else value)


def by_field(error) -> tuple[dict, list[str]]:
    """A LoomError's problems as `{field: [text, ...]}` and the texts naming no field."""
    fields, general = {}, []
    for problem in error.problems:
        said = text(problem)
        if problem.path:
            fields.setdefault(problem.path, []).append(said)
        else:
            general.append(said)
    return fields, general
