"""Duplicate rules at entry: a record being created or changed is matched, inside its
write's transaction, against the entity's other records. A `warn` rule's matches are
returned with the record (`_duplicates`); a `block` rule's refuse the write (409
`duplicate`, the matches in the details) unless the rule is overridable and the user
overrides (`allow_duplicates`), which the audit trail records. `allow` rules are not
checked at entry. Two writes of the same key check one after the other (`locks`)."""
from __future__ import annotations

from sqlalchemy import select

from engine.dedup.among import Pool, ordered
from engine.dedup.locks import lock_keys
from engine.dedup.matching import find_duplicates
from engine.dedup.rules import rules_of
from engine.errors import Conflict
from engine.in_lists import in_lists
from engine.records.integrity import MAX_DETAILS
from engine.records.writes import audit_row, utcnow, write_audit

DUPLICATES_KEY = "_duplicates"


def entry_rules(metadata, entity, changed=None) -> tuple:
    """The rules checked at entry; with `changed` (the field names a change sets), only
    the rules reading one of them."""
    rules = [r for r in rules_of(metadata, entity) if r.action != "allow"]
    if changed is not None:
        rules = [r for r in rules if set(r.fields) & set(changed)]
    return tuple(rules)


def checks_entry(service, entity) -> bool:
    """Whether a user's write of `entity` is checked (Loom's own writes are not)."""
    return not service.system and bool(entry_rules(service.metadata, entity))


def check_entry(service, conn, entity, record: dict, allow: bool = False, changed=None) -> list[dict]:
    """The matches of `record` (just written in `conn`, so it is left out) as the API
    returns them; raises Conflict when a blocking rule matches and may not be overridden
    (or is not). An override is written to the audit trail."""
    rules = () if service.system else entry_rules(service.metadata, entity, changed)
    if not rules:
        return []
    lock_keys(conn, service.storage.schema, entity.name, _refusing(rules, allow), [record])
    [matches] = find_duplicates(conn, service.metadata, entity, [record], exclude_ids=[record["id"]], rules=rules)
    if not matches:
        return []
    labels = {r.name: r.label for r in rules}
    found = [{**m.to_dict(), "label": labels[m.rule]} for m in matches]
    blocking = [m for m in found if m["action"] == "block"]
    seen = as_seen(service, conn, entity, found)
    if blocking and not (allow and all(m["overridable"] for m in blocking)):
        overridable = all(m["overridable"] for m in blocking)
        raise Conflict(_refusal(entity.name, [m for m in seen if m["action"] == "block"], overridable),
                       code="duplicate", details=[_detail(m) for m in seen])
    if blocking:  # the audit (read by admins) names the records
        write_audit(conn, service.storage.schema, [audit_row(
            utcnow(), service.actor_id, "allow_duplicate", entity.name, record["id"], record["version"],
            {DUPLICATES_KEY: [None, [{"record_id": m["record_id"], "rule": m["rule"]} for m in blocking]]})])
    return seen


def _refusing(rules, allow: bool) -> list:
    """The rules that may refuse this write (blocking, and not overridden): only their
    keys are locked — a write no rule can refuse need not wait for another."""
    return [r for r in rules if r.action == "block" and not (allow and r.overridable)]


def as_seen(service, conn, entity, found: list[dict]) -> list[dict]:
    """The matches as the actor may see them: one on a record they may not read keeps its
    rule, score and action but not which record it is or why it matched (`record_id`
    None, no reasons) — a duplicate check must not tell a user what a record they cannot
    see holds. A match on an earlier row of the same file or batch (`row`, no record) is
    the user's own data and stays whole."""
    hidden = unreadable(service, conn, entity, {m["record_id"] for m in found if m["record_id"] is not None})
    return [m if m["record_id"] not in hidden else {**m, "record_id": None, "reasons": []} for m in found]


def unreadable(service, conn, entity, ids) -> set:
    """Those of the record ids `ids` the actor may not read."""
    clause = service.sharing.read_clause(entity)
    if clause is None or not ids:
        return set()
    table = service.metadata.tables[entity.name]
    ids = sorted(ids)
    readable = set()
    for some in in_lists(ids):
        readable.update(conn.execute(select(table.c.id).where(table.c.id.in_(some), clause)).scalars())
    return set(ids) - readable


def _refusal(entity_name: str, blocking: list[dict], overridable: bool) -> str:
    ids = ", ".join(str(m["record_id"]) if m["record_id"] is not None else "(one you may not read)"
                    for m in blocking[:5])
    rules = ", ".join(sorted({m["rule"] for m in blocking}))
    tail = (" (send allow_duplicates=true to save it anyway)" if overridable
            else " (a rule that may not be overridden)")
    return f"this {entity_name} record looks like existing record(s) {ids} by rule {rules}{tail}"


def _detail(match: dict, prefix: str = "") -> dict:
    if match.get("row") is not None:
        said = f"item {match['row']} of the batch: " + "; ".join(match["reasons"])
    elif match["record_id"] is not None:
        said = f"record {match['record_id']}: " + "; ".join(match["reasons"])
    else:
        said = "a record you may not read"
    return {**match, "field": f"{prefix}{match['rule']}", "code": "duplicate",
            "message": f"{said} (score {match['score']:g})"}


def check_batch(service, conn, entity, loaded: list[dict], allow: bool = False, exclude_ids=()) -> None:
    """Before a batch is written: raises Conflict naming every item a blocking rule
    matches (`/<index>/<rule>`), with a stored record or an earlier item of the batch,
    unless each is overridable and `allow`; warnings are not returned (an import asks
    `find_duplicates` itself)."""
    rules = () if service.system else tuple(r for r in entry_rules(service.metadata, entity) if r.action == "block")
    if not rules:
        return
    lock_keys(conn, service.storage.schema, entity.name, _refusing(rules, allow), loaded)
    refused = []
    pool = Pool(rules)
    stored = find_duplicates(conn, service.metadata, entity, loaded, exclude_ids=exclude_ids, rules=rules)
    for index, (values, matches) in enumerate(zip(loaded, stored)):
        refused += [(index, m) for m in ordered(matches + pool.match(values)) if not (allow and m.overridable)]
        pool.add(index, values)
    if refused:
        items = sorted({index for index, _ in refused})
        labels = {r.name: r.label for r in rules}
        found = [{**m.to_dict(), "label": labels[m.rule]} for _, m in refused[:MAX_DETAILS]]
        shown = as_seen(service, conn, entity, [m for m in found if m["record_id"] is not None])
        shown.reverse()
        found = [shown.pop() if m["record_id"] is not None else m for m in found]
        raise Conflict(f"{len(items)} {entity.name} record(s) of the batch look like existing records or "
                       f"earlier items (items {', '.join(map(str, items[:10]))}); nothing was written",
                       code="duplicate",
                       details=[_detail(m, f"/{index}/") for (index, _), m in zip(refused, found)])


def with_duplicates(record: dict, found: list[dict]) -> dict:
    """The record as a write answers it, with its matches (when any)."""
    return {**record, DUPLICATES_KEY: found} if found else record
