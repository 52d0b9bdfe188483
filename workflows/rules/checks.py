"""check_ruleset: every problem of one rule set at once, each at the JSON Pointer of its spot.

The JSON Schema (ruleset.schema.json) checks the shape; this module turns its errors
into plain words and adds what a schema cannot know: the entity's fields and their
types, the action registry, value kinds, the regex dialect and durable-rules' limits.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .conditions import (
    NO_VALUE_OPS, OPS, OPS_BY_KIND, ORDERING, TYPE_KINDS, TooComplex, is_leaf, normalize, pattern_problem,
    to_dnf, value_kind,
)

SCHEMA_PATH = Path(__file__).with_name("ruleset.schema.json")
# System columns every entity has (metadata.conditions.SYSTEM_FIELD_TYPES; copied to keep
# the rules engine free of imports).
SYSTEM_FIELD_TYPES = {"id": "integer", "created_at": "datetime", "updated_at": "datetime",
                      "created_by": "integer", "updated_by": "integer", "owner_id": "integer",
                      "version": "integer"}
MAX_DEPTH = 8
MAX_FIELDS = 200   # durable-rules refuses facts with more than 255 properties
MAX_PATTERNS = 20  # each `matches` runs in Python for every event of its type


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator
    return Draft202012Validator(schema())


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(path: str, code: str, message: str) -> dict:
    return {"field": path, "code": code, "message": message}


# --- schema errors in plain words ------------------------------------------------------

_NOT_ALLOWED = {
    "actions": ("actions_not_allowed", "validation rules have no actions: they refuse the write with their message"),
    "message": ("message_not_allowed", "only validation rules have a message; automation rules have actions"),
    "correlate": ("correlate_not_allowed", "validation rules cannot correlate events"),
    "changed": ("changed_not_allowed", "'changed' applies to record.updated rules only"),
    "to": ("transition_not_allowed", "'to' applies to record.transitioned rules only"),
    "from": ("transition_not_allowed", "'from' applies to record.transitioned rules only"),
    "value": ("unexpected_value", "exists / not_exists take no value; remove it"),
}
_NAME_RULE = "lower-case letters, digits and single underscores, starting with a letter, at most 48 characters"


def _schema_problems(error, prefix: str) -> list[dict]:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path]
    path = prefix + "".join("/" + p for p in parts)
    last = parts[-1] if parts else ""
    kind, inst = error.validator, error.instance
    if kind == "required":
        name = error.message.split("'")[1]
        if name == "message":
            return [_problem(f"{path}/message", "missing_message",
                             "validation rules need a message: the refusal the user sees")]
        if name == "actions":
            return [_problem(f"{path}/actions", "missing_actions", "automation rules need at least one action")]
        return [_problem(f"{path}/{name}", "missing", f"{name!r} is required")]
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return [_problem(f"{path}/{key}", "unknown_property",
                         f"unknown property {key!r}; expected one of: {', '.join(allowed)}")
                for key in inst if key not in allowed]
    if kind == "not":
        if error.validator_value == {"pattern": "__"}:
            return [_problem(path, "unsafe_name", f"{_show(inst)} contains '__'; {_NAME_RULE}")]
        keys = [k for k in _NOT_ALLOWED if isinstance(inst, dict) and k in inst]
        return [_problem(f"{path}/{k}", *_NOT_ALLOWED[k]) for k in keys
                if k in json.dumps(error.validator_value)] or [_problem(path, "invalid", error.message)]
    if kind == "enum":
        code = {"op": "unknown_op", "event": "unknown_event"}.get(last, "invalid_value")
        return [_problem(path, code, f"{_show(inst)} is not allowed here; expected one of: "
                                     f"{', '.join(map(str, error.validator_value))}")]
    if kind == "pattern":
        if last == "name" or (len(parts) == 1 and last == "entity"):
            return [_problem(path, "unsafe_name", f"{_show(inst)} is not a safe name: {_NAME_RULE}")]
        if last == "within":
            return [_problem(path, "invalid_window", f"{_show(inst)} is not a window such as 90m, 12h or 30d")]
        return [_problem(path, "invalid_value", f"{_show(inst)} is not a valid name here")]
    if kind == "type":
        return [_problem(path, "invalid_type", f"expected {error.validator_value}, got {_show(inst)}")]
    if kind == "maxProperties" and isinstance(inst, dict):
        return [_problem(path, "invalid_condition",
                         "all / any / not must stand alone; put the other conditions inside it")]
    if kind == "oneOf":
        what = "text or a language map such as {\"en\": \"...\"}" if last == "message" else \
            "a state name or a list of state names"
        return [_problem(path, "invalid_value", f"expected {what}, got {_show(inst)}")]
    return [_problem(path, "invalid_value", error.message)]


# --- what a schema cannot see ------------------------------------------------------------


def _leaves(node, path: str, depth: int = 0):
    """(path, leaf, depth) of every well-formed leaf; malformed parts are the schema's job."""
    if not isinstance(node, dict):
        return
    if is_leaf(node):
        yield path, node, depth
        return
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            for k, child in enumerate(node[key]):
                yield from _leaves(child, f"{path}/{key}/{k}", depth + 1)
    if "not" in node:
        yield from _leaves(node["not"], f"{path}/not", depth + 1)


