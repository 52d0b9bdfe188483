"""Duplicate rules on the record form: a save the rules warn about shows its likely
duplicates after it (a message on the record's page), and one a blocking rule refuses
comes back to the form with the matches listed — each with its rule, score and reasons in
the user's language and a link to the record — and, when every rule that refused may be
overridden, a "Save anyway" button that sends the same values with the override."""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, g, request, url_for
from flask_babel import gettext as _

from admin_ui.formats import record_title
from admin_ui.i18n import language_of_request
from engine.dedup.rules import rules_of
from engine.errors import Conflict, NotFound
from metadata.language import text_in

OVERRIDE = "_allow_duplicates"  # the form field of the "Save anyway" button


@dataclass
class Refused(Exception):
    """A save a blocking rule refused: the matches as the panel shows them."""

    matches: list
    overridable: bool


def create(entity: dict, values: dict) -> dict:
    return _saved(entity, lambda allow: g.session.records.create(entity["name"], values, allow_duplicates=allow))


def update(entity: dict, record_id: int, values: dict, expected_version) -> dict:
    return _saved(entity, lambda allow: g.session.records.update(
        entity["name"], record_id, values, expected_version=expected_version, allow_duplicates=allow))


def _saved(entity: dict, write) -> dict:
    try:
        record = write(request.form.get(OVERRIDE) == "1")
    except Conflict as error:
        if error.code != "duplicate":
            raise
        matches = shown(entity, [p.to_dict() for p in error.problems])
        raise Refused(matches, all(m["overridable"] for m in matches if m["action"] == "block")) from None
    for match in shown(entity, record.get("_duplicates") or []):
        flash(_("This record may duplicate %(record)s: %(rule)s (score %(score)s; %(reasons)s).",
                record=match["title"], rule=match["rule"], score=match["score"], reasons=match["reasons"]))
    return record


def shown(entity: dict, matches: list[dict]) -> list[dict]:
    """The matches as the screens show them: the record's title (or its number, when the
    user may not read it), the rule's label and the reasons in the user's language."""
    language = language_of_request()
    rules = {r.name: r for r in rules_of(g.session.metadata(), entity["name"])}
    out = []
    for match in matches:
        rule = rules.get(match["rule"])
        if match["record_id"] is None:  # a record the user may not read: not which, nor why
            out.append({"title": _("A record you may not read"), "url": None, "action": match["action"],
                        "overridable": match["overridable"], "score": f"{match['score']:g}",
                        "rule": text_in(rule.label, language) if rule else match["rule"], "reasons": ""})
            continue
        try:
            title = record_title(entity, g.session.records.get(entity["name"], match["record_id"]))
            url = url_for("screens.record_page", entity=entity["name"], record_id=match["record_id"])
        except NotFound:
            title, url = f"#{match['record_id']}", None
        out.append({"title": title, "url": url, "action": match["action"], "overridable": match["overridable"],
                    "score": f"{match['score']:g}", "rule": text_in(rule.label, language) if rule else match["rule"],
                    "reasons": _reasons(rule, match, language) if rule else "; ".join(match["reasons"])})
    return out


def _reasons(rule, match: dict, language: str) -> str:
    def label(compared):
        return text_in(compared.label, language)

    if rule.exact:
        said = [_("same %(field)s", field=label(c)) for c in rule.exact]
    else:
        said = [_("%(field)s %(score)s%% alike", field=label(rule.fuzzy), score=f"{match['score']:g}")]
        said += [_("same %(field)s", field=label(c)) for c in rule.within]
    return "; ".join(said)
