"""The duplicate report of an entity: every group of its records its duplicate rules tie
together (each rule, `allow` ones included), as clusters with the links that make them.

Blocking, so a million records take seconds, not days:
- an exact rule is one query: the key columns' values held by more than one record
  (GROUP BY ... HAVING count(*) > 1, on the indexed key columns), joined back to the
  records holding them;
- a fuzzy rule reads the records ordered by its `within` fields and compares, inside each
  block of equal `within` values and equal first character of the name key, every pair
  with rapidfuzz (each text against the ones after it, at or above the threshold).
Clusters are the connected groups of links (union-find), best first."""
from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from rapidfuzz import process
from sqlalchemy import and_, func, select

from engine.background import NoProgress
from engine.dedup.matching import SCORERS
from engine.dedup.rules import Rule, fuzzy_key, rules_of
from engine.errors import NotFound, ValidationFailed

MAX_CLUSTERS = 10_000  # clusters a report lists (the best; `clusters_total` counts them all)
READ_CHUNK = 20_000  # rows a fuzzy rule reads per round trip
ROW_CHUNK = 2_000  # texts compared against a big block at a time


def scan(storage, metadata, entity_name: str, progress=None) -> dict:
    """The report: {"entity", "records", "rules", "clusters", "clusters_total", "links"}."""
    progress = progress or NoProgress()
    entity = metadata.entity(entity_name)
    if entity is None:
        raise NotFound(f"no entity {entity_name!r}", code="entity_not_found")
    rules = rules_of(metadata, entity)
    if not rules:
        raise ValidationFailed(f"entity {entity_name!r} has no duplicate rules",
                               details=[{"field": "entity", "code": "no_rules",
                                         "message": "give the entity duplicate_rules to scan it"}])
    table = metadata.tables[entity.name]
    links = []
    with storage.connect() as conn:
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        progress.total(count * len(rules))
        for rule in rules:
            if rule.exact:
                links += _exact(conn, table, rule)
                progress.advance(count)
            else:
                found, read = _fuzzy(conn, table, rule, progress)
                links += found
                progress.advance(count - read)  # the records outside every block
    clusters = _clusters(links)
    return {"entity": entity.name, "records": count, "rules": [r.name for r in rules],
            "links": len(links), "clusters_total": len(clusters), "clusters": clusters[:MAX_CLUSTERS]}


def _link(a: int, b: int, score: float, rule: Rule, reasons) -> tuple:
    return (min(a, b), max(a, b), score, rule.name, tuple(reasons))


def _exact(conn, table, rule: Rule) -> list[tuple]:
    columns = [c.column for c in rule.exact]
    held = (select(*columns).where(and_(*(c.is_not(None) for c in columns)))
            .group_by(*columns).having(func.count() > 1).subquery())
    joined = table.join(held, and_(*(col == held.c[col.name] for col in columns)))
    rows = conn.execute(select(table.c.id, *columns).select_from(joined).order_by(*columns, table.c.id))
    reasons = tuple(f"same {c.name}" for c in rule.exact)
    links = []
    for _key, group in groupby(rows, key=lambda row: tuple(row[1:])):
        ids = [row[0] for row in group]
        links += [_link(ids[0], other, 100.0, rule, reasons) for other in ids[1:]]
    return links


def _fuzzy(conn, table, rule: Rule, progress) -> tuple[list[tuple], int]:
    """The rule's links, and how many records it read (those with every `within` field)."""
    within = [c.column for c in rule.within]
    # Ordered by the blocking fields alone, so an index on them and the text (crm_core's
    # party has (city, name)) answers it without reading the table.
    stmt = (select(table.c.id, rule.fuzzy.column, *within)
            .where(and_(*(c.is_not(None) for c in within)))
            .order_by(*within)
            .execution_options(yield_per=READ_CHUNK, stream_results=True))
    scorer = SCORERS[rule.scorer]
    same = tuple(f"same {c.name}" for c in rule.within)
    links: list[tuple] = []
    read = 0
    result = conn.execute(stmt)
    for _block, rows in groupby(result, key=lambda row: tuple(row[2:])):
        by_first: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        n = 0
        for row in rows:
            n += 1
            text = fuzzy_key(row[1]) if isinstance(row[1], str) else None
            if text:
                ids, texts = by_first[text[0]]
                ids.append(row[0])
                texts.append(text)
        for ids, texts in by_first.values():
            if len(ids) > 1:
                links += _pairs(ids, texts, scorer, rule, same)
        progress.advance(n)
        read += n
    return links, read


def _pairs(ids, texts, scorer, rule: Rule, same) -> list[tuple]:
    """Every pair of one block at or above the rule's threshold (each text against the later ones)."""
    links = []
    for i in range(len(texts) - 1):
        for _choice, score, j in process.extract(texts[i], texts[i + 1:], scorer=scorer, limit=None,
                                                  score_cutoff=rule.threshold):
            score = round(float(score), 1)
            reasons = (f"{rule.fuzzy.name} {score:.0f}% alike ({rule.scorer})", *same)
            links.append(_link(ids[i], ids[i + 1 + j], score, rule, reasons))
    return links


def _clusters(links: list[tuple]) -> list[dict]:
    """Connected groups of linked records, best first (highest score, then the biggest)."""
    parent: dict[int, int] = {}

    def root(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, *_ in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    grouped: dict[int, list] = defaultdict(list)
    for link in links:
        grouped[root(link[0])].append(link)
    clusters = []
    for group in grouped.values():
        ids = sorted({i for a, b, *_ in group for i in (a, b)})
        clusters.append({"ids": ids, "score": max(link[2] for link in group),
                         "links": [{"a": a, "b": b, "score": s, "rule": r, "reasons": list(why)}
                                   for a, b, s, r, why in sorted(group)]})
    clusters.sort(key=lambda c: (-c["score"], -len(c["ids"]), c["ids"][0]))
    return clusters
