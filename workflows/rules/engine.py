"""RulesEngine: tenants' rule sets on durable-rules, evaluated synchronously.

Behaviours of durable-rules 2.0.28 this adapter is built around (tests pin them):
- ``post`` (an event) fires only the first matching rule; ``assert_fact`` fires all,
  so each evaluation asserts one fact and retracts it again.
- Every sid keeps state in C memory (thousands of sids: MemoryError); one fact
  passing more than ~64 alpha branches fails with 303; > 255 properties with 302.
  So: one sid per durable ruleset, rules split into chunks (compiler.py), facts carry
  only the fields the chunk tests, states of idle chunks are deleted.
- Actions are handed out one at a time per state, under a lease: an action started
  and not completed blocks the state and later firings are silently lost, and
  ``delete_state`` with unstarted actions corrupts the heap.  So the adapter drives
  actions itself (start_action_for_state / complete_and_start_action), always drains
  them, and reads the rule from the action message instead of running callbacks.
- The Host's dispatch threads would take queued actions from under us and index
  rulesets we delete: the Host here has none.
- A ruleset name registers once and ``delete_ruleset`` frees little C memory, so a
  publish reuses the durable rulesets of chunks that did not change.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass

import durable_rules_engine as dre
from durable.engine import Host

from .compiler import Chunk, RulesetInvalid, compile_ruleset
from .conditions import explain as explain_condition
from .correlation import CorrelationStore, InMemoryCorrelationStore, event_time

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_SID = "0"
_fact_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False), built once


class RulesEngineError(RuntimeError):
    """durable-rules failed on an event (not: no rule matched, which is normal)."""


@dataclass(frozen=True)
class Firing:
    tenant: str
    ruleset: str
    rule: str
    kind: str
    event_id: object
    actions: tuple            # the rule's action dicts, verbatim
    message: dict | None      # validation rules: the refusal message (language map)
    correlation_key: object = None


class _Host(Host):
    """A durable Host without dispatch threads, that can also forget a ruleset."""

    def _run(self):
        pass

    def remove(self, name: str) -> None:
        ruleset = self._ruleset_directory.pop(name, None)
        if ruleset is not None:
            self._ruleset_list.remove(ruleset)
            dre.delete_ruleset(ruleset._handle)

    def names(self) -> list[str]:
        return list(self._ruleset_directory)


def _noop(c):
    pass


def _fire(handle: int, text: str) -> list[str]:
    """Assert the fact, complete every action it queued, retract it: the durable rule names."""
    fired: list[str] = []
    try:
        code, state = dre.assert_fact(handle, text)
        if code == 0:
            started = dre.start_action_for_state(handle, state)
            if not started:
                raise RulesEngineError("durable-rules matched but handed out no action (state leased)")
            message = started[1]
            while message:
                fired.append(message[2:message.index('"', 2)])  # {"<rule>": ...}; names are identifiers
                message = dre.complete_and_start_action(handle, state)
    except BaseException as exc:
        _reset(handle, text)
        if isinstance(exc, dre.error):
            raise RulesEngineError(str(exc)) from exc
        raise
    dre.retract_fact(handle, text)
    return fired


def _reset(handle: int, text: str) -> None:
    """Leave the state empty after a failure: complete queued actions, retract the fact."""
    try:
        started = dre.start_action(handle)
        while started:
            started = dre.complete_and_start_action(handle, started[2]) and started
        dre.retract_fact(handle, text)
    except dre.error:
        pass


class _Live:
    """A chunk registered in durable-rules, with the lock that serialises its one sid."""

    def __init__(self, chunk: Chunk, name: str, host: _Host):
        self.chunk, self.name, self.lock = chunk, name, threading.Lock()
        self.dead, self.has_state, self.last_used = False, False, 0.0
        self.handle = self._register(host, name, chunk.definition)

    @staticmethod
    def _register(host: _Host, name: str, definition: dict) -> int:
        try:
            host.register_rulesets({name: {k: dict(v, run=_noop) for k, v in definition.items()}})
        except Exception as exc:  # durable_rules_engine.error, or a name clash
            raise RulesEngineError(f"durable-rules refused {name}: {exc}") from exc
        return host.get_ruleset(name)._handle


class _Retired(Exception):
    pass


@dataclass(frozen=True)
class _Published:
    version: int
    versions: dict        # rule set name -> the version that published it
    rules: dict           # (rule set, rule) -> (compiler.Rule, ...): one per event it listens to
    types: dict           # rule set -> {field: base type its conditions are decided with}
    routes: dict          # (entity, event) -> [_Live]
    lives: tuple


class _Context:
    """What one event offers the rules (chunks read and normalise its record's values)."""

    def __init__(self, event: dict):
        record = event.get("record")
        self.record = record if isinstance(record, dict) else {}
        changed = event.get("changed", event.get("changes")) or ()
        self.changed = frozenset(changed)
        transition = event.get("transition") or event.get("extra") or {}  # a RecordEvent's extra
        self.to = event.get("to", transition.get("to"))
        self.from_ = event.get("from", transition.get("from"))


class RulesEngine:
    """Tenants' published rule sets; evaluate() says which rules an event fires.

    One durable Host per engine.  Thread-safe: publish() swaps a tenant's routing table
    at once; an evaluation that meets a retired chunk starts over on the new table.
    """

    def __init__(self, correlations: CorrelationStore | None = None, idle_state_seconds: float = 300.0):
        self.host = _Host()
        self.correlations = correlations if correlations is not None else InMemoryCorrelationStore()
        self.idle_state_seconds = idle_state_seconds
        self._tenants: dict[str, _Published] = {}
        self._publish_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._evaluations = itertools.count(1)

    # --- publishing ---------------------------------------------------------------------

    def publish(self, tenant: str, version: int, rulesets: list[dict], fields: dict | None = None) -> None:
        """Make ``rulesets`` the tenant's rules from now on (RulesetInvalid if any is wrong).

        ``fields`` ({entity: {field: type}}) lets fields compare by their declared type.
        Publishing a version at or below the current one is a no-op; [] removes the rules.
        """
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant) or "__" in tenant:
            raise ValueError(f"not a tenant name: {tenant!r}")
        with self._publish_lock:
            current = self._tenants.get(tenant)
            if current is not None and version <= current.version:
                return
            compiled, problems = [], []
            for i, doc in enumerate(rulesets):
                try:
                    entity = doc.get("entity") if isinstance(doc, dict) else None
                    typed = (fields or {}).get(entity) if isinstance(entity, str) else None
                    compiled.append((doc, *compile_ruleset(doc, typed, f"/rulesets/{i}")))
                except RulesetInvalid as exc:
                    problems += exc.problems
            names = [doc["name"] for doc, *_ in compiled]
            problems += [{"field": f"/rulesets/{i}/name", "code": "duplicate_name",
                          "message": f"another rule set is also named {n!r}"}
                         for i, n in enumerate(names) if n in names[:i]]
            if problems:
                raise RulesetInvalid(problems)
            self._swap(tenant, version, compiled, current)

    def withdraw(self, tenant: str) -> None:
        """Remove every rule set of ``tenant`` (deleted, or its name now names another
        tenant, whose versions start over)."""
        with self._publish_lock:
            current = self._tenants.get(tenant)
            if current is None:
                return
            self._tenants = {name: p for name, p in self._tenants.items() if name != tenant}
            for live in current.lives:
                self._retire(live)

    def _swap(self, tenant, version, compiled, current) -> None:
        old = {live.chunk.key: live for live in (current.lives if current else ())}
        lives, created, routes, versions = [], [], {}, {}
        try:
            for doc, _, chunks, _ in compiled:
                for n, chunk in enumerate(chunks):
                    live = old.pop(chunk.key, None)
                    if live is None:
                        live = _Live(chunk, f"{tenant}__{doc['name']}__v{version}__{n}", self.host)
                        created.append(live)
                    lives.append(live)
                    routes.setdefault((chunk.entity, chunk.event), []).append(live)
                    versions[doc["name"]] = version
        except Exception:
            for live in created:
                self._retire(live)
            raise
        published = _Published(
            version=version, versions=versions, lives=tuple(lives), routes=routes,
            rules=_by_name(r for _, rules, _, _ in compiled for r in rules),
            types={doc["name"]: types for doc, _, _, types in compiled})
        self._tenants = {**self._tenants, tenant: published}
        for live in old.values():
            self._retire(live)

    def _retire(self, live: _Live) -> None:
        with live.lock:
            live.dead = True
            self.host.remove(live.name)

    def version(self, tenant: str) -> int | None:
        """The version of the tenant's current rules (None before it published any)."""
        current = self._tenants.get(tenant)
        return current.version if current else None

    def published(self, tenant: str) -> dict:
        """{rule set name: version} of the tenant's current rule sets."""
        current = self._tenants.get(tenant)
        return dict(current.versions) if current else {}

    # --- evaluating -----------------------------------------------------------------------

    def listens(self, tenant: str, entity: str, event: str, kind: str | None = None) -> bool:
        """Whether any of the tenant's current rule sets (of `kind`) listens to `event`
        ("record.created", ...) of `entity`: when none does, `evaluate` fires nothing."""
        current = self._tenants.get(tenant)
        lives = current.routes.get((entity, event), ()) if current else ()
        return any(kind in (None, live.chunk.kind) for live in lives)

    def evaluate(self, event: dict, kind: str | None = None) -> list[Firing]:
        """Every rule the event fires (actions returned, not run); [] when none matches.

        ``kind`` ("validation" / "automation") restricts to rule sets of that kind.
        """
        route = (event.get("entity"), event.get("event"))
        if not all(isinstance(part, str) for part in route):
            return []
        ctx = None  # built only when rules listen to this entity and event
        for _ in range(5):
            current = self._tenants.get(event.get("tenant"))
            lives = current.routes.get(route, ()) if current else ()
            if ctx is None and lives:
                ctx = _Context(event)
            try:
                matched = {rule for live in lives if kind in (None, live.chunk.kind)
                           for rule in self._run(live, ctx)}
                break
            except _Retired:
                continue
        else:
            raise RulesEngineError("rule sets kept changing during evaluation")
        if next(self._evaluations) % 4096 == 0:
            self.release_states(self.idle_state_seconds)
        order: dict = {}
        for live in lives:
            order.setdefault(live.chunk.ruleset, len(order))
        firings = []
        for rule in sorted(matched, key=lambda r: (order[r.ruleset], r.index)):
            if rule.holds is not None and not rule.holds(ctx.record):
                continue  # durable-rules' test is coarse: metadata.conditions decides (compiled once)
            firing = self._firing(event, ctx, rule)
            if firing is not None:
                firings.append(firing)
        return firings

    def _run(self, live: _Live, ctx: _Context) -> list:
        chunk = live.chunk
        if chunk.prefilter is not None and not (ctx.changed & chunk.prefilter):
            return []
        with live.lock:
            if live.dead:
                raise _Retired
            live.has_state, live.last_used = True, time.monotonic()
            names = _fire(live.handle, _fact_json(chunk.fact(ctx, next(self._ids))))
        return [chunk.rules[name.rsplit("__", 1)[0]] for name in names]

    def _firing(self, event: dict, ctx: _Context, rule) -> Firing | None:
        key = None
        if rule.correlate:
            key = ctx.record.get(rule.correlate["by"])
            if not _usable_key(key):
                return None
            event_id = event.get("id")
            if event_id is None:  # without an id nothing is idempotent, but each event counts once
                event_id = f"anonymous-{next(self._ids)}"
            count = self.correlations.record_match(event["tenant"], rule.ruleset, rule.name, key, event_id,
                                                   event_time(event), rule.correlate["within"])
            if count != rule.correlate["count"]:
                return None
        return Firing(tenant=event["tenant"], ruleset=rule.ruleset, rule=rule.name, kind=rule.kind,
                      event_id=event.get("id"), actions=rule.actions,
                      message=rule.message if rule.kind == "validation" else None, correlation_key=key)

    def release_states(self, idle_seconds: float = 0.0) -> int:
        """Delete the durable session state of chunks unused for ``idle_seconds``."""
        released, now = 0, time.monotonic()
        for current in list(self._tenants.values()):
            for live in current.lives:
                if live.has_state and now - live.last_used >= idle_seconds:
                    with live.lock:
                        if live.dead or not live.has_state:
                            continue
                        try:  # safe: _fire completed every action of this state
                            dre.delete_state(live.handle, _SID)
                        except dre.error:
                            pass  # never created (309)
                        live.has_state, released = False, released + 1
        return released

    # --- explaining -------------------------------------------------------------------------

    def explain(self, event: dict, ruleset: str, rule: str) -> dict:
        """Why ``rule`` of ``ruleset`` did or did not fire for ``event``, evaluated in Python.

        For a correlated rule, ``fired`` says the event counts as a match; the
        CorrelationStore decides whether the rule fires (explain records nothing).
        """
        current = self._tenants.get(event.get("tenant"))
        candidates = current.rules.get((ruleset, rule)) if current else None
        if not candidates:
            raise LookupError(f"tenant {event.get('tenant')!r} has no published rule {ruleset}/{rule}")
        found = next((r for r in candidates if r.event == event.get("event")), candidates[0])
        ctx = _Context(event)
        event_ok = event.get("event") == found.event and event.get("entity") == found.entity
        changed_ok = found.changed is None or bool(ctx.changed & found.changed)
        transition_ok = all(states is None or value in states
                            for states, value in ((found.to, ctx.to), (found.from_, ctx.from_)))
        reasons: list[dict] = []
        condition_ok = True
        if found.condition is not None:
            condition_ok, reasons = explain_condition(found.condition, current.types[ruleset], ctx.record)
        out = {"fired": event_ok and changed_ok and transition_ok and condition_ok, "reasons": reasons,
               "event_type_matched": event_ok, "changed_matched": changed_ok,
               "transition_matched": transition_ok, "condition_matched": condition_ok, "kind": found.kind}
        if found.correlate:
            by, key = found.correlate["by"], ctx.record.get(found.correlate["by"])
            out["correlation"] = {"by": by, "key": key, "count": found.correlate["count"],
                                  "within": found.correlate["text"]}
            out["fired"] = out["fired"] and _usable_key(key)
        return out


def _by_name(rules) -> dict:
    out: dict = {}
    for rule in rules:
        out[(rule.ruleset, rule.name)] = out.get((rule.ruleset, rule.name), ()) + (rule,)
    return out


def _usable_key(key) -> bool:
    return key is not None and key != "" and isinstance(key, (str, int, float, bool))
