"""An entity's duplicate rules: their normal form and the checks JSON Schema cannot make.

A rule matches a record with the entity's existing ones either exactly (every field of
``match.exact`` has the same normalised key) or by similarity (``match.fuzzy``, a text
field compared with a rapidfuzz scorer, among the records sharing every ``within``
field exactly), and says what entry does with a match: ``warn`` (the record is written
and the matches are returned), ``block`` (refused, unless ``overridable`` and the user
overrides) or ``allow`` (not checked at entry; the duplicate report still lists it).
Like ``semantic``, the checks inspect only values of the right JSON type."""

from __future__ import annotations

import copy
from typing import Mapping

from .errors import Problem, pointer
from .fields_of import fields_by_name
from .pii import ENCRYPTED_CLASSES, pii_class

DEFAULT_SCORER = "token_sort_ratio"
DEFAULT_THRESHOLD = 90
FUZZY_TYPES = ("string", "text")
# Types whose values compare as keys: not lists, documents or yes/no.
UNMATCHABLE_TYPES = ("multi_choice", "json", "boolean")


def normal_duplicate_rules(rules) -> tuple:
    """The rules with a language-map label, `overridable` set and a fuzzy rule's scorer
    and threshold filled in."""
    from .model import default_label, language_map  # the model imports this module

    out = []
    for rule in rules or ():
        rule = copy.deepcopy(dict(rule))
        rule["label"] = language_map(rule.get("label")) or default_label(rule["name"])
        rule["overridable"] = bool(rule.get("overridable", False))
        match = rule["match"]
        if "fuzzy" in match:
            match.setdefault("scorer", DEFAULT_SCORER)
            match.setdefault("threshold", DEFAULT_THRESHOLD)
        out.append(rule)
    return tuple(out)


def duplicate_rule_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """Problems of every entity's ``duplicate_rules`` in a (possibly malformed) package."""
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    problems: list[Problem] = []
    for i, entity in enumerate(document["entities"]):
        rules = entity.get("duplicate_rules") if isinstance(entity, dict) else None
        if not isinstance(rules, list):
            continue
        fields = fields_by_name(entity)
        seen: dict[str, int] = {}
        for k, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            path = pointer("entities", i, "duplicate_rules", k)
            name = rule.get("name")
            if isinstance(name, str):
                if name in seen:
                    problems.append(Problem(f"{path}/name", "duplicate_name",
                                            f"duplicate rule {name!r} is already defined at "
                                            f"{pointer('entities', i, 'duplicate_rules', seen[name])}"))
                seen.setdefault(name, k)
            problems += _rule_problems(rule, path, fields, types)
    return problems


def _rule_problems(rule: dict, path: str, fields: dict, types) -> list[Problem]:
    problems: list[Problem] = []
    match = rule.get("match")
    if not isinstance(match, dict):
        return problems
    exact, fuzzy = match.get("exact"), match.get("fuzzy")
    if ("exact" in match) == ("fuzzy" in match):
        problems.append(Problem(f"{path}/match", "match_kind",
                                "a rule matches either exactly ({\"exact\": [fields]}) or by similarity "
                                "({\"fuzzy\": field, \"within\": [fields]}), not both and not neither"))
        return problems
    if "exact" in match:
        extra = [key for key in ("scorer", "threshold", "within") if key in match]
        if extra:
            problems.append(Problem(f"{path}/match/{extra[0]}", "fuzzy_only",
                                    f"{extra[0]!r} belongs to a fuzzy rule; an exact rule names only its fields"))
        if isinstance(exact, list):
            problems += _field_list(exact, f"{path}/match/exact", fields, types)
    else:
        if isinstance(fuzzy, str):
            problems += _fuzzy_field(fuzzy, f"{path}/match/fuzzy", fields, types)
        within = match.get("within")
        if within is None:
            problems.append(Problem(f"{path}/match", "needs_within",
                                    "a fuzzy rule compares only records sharing a blocking field: give "
                                    "\"within\": [\"city\"] (or another field) so matching stays fast"))
        elif isinstance(within, list):
            problems += _field_list(within, f"{path}/match/within", fields, types)
    if rule.get("overridable") is True and rule.get("action") != "block":
        problems.append(Problem(f"{path}/overridable", "not_blocking",
                                f"only a block rule can be overridden; this rule's action is "
                                f"{rule.get('action')!r}"))
    return problems


def _field_list(names: list, path: str, fields: dict, types) -> list[Problem]:
    problems, seen = [], set()
    for n, name in enumerate(names):
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(Problem(f"{path}/{n}", "duplicate_name", f"field {name!r} is listed twice"))
            continue
        seen.add(name)
        problem = _matchable(name, f"{path}/{n}", fields, types)
        if problem:
            problems.append(problem)
    return problems


def _matchable(name: str, path: str, fields: dict, types) -> Problem | None:
    field = fields.get(name)
    if not isinstance(field, dict):
        known = ", ".join(str(n) for n in fields)
        return Problem(path, "unknown_field", f"{name!r} is not a field of this entity; fields: {known}")
    kind = field.get("type")
    base = types.get(kind) if isinstance(kind, str) else None
    if base in UNMATCHABLE_TYPES:
        return Problem(path, "not_matchable", f"{name!r} is a {kind} field, whose values cannot be matched")
    if pii_class(field.get("pii")) in ENCRYPTED_CLASSES:
        return Problem(path, "not_matchable",
                       f"{name!r} is encrypted at rest ({field['pii']}): the database cannot compare its values")
    return None


def _fuzzy_field(name: str, path: str, fields: dict, types) -> list[Problem]:
    problem = _matchable(name, path, fields, types)
    if problem:
        return [problem]
    kind = fields[name].get("type")
    if types.get(kind) not in FUZZY_TYPES:
        return [Problem(path, "not_text", f"{name!r} is a {kind} field; a fuzzy rule compares a string or text field")]
    return []
