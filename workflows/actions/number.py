"""`number`: give the triggering record the next number of a per-tenant sequence.

`{"field": "ticket_no", "prefix": "SR-", "width": 6}` sets `ticket_no` to `SR-000042`
(an integer field gets the bare number and takes no prefix). The sequence lives in
`loom_settings` under `seq:<entity>:<field>`; a record whose field already has a value
is skipped. Numbers are unique across concurrent workers and gapless: the number is
held for the record until its write committed, so a retry after a crash reuses it."""
from __future__ import annotations

from sqlalchemy import select

from engine.actions import ActionFailed, ActionSpec
from engine.errors import LoomError
from workflows.actions import counters
from workflows.actions.common import field_of, base_type, name_problem, params_problems, record_id

NAME = "number"
MAX_WIDTH = 18
MAX_PREFIX = 20


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
    field = field_of(session.metadata().package, NAME, entity_name, field_name, ("string", "integer"))
    prefix, width = params.get("prefix", ""), params.get("width", 1)
    if base_type(field) == "integer" and prefix:
        raise ActionFailed(f"{NAME}: {entity_name}.{field_name} is an integer field; it takes no prefix")
    rid = record_id(context, NAME)
    key = counters.setting_key("seq", entity_name, field_name)
    holder = counters.holder_key(rid)
    table = session.metadata().tables[entity_name]
    with counters.locked_setting(session.storage, key, {"next": 1}) as seq:
        row = seq.conn.execute(select(table.c[field_name]).where(table.c.id == rid)).first()
        if row is None:
            raise ActionFailed(f"{NAME}: there is no {entity_name} record {rid}")
        if row[0] not in (None, ""):
            seq.held.pop(holder, None)
            return {"skipped": f"{field_name} already has a value", "value": row[0]}
        number = seq.held.get(holder)
        if number is None:
            number = int(seq.value.get("next", 1))
            seq.value["next"] = number + 1
            seq.held[holder] = number
    value = number if base_type(field) == "integer" else f"{prefix}{number:0{width}d}"
    try:
        written = session.records.update(entity_name, rid, {field_name: value},
                                         effect_key=context.effect_key or None)
    except LoomError as exc:
        _give_back(session.storage, key, holder, number)
        raise ActionFailed(f"{NAME}: could not set {entity_name}.{field_name} to {value!r}: {exc}") from None
    counters.release(session.storage, key, holder)
    return {"field": field_name, "value": value, "number": number, "updated": written is not None}


def _give_back(storage, key, holder, number) -> None:
    """After a refused write: the last number goes back to the sequence; an earlier one
    stays held for the record, so a retry (after the metadata is fixed) still uses it."""
    with counters.locked_setting(storage, key, {"next": 1}) as seq:
        if seq.value.get("next") == number + 1 and seq.held.get(holder) == number:
            seq.value["next"] = number
            seq.held.pop(holder)


SPEC = ActionSpec(run=run, check=check,
                  description="Number the record from a per-tenant sequence (e.g. SR-000042).")