def _conditions(doc):
    """(rule index, condition path, condition) of every rule with a condition."""
    rules = doc.get("rules") if isinstance(doc, dict) else None
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        when = rule.get("when") if isinstance(rule, dict) else None
        if isinstance(when, dict) and isinstance(when.get("condition"), dict):
            yield i, f"/rules/{i}/when/condition", when["condition"]


def _implied_kind(leaf: dict, ftype: str | None):
    """(kind, problem message) for one leaf; kind None when the leaf implies none."""
    op, value = leaf["op"], leaf.get("value")
    if ftype is not None:
        return TYPE_KINDS.get(ftype, "string"), None
    if op in NO_VALUE_OPS or op == "contains":
        return None, None
    if op == "matches":
        return "string", None
    values = value if isinstance(value, list) else [value]
    kinds = {value_kind(v) for v in values}
    if None in kinds or len(kinds) != 1:
        return None, f"{_show(value)} mixes kinds or holds a value rules cannot compare"
    return kinds.pop(), None


def analyze(doc, entity_fields: dict | None = None):
    """(kinds, problems): the kind each field is compared as, and what does not fit.

    Used by check_ruleset and by the compiler, so both agree on every field's kind.
    """
    kinds: dict[str, str] = {}
    where: dict[str, str] = {}
    problems: list[dict] = []
    fields = {**SYSTEM_FIELD_TYPES, **entity_fields} if entity_fields is not None else None
    for _, cpath, condition in _conditions(doc):
        for path, leaf, depth in _leaves(condition, cpath):
            if depth > MAX_DEPTH:
                problems.append(_problem(path, "too_deep", f"conditions may nest at most {MAX_DEPTH} levels"))
                continue
            name, op = leaf.get("field"), leaf.get("op")
            if not isinstance(name, str) or op not in OPS:
                continue
            if fields is not None and name not in fields:
                problems.append(_problem(f"{path}/field", "unknown_field", f"unknown field {name!r}"))
                continue
            ftype = fields.get(name) if fields is not None else None
            kind, why = _implied_kind(leaf, ftype)
            if why:
                problems.append(_problem(f"{path}/value", "type_mismatch", why))
                continue
            problems += _leaf_problems(leaf, kind, ftype, path)
            if kind is None or ftype is not None:
                kinds.setdefault(name, kind or "any")
                continue
            if kinds.get(name, "any") not in ("any", kind):
                problems.append(_problem(f"{path}/value", "type_conflict",
                                         f"{name!r} is compared as a {kinds[name]} at {where[name]} "
                                         f"and as a {kind} here; compare one field as one kind"))
                continue
            kinds[name], where[name] = kind, path
    if fields is not None:
        kinds.update({name: TYPE_KINDS.get(fields[name], "string") for name in kinds if name in fields})
    return kinds, problems


def _leaf_problems(leaf: dict, kind: str | None, ftype: str | None, path: str) -> list[dict]:
    op, value = leaf["op"], leaf.get("value")
    typed = f"the {ftype} field {leaf['field']!r}" if ftype else f"{leaf['field']!r}"
    if kind in OPS_BY_KIND and op not in OPS_BY_KIND[kind]:
        usable = ", ".join(o for o in OPS if o in OPS_BY_KIND[kind])
        return [_problem(f"{path}/op", "op_not_allowed", f"{op!r} does not apply to {typed} ({kind}); use one of: {usable}")]
    if op in ORDERING and kind not in ("number", "moment"):
        return [_problem(f"{path}/op", "op_not_allowed", f"{op!r} compares numbers and dates, not {_show(value)}")]
    if op == "matches":
        why = pattern_problem(value)
        return [_problem(f"{path}/value", "invalid_pattern", f"{_show(value)}: {why}")] if why else []
    if op == "contains":
        ok = isinstance(value, str) and value != ""
        return [] if ok else [_problem(f"{path}/value", "invalid_value", "'contains' needs non-empty text")]
    if op in NO_VALUE_OPS or kind is None:
        return []
    values = value if isinstance(value, list) else [value]
    suffix = (lambda k: f"/value/{k}") if isinstance(value, list) else (lambda k: "/value")
    out = []
    for k, item in enumerate(values):
        if item == "":
            out.append(_problem(path + suffix(k), "invalid_value",
                                "compare with a non-empty value; use exists / not_exists for empty fields"))
        elif isinstance(item, (str, int, float, bool)) and normalize(kind, item) is None:
            out.append(_problem(path + suffix(k), "type_mismatch", f"{_show(item)} does not fit {typed} ({kind})"))
    return out


