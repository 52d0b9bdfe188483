"""Conditional fields of a form: the process time to judge, for one record, which fields
show (`visible_if`), which are required (`required_if`) and which required ones are
missing — what drawing or validating a form asks `engine.records.conditional` per field.

    python bench/conditional.py [--records 2000] [--runs 5]

Run from a checkout (its own `engine` and `metadata` are imported from the working
directory), so two checkouts compare by running this file in each. Workload: a `deal`
entity of 40 fields, 16 with a `visible_if` and 10 with a `required_if` (leaves and
`all` / `any` of two or three leaves: choices, numbers, dates, booleans, text), records
with random values (seed 7). Prints microseconds per record: the lowest and the median
of --runs runs (the machine is shared: the lowest is the least disturbed).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time


def _document(rnd: random.Random) -> dict:
    fields = [{"name": "stage", "type": "choice", "options": ["new", "open", "won", "lost"]},
              {"name": "tier", "type": "choice", "options": ["bronze", "silver", "gold"]},
              {"name": "amount", "type": "decimal"}, {"name": "seats", "type": "integer"},
              {"name": "closes_on", "type": "date"}, {"name": "signed", "type": "boolean"},
              {"name": "notes", "type": "text"}, {"name": "email", "type": "email"}]
    leaves = [lambda: {"field": "stage", "op": "in", "value": rnd.sample(["new", "open", "won", "lost"], 2)},
              lambda: {"field": "tier", "op": "eq", "value": rnd.choice(["bronze", "silver", "gold"])},
              lambda: {"field": "amount", "op": "gt", "value": rnd.randrange(100, 5000)},
              lambda: {"field": "seats", "op": rnd.choice(["lte", "ne"]), "value": rnd.randrange(1, 50)},
              lambda: {"field": "closes_on", "op": "lt", "value": f"2025-0{rnd.randrange(1, 10)}-01"},
              lambda: {"field": "signed", "op": "eq", "value": rnd.random() < 0.5},
              lambda: {"field": "notes", "op": "contains", "value": rnd.choice(["urgent", "vip"])},
              lambda: {"field": "email", "op": "exists"}]

    def condition():
        shape = rnd.random()
        if shape < 0.4:
            return rnd.choice(leaves)()
        return {"all" if shape < 0.8 else "any": [rnd.choice(leaves)() for _ in range(rnd.randint(2, 3))]}

    for n in range(32):
        field = {"name": f"f{n}", "type": rnd.choice(["string", "integer", "date", "text"])}
        if n < 16:
            field["visible_if"] = condition()
        if 16 <= n < 26:
            field["required_if"] = condition()
        fields.append(field)
    return {"entities": [{"name": "deal", "fields": fields}]}


def _record(rnd: random.Random) -> dict:
    record = {"stage": rnd.choice(["new", "open", "won", "lost", None]), "tier": rnd.choice(["bronze", "silver", "gold"]),
              "amount": f"{rnd.randrange(0, 10000)}.{rnd.randrange(100):02d}", "seats": rnd.randrange(0, 60),
              "closes_on": f"2025-0{rnd.randrange(1, 10)}-1{rnd.randrange(10)}", "signed": rnd.random() < 0.5,
              "notes": rnd.choice(["", "an urgent call", "vip customer", "nothing"]),
              "email": rnd.choice([None, "a@example.com"])}
    for n in range(32):
        if rnd.random() < 0.7:
            record[f"f{n}"] = "x" if n % 2 else rnd.randrange(100)
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    from engine.records.conditional import missing, required, visible
    from metadata import load_package

    rnd = random.Random(7)
    entity = load_package(_document(rnd)).entity("deal")
    records = [_record(rnd) for _ in range(args.records)]

    def judge(record):
        shown = [field for field in entity.fields if visible(entity, field, record)]
        return shown, [field for field in shown if required(entity, field, record)], missing(entity, record)

    per_record = []
    for _ in range(args.runs):
        began = time.process_time()
        for record in records:
            judge(record)
        per_record.append((time.process_time() - began) / len(records) * 1e6)
    print(f"{os.getcwd()}: µs per record: lowest {min(per_record):.1f}, median {statistics.median(per_record):.1f} "
          f"({' / '.join(f'{t:.1f}' for t in per_record)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
