"""Compile one rule set into durable-rules definitions ("chunks") and fact builders.

A chunk holds the rules of one rule set for one event type, small enough for
durable-rules' limits: at most CHUNK_BUDGET durable rules (one per conjunction of a
rule's condition, see conditions.to_dnf), because one fact passing more than ~64 alpha
branches at once is refused with error 303, and at most MAX_PROPERTIES properties per
fact (255 is the hard limit, error 302).  Rules with the same ``changed`` fields share
chunks, so an update that touches none of a chunk's fields skips it without calling
durable-rules.

A fact carries only what the chunk's rules test: ``f_<field>`` normalised values,
``k<n>`` flags of contains / matches leaves that hold (decided by metadata.conditions),
``c<n>`` changed-flags, ``tt``/``tf`` the transition's states, and the marker
``ev`` every rule tests (a rule without it would also match durable-rules' own
session-state fact, and loop).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from metadata.conditions import compile_condition, compile_leaf

from .checks import analyze, check_ruleset
from .conditions import base_types, is_leaf, normalize, normalizer, to_dnf
from .correlation import parse_window
from .events import for_event, rule_events

EVENTS = {"record.created": "c", "record.updated": "u", "record.transitioned": "t", "timer": "m"}
CHUNK_BUDGET = 48
MAX_PROPERTIES = 230


class RulesetInvalid(ValueError):
    """A rule set that cannot be published; ``problems`` as check_ruleset reports them."""

    def __init__(self, problems: list[dict]):
        self.problems = problems
        super().__init__("; ".join(f"{p['field'] or '/'}: {p['message']}" for p in problems[:5]))


@dataclass(frozen=True, eq=False)   # identity: rules are compared as objects
class Rule:
    name: str
    index: int
    ruleset: str
    entity: str
    kind: str
    event: str
    changed: frozenset | None
    to: tuple | None
    from_: tuple | None
    condition: dict | None          # with values normalised to the field's kind
    written: dict | None            # the condition as written: what metadata.conditions decides
    holds: object                   # written, compiled by metadata.conditions (None: no condition)
    actions: tuple
    message: dict | None
    correlate: dict | None          # {"by", "count", "within": timedelta, "text"}


@dataclass
class Chunk:
    """One durable ruleset's worth of rules, and how to build its facts."""
    ruleset: str
    kind: str
    entity: str
    event: str
    rules: dict                      # rule name -> Rule
    definition: dict                 # durable rule name -> {"all": [{"m": ...}]}
    fields: list                     # (property, field, kind)
    flags: list                      # (property, field, op, value, base type): contains / matches
    changed: list                    # (property, frozenset of fields)
    transition: bool
    prefilter: frozenset | None      # None: any event; else: skip unless these changed
    key: str = field(default="", compare=False)
    readers: tuple = field(default=(), compare=False)   # (property, field, normalizer of its kind)
    flag_tests: tuple = field(default=(), compare=False)  # (property, the flag's leaf compiled)

    def __post_init__(self):
        self.readers = tuple((prop, name, normalizer(kind)) for prop, name, kind in self.fields)
        self.flag_tests = tuple((prop, compile_leaf(name, op, value, base))
                                for prop, name, op, value, base in self.flags)

    def fact(self, ctx, fact_id: int) -> dict:
        out = {"id": fact_id, "sid": "0", "ev": EVENTS[self.event]}
        record = ctx.record
        get = record.get
        for prop, name, read in self.readers:
            raw = get(name)
            if raw is not None:
                value = read(raw)
                if value is not None:
                    out[prop] = value
        for prop, test in self.flag_tests:
            if test(record):
                out[prop] = 1
        for prop, names in self.changed:
            if ctx.changed & names:
                out[prop] = 1
        if self.transition:
            for prop, value in (("tt", ctx.to), ("tf", ctx.from_)):
                if isinstance(value, str):
                    out[prop] = value
        return out


class _Names:
    """Property names of one chunk: record fields and contains / matches flags."""

    def __init__(self, kinds: dict):
        self.kinds, self.fields, self.flags = kinds, {}, {}

    def field(self, name: str) -> str:
        return self.fields.setdefault(name, "f_" + name)

    def flag(self, op: str, leaf: dict) -> str:
        return self.flags.setdefault((leaf["field"], op, leaf["value"]), f"k{len(self.flags)}")


def _normalized(node: dict, kinds: dict) -> dict:
    if not is_leaf(node):
        key = next(k for k in ("all", "any", "not") if k in node)
        inner = node[key]
        return {key: _normalized(inner, kinds) if key == "not" else [_normalized(c, kinds) for c in inner]}
    out = {"field": node["field"], "op": node["op"]}
    if "value" in node:
        kind, value = kinds.get(node["field"], "any"), node["value"]
        out["source_value"] = value
        if node["op"] in ("contains", "matches") or kind in ("any", "list"):
            out["value"] = value
        elif isinstance(value, list):  # duplicates would be $or branches passing together
            out["value"] = list(dict.fromkeys(normalize(kind, v) for v in value))
        else:
            out["value"] = normalize(kind, value)
    return out