class _Names:
    """Stand-in for the compiler's property names, to measure a condition's expansion."""

    def field(self, name):
        return "f"

    def flag(self, kind, leaf):
        return "k"


def _rule_problems(doc, fields, known_actions) -> list[dict]:
    problems, seen = [], {}
    rules = doc.get("rules") if isinstance(doc.get("rules"), list) else []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        name = rule.get("name")
        if isinstance(name, str):
            if name in seen:
                problems.append(_problem(f"/rules/{i}/name", "duplicate_name",
                                         f"{name!r} is also the name of rule {seen[name]}"))
            seen.setdefault(name, i)
        when = rule.get("when") if isinstance(rule.get("when"), dict) else {}
        changed = when.get("changed") if isinstance(when.get("changed"), list) else []
        for k, field in enumerate(changed):
            if fields is not None and isinstance(field, str) and field not in fields:
                problems.append(_problem(f"/rules/{i}/when/changed/{k}", "unknown_field", f"unknown field {field!r}"))
        correlate = rule.get("correlate")
        if fields is not None and isinstance(correlate, dict) and isinstance(correlate.get("by"), str) \
                and correlate["by"] not in fields:
            problems.append(_problem(f"/rules/{i}/correlate/by", "unknown_field", f"unknown field {correlate['by']!r}"))
        actions = rule.get("actions") if isinstance(rule.get("actions"), list) else []
        for j, action in enumerate(actions):
            act = action.get("action") if isinstance(action, dict) else None
            if known_actions is not None and isinstance(act, str) and act not in known_actions:
                problems.append(_problem(f"/rules/{i}/actions/{j}/action", "unknown_action",
                                         f"unknown action {act!r}; known: {', '.join(sorted(known_actions)) or 'none'}"))
    return problems


def check_ruleset(doc, entity_fields: dict[str, str] | None = None, known_actions: set[str] | None = None,
                  path_prefix: str = "") -> list[dict]:
    """Every problem of the rule set ``doc`` as ``{"field": pointer, "code", "message"}``; [] if valid.

    ``entity_fields`` maps the entity's field names to their types (unknown fields and
    type mismatches are reported only when given); ``known_actions`` names the action
    registry; ``path_prefix`` is the rule set's own pointer, e.g. "/rulesets/0".
    """
    problems, seen = [], set()
    for error in _validator().iter_errors(doc):
        for p in _schema_problems(error, path_prefix):
            if (p["field"], p["code"]) not in seen:
                seen.add((p["field"], p["code"]))
                problems.append(p)
    if not isinstance(doc, dict):
        return problems
    fields = {**SYSTEM_FIELD_TYPES, **entity_fields} if entity_fields is not None else None
    _, found = analyze(doc, entity_fields)
    found += _rule_problems(doc, fields, known_actions)
    for _, cpath, condition in _conditions(doc):
        try:
            if all(depth <= MAX_DEPTH for _, _, depth in _leaves(condition, cpath)):
                to_dnf(condition, _Names())
        except TooComplex as exc:
            found.append(_problem(cpath, "too_complex", f"{exc}; split the rule or simplify its any / not"))
        except (KeyError, TypeError, AttributeError, IndexError):
            pass  # malformed: reported by the schema
    used = {leaf.get("field") for _, c, cond in _conditions(doc) for _, leaf, _ in _leaves(cond, c)}
    if len(used) > MAX_FIELDS:
        found.append(_problem("/rules", "too_complex", f"the rules test {len(used)} fields; at most {MAX_FIELDS}"))
    patterns = sum(1 for _, c, cond in _conditions(doc) for _, leaf, _ in _leaves(cond, c) if leaf.get("op") == "matches")
    if patterns > MAX_PATTERNS:
        found.append(_problem("/rules", "too_complex", f"the rules use {patterns} 'matches'; at most {MAX_PATTERNS}"))
    reported = {p["field"] for p in problems}
    return problems + [dict(p, field=path_prefix + p["field"]) for p in found
                       if path_prefix + p["field"] not in reported]
