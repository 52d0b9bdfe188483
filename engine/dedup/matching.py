"""Matching records against an entity's existing ones by its duplicate rules: for each
record, every existing record a rule finds, with the rule, a score (0-100) and the
reasons in words.

Lookups are batched: an exact rule asks its key columns (indexed) for every record's keys
at once; a fuzzy rule reads the records of the blocks the records fall in (the same
values of its `within` fields) and scores the name keys with rapidfuzz."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import and_, func, select, tuple_

from engine.dedup.rules import Rule, fuzzy_key, rules_of

CHUNK = 500  # keys or blocks per query
SCORERS = {"ratio": fuzz.ratio, "token_sort_ratio": fuzz.token_sort_ratio,
           "token_set_ratio": fuzz.token_set_ratio, "WRatio": fuzz.WRatio}
ACTION_ORDER = {"block": 0, "warn": 1, "allow": 2}


@dataclass(frozen=True)
class Match:
    """An existing record a duplicate rule finds for a record; or (`row`, no `record_id`)
    an earlier record of the same file or batch (`engine.dedup.among`)."""

    record_id: int | None
    score: float  # 0-100: 100 for an exact rule, the similarity for a fuzzy one
    rule: str
    action: str  # "warn" | "block" | "allow"
    overridable: bool
    reasons: tuple[str, ...]
    row: int | None = None  # the earlier record's line of its file or index in its batch

    def to_dict(self) -> dict:
        out = {"record_id": self.record_id, "score": self.score, "rule": self.rule, "action": self.action,
               "overridable": self.overridable, "reasons": list(self.reasons)}
        if self.row is not None:
            out["row"] = self.row
        return out


def find_duplicates(conn, metadata, entity, records: list[dict], exclude_ids=None,
                    rules=None) -> list[list[Match]]:
    """For each of `records` (field values as the API takes them), the existing records
    of `entity` (an Entity or its name) that its duplicate rules match, best first (by
    score, then blocking rules first); records whose id is in `exclude_ids` are never
    matches. `rules` narrows the rules (default: every rule of the entity, `allow` ones
    too; entry leaves those out)."""
    rules = rules_of(metadata, entity) if rules is None else rules
    table = metadata.tables[entity if isinstance(entity, str) else entity.name]
    exclude = {int(i) for i in exclude_ids or ()}
    found: list[list[Match]] = [[] for _ in records]
    for rule in rules:
        pairs = _exact(conn, table, rule, records) if rule.exact else _fuzzy(conn, table, rule, records)
        for index, record_id, score, reasons in pairs:
            if record_id not in exclude:
                found[index].append(Match(record_id, score, rule.name, rule.action, rule.overridable, reasons))
    for matches in found:
        matches.sort(key=lambda m: (-m.score, ACTION_ORDER[m.action], m.record_id, m.rule))
    return found


def _exact(conn, table, rule: Rule, records):
    """(index, record id, 100, reasons) of every record whose keys all agree."""
    wanted: dict[tuple, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        key = tuple(c.key(record.get(c.name)) for c in rule.exact)
        if None not in key:
            wanted[key].append(index)
    if not wanted:
        return []
    columns = [c.column for c in rule.exact]
    reasons = tuple(f"same {c.name}" for c in rule.exact)
    out = []
    keys = list(wanted)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        if len(columns) == 1:
            where = columns[0].in_([k[0] for k in chunk])
        else:
            where = and_(*(col.in_({k[i] for k in chunk}) for i, col in enumerate(columns)))
        for row in conn.execute(select(table.c.id, *columns).where(where)):
            for index in wanted.get(tuple(row[1:]), ()):
                out.append((index, row[0], 100.0, reasons))
    return out


def _fuzzy(conn, table, rule: Rule, records):
    """(index, record id, score, reasons) of every record of the same block whose text is
    at least `threshold` alike."""
    by_block: dict[tuple, list[tuple[int, str]]] = defaultdict(list)
    for index, record in enumerate(records):
        value = record.get(rule.fuzzy.name)
        text = fuzzy_key(value) if isinstance(value, str) else None
        block = tuple(c.key(record.get(c.name)) for c in rule.within)
        if text and None not in block:
            by_block[block].append((index, text))
    if not by_block:
        return []
    scorer = SCORERS[rule.scorer]
    within = [c.column for c in rule.within]
    reasons_of = fuzzy_reasons(rule)
    out = []
    blocks = list(by_block)
    keyed = rule.fuzzy.kind == "name"  # the text's own key column: blocks narrow to its first character
    for start in range(0, len(blocks), CHUNK):
        chunk = blocks[start:start + CHUNK]
        where = within[0].in_([b[0] for b in chunk]) if len(within) == 1 else tuple_(*within).in_(chunk)
        if keyed:
            where = and_(where, func.substr(rule.fuzzy.column, 1, 1).in_(
                {text[0] for block in chunk for _index, text in by_block[block]}))
        candidates: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
        for row in conn.execute(select(table.c.id, rule.fuzzy.column, *within).where(where)):
            text = fuzzy_key(row[1]) if isinstance(row[1], str) else None
            if text:
                ids, texts = candidates[tuple(row[2:])]
                ids.append(row[0])
                texts.append(text)
        for block in chunk:
            ids, texts = candidates.get(block, ([], []))
            if not ids:
                continue
            for index, text in by_block[block]:
                for _choice, score, position in process.extract(text, texts, scorer=scorer, limit=None,
                                                                 score_cutoff=rule.threshold):
                    out.append((index, ids[position], round(float(score), 1), reasons_of(score)))
    return out


def fuzzy_reasons(rule: Rule):
    same = tuple(f"same {c.name}" for c in rule.within)
    return lambda score: (f"{rule.fuzzy.name} {float(score):.0f}% alike ({rule.scorer})", *same)
