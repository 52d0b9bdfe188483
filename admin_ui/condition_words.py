"""A condition of the one condition language said in words, in the request's language,
with the fields' and choices' labels ("Tier is one of Gold, Silver and (Lifetime value is
greater than 100 or E-mail is empty)"): what the designer's tables and the lists' default
filter show. Only words: what a condition means is `metadata.conditions`'."""
from __future__ import annotations

import json

from flask_babel import gettext as _

from admin_ui.i18n import shown
from metadata.conditions import NO_VALUE_OPS

MATCHES = ("all", "any")


def op_words() -> dict:
    """Each operator in words, in the request's language."""
    return {"eq": _("is"), "ne": _("is not"), "gt": _("is greater than"), "gte": _("is at least"),
            "lt": _("is less than"), "lte": _("is at most"), "in": _("is one of"), "not_in": _("is none of"),
            "contains": _("contains"), "matches": _("matches the pattern"), "exists": _("has a value"),
            "not_exists": _("is empty")}


def describe(condition, entity_doc: dict, language: str | None = None) -> str:
    """`condition` in words, with the fields' and choices' labels ("Status is Reported")."""
    if condition is None:
        return _("always")
    fields = entity_doc.get("fields") if isinstance(entity_doc, dict) else None
    labels = {f.get("name"): f for f in fields if isinstance(f, dict)} if isinstance(fields, list) else {}
    return _words(condition, labels, op_words(), 0)


def _words(cond, labels: dict, words: dict, depth: int) -> str:
    if not isinstance(cond, dict):
        return json.dumps(cond, ensure_ascii=False)
    key = next((k for k in ("all", "any", "not") if k in cond), None)
    if key == "not":
        return _("not (%(inner)s)", inner=_words(cond["not"], labels, words, depth + 1))
    if key in MATCHES and isinstance(cond[key], list):
        joiner = _(" and ") if key == "all" else _(" or ")
        inner = joiner.join(_words(c, labels, words, depth + 1) for c in cond[key])
        return f"({inner})" if depth and len(cond[key]) > 1 else inner
    name, op = cond.get("field"), cond.get("op")
    doc = labels.get(name, {})
    subject = shown(doc.get("label"), str(name))
    verb = words.get(op, str(op))
    if op in NO_VALUE_OPS:
        return f"{subject} {verb}"
    value = cond.get("value")
    values = value if isinstance(value, list) else [value]
    said = ", ".join(_choice_label(doc, v) for v in values)
    return f"{subject} {verb} {said}"


def _choice_label(field_doc: dict, value) -> str:
    for option in field_doc.get("options") or []:
        if isinstance(option, dict) and option.get("value") == value:
            return shown(option.get("label"), str(value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)
