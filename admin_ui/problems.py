"""Engine problems in the user's language: the record service reports a field's problem
in English (`metadata.errors.Problem`: field, code, message); a screen shows it next to
the field in the request's language.

Problems are matched first by their code (when the code alone says what is wrong), then
by the shape of the engine's message (the record service gives every field problem the
same code, `validation_failed`, and says what is wrong in the message). A problem
matching nothing keeps the engine's English message, so a new engine message is never
lost, only untranslated."""
from __future__ import annotations

import re

from flask_babel import gettext as _

BY_CODE = {
    "unique_violation": lambda m: _("Another record already has this value."),
    "stale_version": lambda m: _("Someone else saved this record first."),
    "role_not_allowed": lambda m: _("Your role may not take this step."),
    "approver_role": lambda m: _("This step needs an approval from another role."),
    "already_approved": lambda m: _("You already approved this step; it needs more approvals."),
    "illegal_transition": lambda m: _("This step is not possible from the current state."),
}

BY_MESSAGE = [
    (r"is required( and cannot be null)?|a value is required", lambda m: _("Required.")),
    (r"must be at most (?P<n>\d+) characters.*", lambda m: _("At most %(n)s characters.", n=m["n"])),
    (r".* is not a valid e-mail address", lambda m: _("Enter an e-mail address such as name@example.com.")),
    (r".* is not a valid phone number", lambda m: _("Enter a phone number.")),
    (r".* is not a valid http\(s\) URL", lambda m: _("Enter a web address starting with https://.")),
    (r".* is not one of.*|must not repeat an option|must be a list of options",
     lambda m: _("Choose one of the options.")),
    (r"must be a whole number|.* is not a whole number|is out of range.*", lambda m: _("Enter a whole number.")),
    (r"must be a (finite )?number|.* is not a number such as .*", lambda m: _("Enter a number.")),
    (r"must have at most (?P<n>\d+) decimal places", lambda m: _("At most %(n)s decimal places.", n=m["n"])),
    (r"must have at most (?P<n>\d+) digits before the decimal point",
     lambda m: _("At most %(n)s digits before the decimal point.", n=m["n"])),
    (r"must be at least (?P<n>\S+)", lambda m: _("Must be at least %(n)s.", n=m["n"])),
    (r"must be at most (?P<n>\S+)", lambda m: _("Must be at most %(n)s.", n=m["n"])),
    (r".*(is not|must be) a date as YYYY-MM-DD", lambda m: _("Enter a date.")),
    (r".*(is not|must be) an ISO 8601 date and time.*", lambda m: _("Enter a date and time.")),
    (r".* is not an ISO 4217 currency code.*", lambda m: _("Enter a currency code such as CNY.")),
    (r"must be \{\"amount\".*", lambda m: _("Enter an amount and a currency code.")),
    (r".* does not match the pattern .*", lambda m: _("This does not have the expected form.")),
    (r"must be filled before .*", lambda m: _("Fill this in for this step.")),
    (r"no \w+ record with id .*|must be the id \(a whole number\) of a record in .*",
     lambda m: _("Choose a record from the list.")),
    (r"'.*' needs a comment", lambda m: _("A comment is required for this step.")),
    (r"is read-only", lambda m: _("This field cannot be changed.")),
    (r"must be valid JSON", lambda m: _("Enter valid JSON.")),
]
_COMPILED = [(re.compile(pattern), say) for pattern, say in BY_MESSAGE]


def translated(code: str, message: str) -> str:
    """The problem's text in the request's language (the English message when unknown)."""
    say = BY_CODE.get(code)
    if say is not None:
        return say(None)
    for pattern, say in _COMPILED:
        found = pattern.fullmatch(message or "")
        if found:
            return say(found)
    return message


def by_field(error) -> tuple[dict, list[str]]:
    """A LoomError's problems as `{field: [text, ...]}` and the texts naming no field."""
    fields, general = {}, []
    for problem in error.problems:
        text = translated(problem.code, problem.message)
        if problem.path:
            fields.setdefault(problem.path, []).append(text)
        else:
            general.append(text)
    return fields, general
