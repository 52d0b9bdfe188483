"""`number`: give the triggering record the next number of a per-tenant sequence.

`{"field": "ticket_no", "prefix": "SR-", "width": 6}` sets `ticket_no` to `SR-000042`
(an integer field gets the bare number and takes no prefix). The sequence lives in
`loom_settings` under `seq:<entity>:<field>` (`session.counters.sequence`); a record
whose field already has a value is skipped. Numbers are unique across concurrent workers
and gapless: the number is held for the record until its write committed, so a retry
after a crash reuses it, and the write is conditional on the version read, so two runs
for one record never both number it."""
from __future__ import annotations

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec, LoomError, StaleVersion
from workflows.actions.common import (
    base_type, engine_errors, field_of, name_problem, params_problems, record_id,
)

NAME = "number"
MAX_WIDTH = 18
MAX_PREFIX = 20
ATTEMPTS = 5  # reads and conditional writes before giving up on a record that keeps changing


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, ("field",), ("prefix", "width"))
    problems += name_problem(NAME, "field", params.get("field", "field"))
    prefix = params.get("prefix", "")
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX or any(c in prefix for c in "\r\n\0"):
        problems.append(f"{NAME}: prefix must be text of at most {MAX_PREFIX} characters on one line")
    width = params.get("width", 1)
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        problems.append(f"{NAME}: width must be a whole number from 1 to {MAX_WIDTH}, not {str(width)[:20]!r}")
    return problems


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, entity_name, field_name = context.session, context.entity, params["field"]
    field = field_of(session.metadata, NAME, entity_name, field_name, ("string", "integer"))
    prefix, width = params.get("prefix", ""), params.get("width", 1)
    if base_type(field) == "integer" and prefix:
        raise ActionFailed(f"{NAME}: {entity_name}.{field_name} is an integer field; it takes no prefix")
    rid = record_id(context, NAME)
    sequence = session.counters.sequence(f"{entity_name}:{field_name}")
    taken = None  # (number, value) this run took and has not written
    for _ in range(ATTEMPTS):
        with engine_errors(NAME):
            current = session.records.get(entity_name, rid)
        if current.get(field_name) not in (None, ""):
            if taken is not None and taken[1] != current[field_name]:
                sequence.give_back(rid, taken[0])  # not if another run of this record wrote it
            else:
                sequence.release(rid)
            return {"skipped": f"{field_name} already has a value", "value": current[field_name]}
        number = sequence.next(holder=rid)
        taken = number, number if base_type(field) == "integer" else f"{prefix}{number:0{width}d}"
        try:  # only over the version read: another run numbering the record meanwhile makes it stale
            written = session.records.update(entity_name, rid, {field_name: taken[1], "version": current["version"]},
                                             effect_key=context.effect_key or None)
        except StaleVersion:
            continue
        except LoomError as exc:
            sequence.give_back(rid, number)
            raise ActionFailed(f"{NAME}: could not set {entity_name}.{field_name} to {taken[1]!r}: {exc}") from None
        sequence.release(rid)
        return {"field": field_name, "value": taken[1], "number": number, "updated": written is not None}
    raise ActionFailed(f"{NAME}: {entity_name} {rid} kept changing while it was being numbered; try again")


PARAMS = (ActionParam("field", "field", required=True), ActionParam("prefix", "text"), ActionParam("width", "integer"))

SPEC = ActionSpec(run=run, check=check,
                  description="Number the record from a per-tenant sequence (e.g. SR-000042).", params=PARAMS)
