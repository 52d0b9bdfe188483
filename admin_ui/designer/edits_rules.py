"""The rules editor's edits of a draft document: plain functions from a document to a new
one — add a rule set with its first rule, add, change or remove a rule, and add, change or
remove one of a rule's actions. They write what the admin asked for; whether the result
is valid is the engine's check, shown beside the control (`engine.drafts`)."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import EditRefused, dicts, editable_list, named


def ruleset_of(document: dict, name: str) -> dict:
    return named(document, "rulesets", name, f"the draft has no rule set {name!r}")


def rule_index(ruleset: dict, name: str) -> int:
    for index, rule in enumerate(editable_list(ruleset, "rules")):
        if isinstance(rule, dict) and rule.get("name") == name:
            return index
    raise EditRefused(f"rule set {ruleset.get('name')!r} has no rule {name!r}")


def new_rule(name: str) -> dict:
    """A rule that listens to updates; an automation rule still needs its first action
    (the draft says so until one is added), a validation rule its message."""
    return {"name": name, "when": {"event": "record.updated"}}


def add_ruleset(document: dict, name: str, entity: str, kind: str, first_rule: str) -> dict:
    out = copy.deepcopy(document)
    editable_list(out, "rulesets").append({"name": name, "kind": kind, "entity": entity,
                                   "rules": [new_rule(first_rule)]})
    return out


def add_rule(document: dict, ruleset_name: str, name: str) -> dict:
    out = copy.deepcopy(document)
    editable_list(ruleset_of(out, ruleset_name), "rules").append(new_rule(name))
    return out


def set_trigger(document: dict, ruleset_name: str, rule_name: str, when: dict, extra: dict) -> dict:
    """The rule's `when`, and its `correlate` / `message` / `description` (each removed
    when None)."""
    out = copy.deepcopy(document)
    ruleset = ruleset_of(out, ruleset_name)
    rule = ruleset["rules"][rule_index(ruleset, rule_name)]
    rule["when"] = when
    for key, value in extra.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return out


def remove_rule(document: dict, ruleset_name: str, rule_name: str) -> dict:
    """The rule removed; a rule set left without rules is removed with it."""
    out = copy.deepcopy(document)
    ruleset = ruleset_of(out, ruleset_name)
    del ruleset["rules"][rule_index(ruleset, rule_name)]
    if not ruleset["rules"]:
        out["rulesets"] = [r for r in out["rulesets"] if r is not ruleset]
    return out


def _actions(document: dict, ruleset_name: str, rule_name: str) -> list:
    ruleset = ruleset_of(document, ruleset_name)
    return editable_list(ruleset["rules"][rule_index(ruleset, rule_name)], "actions")


def add_action(document: dict, ruleset_name: str, rule_name: str, action: str) -> dict:
    """An action with no parameters yet (its own check then says which it needs)."""
    out = copy.deepcopy(document)
    _actions(out, ruleset_name, rule_name).append({"action": action, "params": {}})
    return out


def set_params(document: dict, ruleset_name: str, rule_name: str, index: int, params: dict) -> dict:
    out = copy.deepcopy(document)
    actions = _actions(out, ruleset_name, rule_name)
    if not 0 <= index < len(actions) or not isinstance(actions[index], dict):
        raise EditRefused(f"rule {rule_name!r} has no action {index + 1}")
    actions[index]["params"] = params
    return out


def remove_action(document: dict, ruleset_name: str, rule_name: str, index: int) -> dict:
    out = copy.deepcopy(document)
    ruleset = ruleset_of(out, ruleset_name)
    rule = ruleset["rules"][rule_index(ruleset, rule_name)]
    actions = editable_list(rule, "actions")
    if not 0 <= index < len(actions):
        raise EditRefused(f"rule {rule_name!r} has no action {index + 1}")
    del actions[index]
    if not actions:
        del rule["actions"]
    return out
