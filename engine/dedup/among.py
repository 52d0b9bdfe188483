"""Matching records against each other before any of them is stored: the rows of one
import file, the items of one batch. Each record is compared with the ones added before
it by the same rules and the same keys as against stored records (`matching`): an exact
rule on equal keys, a fuzzy rule on the name keys of one block (equal `within` keys and,
for a name field, the same first character of the name key), scored by rapidfuzz. A
match names the earlier record by its place (`Match.row`: a file's line, a batch's
index) and has no record id."""
from __future__ import annotations

from collections import defaultdict

from rapidfuzz import process

from engine.dedup.matching import ACTION_ORDER, SCORERS, Match, fuzzy_reasons
from engine.dedup.rules import Rule, fuzzy_key


class Pool:
    """The records seen so far, indexed by each rule's keys."""

    def __init__(self, rules):
        self.rules = tuple(rules)
        self._exact: dict[str, dict] = {r.name: defaultdict(list) for r in self.rules if r.exact}
        self._fuzzy: dict[str, dict] = {r.name: defaultdict(lambda: ([], [])) for r in self.rules if not r.exact}

    def keys(self, record: dict) -> tuple:
        """What each rule compares of `record` (for `match` and `add`, computed once)."""
        return tuple(exact_key(rule, record) if rule.exact else fuzzy_block(rule, record) for rule in self.rules)

    def match(self, record: dict, keys=None, only=None) -> list[Match]:
        """The earlier records `record` (of `keys`, when given) matches, best first (as
        `find_duplicates` orders them); with `only`, by the rules of those names alone."""
        found = []
        for rule, key in zip(self.rules, self.keys(record) if keys is None else keys):
            if only is not None and rule.name not in only:
                continue
            if rule.exact:
                rows = self._exact[rule.name].get(key, ()) if key is not None else ()
                reasons = tuple(f"same {c.name}" for c in rule.exact)
                found += [_match(rule, row, 100.0, reasons) for row in rows]
            else:
                block, text = key
                if block is None:
                    continue
                rows, texts = self._fuzzy[rule.name].get(block, ((), ()))
                if not texts:
                    continue
                reasons_of = fuzzy_reasons(rule)
                for _choice, score, position in process.extract(text, texts, scorer=SCORERS[rule.scorer],
                                                                 limit=None, score_cutoff=rule.threshold):
                    found.append(_match(rule, rows[position], round(float(score), 1), reasons_of(score)))
        return ordered(found)

    def remove(self, row: int, keys) -> None:
        """Forget the record at `row`, added with `keys` (before it is added again with
        other values: a record an earlier row changed)."""
        for rule, key in zip(self.rules, keys):
            if rule.exact:
                if key is not None:
                    self._exact[rule.name][key].remove(row)
            else:
                block, _text = key
                if block is not None:
                    rows, texts = self._fuzzy[rule.name][block]
                    position = rows.index(row)
                    del rows[position], texts[position]

    def add(self, row: int, record: dict, keys=None) -> None:
        """Remember `record` (of `keys`, when given) as the one at `row`."""
        for rule, key in zip(self.rules, self.keys(record) if keys is None else keys):
            if rule.exact:
                if key is not None:
                    self._exact[rule.name][key].append(row)
            else:
                block, text = key
                if block is not None:
                    rows, texts = self._fuzzy[rule.name][block]
                    rows.append(row)
                    texts.append(text)


def ordered(matches: list[Match]) -> list[Match]:
    """Best first: by score, blocking rules first, stored records before earlier rows."""
    return sorted(matches, key=lambda m: (-m.score, ACTION_ORDER[m.action], m.record_id is None,
                                          m.record_id if m.record_id is not None else m.row, m.rule))


def _match(rule: Rule, row: int, score: float, reasons) -> Match:
    return Match(None, score, rule.name, rule.action, rule.overridable, tuple(reasons), row=row)


def exact_key(rule: Rule, record: dict):
    key = tuple(c.key(record.get(c.name)) for c in rule.exact)
    return None if None in key else key


def fuzzy_block(rule: Rule, record: dict):
    """(block, text) of a record a fuzzy rule compares; (None, None) when it has nothing to compare."""
    value = record.get(rule.fuzzy.name)
    text = fuzzy_key(value) if isinstance(value, str) else None
    block = tuple(c.key(record.get(c.name)) for c in rule.within)
    if not text or None in block:
        return None, None
    if rule.fuzzy.kind == "name":  # as against stored records: the same first character of the name key
        block = (*block, text[0])
    return block, text