def _states(value) -> tuple | None:
    return None if value is None else ((value,) if isinstance(value, str) else tuple(value))


def _rules(doc: dict, index: int, kinds: dict, types: dict) -> list[Rule]:
    """One Rule per event the rule listens to, each as if written for that event alone."""
    raw = doc["rules"][index]
    return [_rule(doc, index, for_event(raw, event), kinds, types) for event in rule_events(raw["when"])]


def _rule(doc: dict, index: int, raw: dict, kinds: dict, types: dict) -> Rule:
    when = raw["when"]
    correlate = raw.get("correlate")
    if correlate:
        correlate = dict(correlate, text=correlate["within"], within=parse_window(correlate["within"]))
    message = raw.get("message")
    return Rule(name=raw["name"], index=index, ruleset=doc["name"], entity=doc["entity"], kind=doc["kind"],
                event=when["event"],
                changed=frozenset(when["changed"]) if "changed" in when else None,
                to=_states(when.get("to")), from_=_states(when.get("from")),
                condition=_normalized(when["condition"], kinds) if "condition" in when else None,
                written=when.get("condition"),
                holds=compile_condition(when["condition"], types) if "condition" in when else None,
                actions=tuple(raw.get("actions", ())), correlate=correlate,
                message={"en": message} if isinstance(message, str) else message)


def _event_atoms(rule: Rule, chunk_changed: dict) -> list[dict]:
    atoms = [{"ev": EVENTS[rule.event]}]
    if rule.changed is not None:
        atoms.append({chunk_changed.setdefault(rule.changed, f"c{len(chunk_changed)}"): 1})
    for prop, states in (("tt", rule.to), ("tf", rule.from_)):
        if states:
            atoms.append({prop: states[0]} if len(states) == 1 else {"$or": [{prop: s} for s in states]})
    return atoms


def _build_chunk(doc: dict, event: str, rules: list, kinds: dict, types: dict) -> Chunk:
    names, changed, definition = _Names(kinds), {}, {}
    for rule in rules:
        head = _event_atoms(rule, changed)
        dnf = to_dnf(rule.condition, names) if rule.condition else [[]]
        for j, conjunction in enumerate(dnf):
            definition[f"{rule.name}__{j}"] = {"all": [{"m": {"$and": head + conjunction}}]}
    prefilter = None if any(r.changed is None for r in rules) else frozenset().union(*(r.changed for r in rules))
    chunk = Chunk(ruleset=doc["name"], kind=doc["kind"], entity=doc["entity"], event=event,
                  rules={r.name: r for r in rules}, definition=definition,
                  fields=[(prop, name, kinds.get(name, "any")) for name, prop in names.fields.items()],
                  flags=[(prop, *key, types.get(key[0])) for key, prop in names.flags.items()],
                  changed=[(prop, fields) for fields, prop in changed.items()],
                  transition=any(r.to or r.from_ for r in rules), prefilter=prefilter)
    chunk.key = json.dumps([doc["entity"], doc["name"], doc["kind"], event, definition, chunk.fields,
                            chunk.flags, [(p, sorted(f)) for p, f in chunk.changed],
                            [(r.index, doc["rules"][r.index]) for r in rules]], sort_keys=True, default=str)
    return chunk


def _properties(rule: Rule, kinds: dict) -> int:
    names = _Names(kinds)
    if rule.condition:
        to_dnf(rule.condition, names)
    return len(names.fields) + len(names.flags) + 1


def compile_ruleset(doc, entity_fields: dict | None = None, path_prefix: str = ""):
    """(rules, chunks, types) of one rule set — types: {field: the base type its conditions
    are decided with}; RulesetInvalid with every problem if it has any.

    A rule listening to several events gives one Rule per event (same name and index),
    each in its event's chunks: it fires exactly as rules written once per event would."""
    problems = check_ruleset(doc, entity_fields, None, path_prefix)
    if problems:
        raise RulesetInvalid(problems)
    kinds, _ = analyze(doc, entity_fields)
    types = base_types(kinds, entity_fields)
    rules = [rule for i in range(len(doc["rules"])) for rule in _rules(doc, i, kinds, types)]
    chunks: list[Chunk] = []
    for event in EVENTS:
        group = [r for r in rules if r.event == event]
        # Rules with the same changed fields side by side, so chunks can be skipped.
        group.sort(key=lambda r: (r.changed is not None, sorted(r.changed or ()), r.index))
        batch, cost, props = [], 0, 0
        sizes = {r.name: len(to_dnf(r.condition, _Names(kinds))) if r.condition else 1 for r in group}
        for rule in group:
            p = _properties(rule, kinds) + 4
            if batch and (cost + sizes[rule.name] > CHUNK_BUDGET or props + p > MAX_PROPERTIES):
                chunks.append(_build_chunk(doc, event, batch, kinds, types))
                batch, cost, props = [], 0, 0
            batch.append(rule)
            cost, props = cost + sizes[rule.name], props + p
        if batch:
            chunks.append(_build_chunk(doc, event, batch, kinds, types))
    return rules, chunks, types
