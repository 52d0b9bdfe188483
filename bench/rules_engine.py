"""Rules-engine benchmark: events/s through ``RulesEngine.evaluate`` against durable-rules'
own loops on the very same compiled rules.

    python bench/rules_engine.py [--events 20000] [--runs 5] [--seed 7]

Workloads:
1. one rule, every event fires it;
2. ten tenants with 100 rules each (4 rule sets over 3 entities, spread over created /
   updated / transitioned / timer, equality, ranges, in, ne, contains, matches, changed
   filters), records of ~40 fields, about one firing per event.

For each: ``evaluate`` (routing, normalisation, fact building, assert + actions +
retract, firings), and as the engine's ceiling durable-rules' own Host API on the same
durable rulesets and the same prebuilt facts: ``post`` (fires only the first matching
rule) and ``assert_fact`` + ``retract_fact`` (fires all, what evaluate needs).  Medians
of --runs runs; the machine is shared, so single runs vary.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from durable.engine import MessageNotHandledException  # noqa: E402

from workflows.rules import RulesEngine  # noqa: E402
from workflows.rules.engine import _Context, _Host  # noqa: E402

ENTITIES = ("contact", "deal", "ticket")
EVENTS = (("record.created", 30), ("record.updated", 50), ("record.transitioned", 15), ("timer", 5))
CHOICES = [f"v{i}" for i in range(6)]
STATES = ("new", "open", "won", "lost")


def _leaf(rnd: random.Random) -> dict:
    pick = rnd.random()
    if pick < 0.30:
        return {"field": f"s{rnd.randrange(6)}", "op": "eq", "value": rnd.choice(CHOICES)}
    if pick < 0.55:
        return {"field": f"n{rnd.randrange(8)}", "op": rnd.choice(["gt", "lte"]), "value": rnd.randrange(0, 1000)}
    if pick < 0.65:
        return {"field": f"s{rnd.randrange(6)}", "op": "in", "value": rnd.sample(CHOICES, 2)}
    if pick < 0.75:
        return {"field": f"s{rnd.randrange(6)}", "op": "ne", "value": rnd.choice(CHOICES)}
    if pick < 0.82:
        return {"field": "email", "op": "matches", "value": rnd.choice([r"@example\.com$", r"^[a-m]", r"\d"])}
    if pick < 0.90:
        return {"field": "notes", "op": "contains", "value": rnd.choice(["urgent", "refund", "vip"])}
    if pick < 0.95:
        return {"field": f"b{rnd.randrange(2)}", "op": "eq", "value": rnd.random() < 0.5}
    return {"field": f"d{rnd.randrange(3)}", "op": "gt", "value": f"2024-0{rnd.randrange(1, 10)}-01"}


def _rule(rnd: random.Random, n: int, event: str) -> dict:
    leaves = [_leaf(rnd), _leaf(rnd), {"field": f"s{rnd.randrange(6)}", "op": "in", "value": rnd.sample(CHOICES, 4)}]
    condition = {"all": leaves} if rnd.random() < 0.85 else {"any": leaves[:1] + [{"all": leaves[1:]}]}
    when = {"event": event, "condition": condition}
    if event == "record.updated":
        when["changed"] = rnd.sample([f"n{i}" for i in range(8)] + [f"s{i}" for i in range(6)], rnd.randint(1, 2))
    if event == "record.transitioned" and rnd.random() < 0.7:
        when["to"] = rnd.choice(STATES)
    if event == "timer":
        when["schedule"] = {"every": "day"}
    return {"name": f"r{n}", "when": when, "actions": [{"action": "notify", "params": {"n": n}}]}


def tenant_rulesets(rnd: random.Random, rules: int = 100) -> list[dict]:
    sets = [(f"{e}_auto", "automation", e) for e in ENTITIES] + [("contact_checks", "validation", "contact")]
    docs = [{"name": name, "kind": kind, "entity": entity, "rules": []} for name, kind, entity in sets]
    for n in range(rules):
        doc = docs[n % len(docs)]
        events = [(e, w) for e, w in EVENTS if doc["kind"] == "automation" or e != "timer"]
        event = rnd.choices([e for e, _ in events], [w for _, w in events])[0]
        rule = _rule(rnd, n, event)
        if doc["kind"] == "validation":
            rule["message"] = {"en": f"refused by rule {n}"}
            del rule["actions"]
        doc["rules"].append(rule)
    return docs


def record(rnd: random.Random, rid: int) -> dict:
    rec = {"id": rid, "email": rnd.choice(["ann@example.com", "zed@corp.org", "bob7@example.com"]),
           "notes": rnd.choice(["", "urgent: call back", "asked for a refund", "plain note"])}
    rec.update({f"n{i}": f"{rnd.randrange(0, 1000)}.{rnd.randrange(100):02d}" for i in range(8)})
    rec.update({f"s{i}": rnd.choice(CHOICES) for i in range(6)})
    rec.update({f"b{i}": rnd.random() < 0.5 for i in range(2)})
    rec.update({f"d{i}": f"2024-{rnd.randrange(1, 13):02d}-15" for i in range(3)})
    rec.update({f"extra{i}": "x" * 10 for i in range(20)})   # fields no rule reads
    return rec


def events(rnd: random.Random, tenants: list[str], count: int) -> list[dict]:
    out = []
    for n in range(count):
        kind = rnd.choices([e for e, _ in EVENTS], [w for _, w in EVENTS])[0]
        event = {"id": n, "event": kind, "tenant": rnd.choice(tenants), "entity": rnd.choice(ENTITIES),
                 "record_id": n, "record": record(rnd, n)}
        if kind == "record.updated":
            event["changed"] = rnd.sample([f"n{i}" for i in range(8)] + [f"s{i}" for i in range(6)], 2)
        if kind == "record.transitioned":
            event["from"], event["to"] = rnd.sample(STATES, 2)
        out.append(event)
    return out


def _rate(fn, items) -> float:
    start = time.perf_counter()
    fn(items)
    return len(items) / (time.perf_counter() - start)


def measure(engine: RulesEngine, stream: list[dict], runs: int) -> dict:
    firings = sum(len(engine.evaluate(e)) for e in stream)   # warm-up, and the firing count
    # durable-rules' own Host API on the same rulesets and the same facts.
    host, plans = _Host(), []
    for tenant, current in engine._tenants.items():
        for live in current.lives:
            host.register_rulesets({live.name: {k: dict(v, run=lambda c: None) for k, v in live.chunk.definition.items()}})
    for event in stream:
        current = engine._tenants[event["tenant"]]
        ctx, plan = _Context(event), []
        for live in current.routes.get((event["entity"], event["event"]), ()):
            prefilter = live.chunk.prefilter
            if prefilter is None or ctx.changed & prefilter:
                plan.append((live.name, live.chunk.fact(ctx, len(plans) * 100 + len(plan))))
        plans.append(plan)

    def evaluate(items):
        for e in items:
            engine.evaluate(e)

    def post(items):
        for plan in items:
            for name, fact in plan:
                try:
                    host.post(name, fact)
                except MessageNotHandledException:
                    pass

    def assert_retract(items):
        for plan in items:
            for name, fact in plan:
                try:
                    host.assert_fact(name, fact)
                except MessageNotHandledException:
                    pass
                try:
                    host.retract_fact(name, fact)
                except MessageNotHandledException:
                    pass

    result = {"firings/event": firings / len(stream),
              "durable calls/event": sum(map(len, plans)) / len(plans)}
    for label, fn, items in (("evaluate", evaluate, stream), ("durable post", post, plans),
                             ("durable assert+retract", assert_retract, plans)):
        result[label] = statistics.median(_rate(fn, items) for _ in range(runs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rnd = random.Random(args.seed)

    one = RulesEngine()
    one.publish("solo", 1, [{"name": "one", "kind": "automation", "entity": "contact", "rules": [
        {"name": "big_spender", "when": {"event": "record.updated", "condition":
            {"field": "n0", "op": "gt", "value": -1}}, "actions": [{"action": "notify"}]}]}])
    single = [dict(e, tenant="solo", entity="contact", event="record.updated", changed=["n0"])
              for e in events(rnd, ["solo"], args.events)]
    rows = [("1 rule", measure(one, single, args.runs))]

    many, tenants = RulesEngine(), [f"t{i}" for i in range(10)]
    for tenant in tenants:
        many.publish(tenant, 1, tenant_rulesets(rnd))
    rows.append(("100 rules x 10 tenants", measure(many, events(rnd, tenants, args.events), args.runs)))

    print(f"events per run: {args.events}, median of {args.runs} runs (events/s)\n")
    print("| workload | evaluate | durable post | durable assert+retract | evaluate / post | "
          "firings/event | durable calls/event |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, r in rows:
        print(f"| {label} | {r['evaluate']:,.0f} | {r['durable post']:,.0f} | {r['durable assert+retract']:,.0f} "
              f"| {r['evaluate'] / r['durable post']:.2f} | {r['firings/event']:.2f} | {r['durable calls/event']:.2f} |")


if __name__ == "__main__":
    main()
