"""Duplicate rules applied to the rows an import would create: each is matched against
the stored records (`engine.dedup.find_duplicates`; the run's own new records and the
records rows update are left out: see below) and against the file's earlier rows that
would be created (`engine.dedup.among`: row 17 is a duplicate of row 3), so the real run
decides as its dry run did whatever the chunk size. What a match does is the import's `on_duplicate` —
skip the row, update the best match (a stored record, or the record an earlier row
creates), or create anyway — by default the rule's own: a blocking rule skips, a warning
creates. A blocking rule that may not be overridden refuses the row when asked to create
anyway. Every match is reported with its row: the record (or the earlier row), the rule,
the score and the reasons — a stored record the importer may not read without which one
or why (`engine.dedup.entry.as_seen`).

The values a row's update gives a record (found by its key or by a duplicate rule) are
checked as the record service checks an update at entry (`check_update`): by the rules
reading a changed field, against the other records and the rows created so far. A match
is reported; a blocking one skips the row (`on_duplicate` create overrides an
overridable rule; a rule that may not be overridden refuses the row), and `on_duplicate`
skip skips it on any match, as for a create.

Rows are decided one after the other in the file's order (`decide`, after the chunk's
lookups in `prepare`). A record an earlier row updates is compared with the later rows as
the earlier rows leave it, never as it was: a stored one leaves the stored matches (looked
up without it) for `kept`, which holds it with the values the rows so far give it, and a
row's new record is held in the pool with its updates' values — so the real run, whose
earlier chunks have written those updates, decides as its dry run, which wrote nothing,
whatever the chunk size. A later row's update of it is changed from what the earlier rows
planned, so the file's last word wins; its unique values are looked up as they were
before the run, its key as the rows leave it (the run's `ledger`, `engine.imports.keys`).
With `on_duplicate` update, a row a rule turns into an update stays out of the pool: only
a row that stays a create is added (`add`)."""
from __future__ import annotations

from dataclasses import replace

from engine.dedup import find_duplicates
from engine.dedup.among import Pool, ordered
from engine.dedup.entry import as_seen, entry_rules, unreadable


class Matcher:
    def __init__(self, planner, on_duplicate):
        self.planner = planner
        self.on_duplicate = on_duplicate
        service = planner.service
        self.rules = entry_rules(service.metadata, planner.entity)
        self.labels = {r.name: r.label for r in self.rules}
        self.ledger = planner.ledger  # the run's own records: never a stored duplicate of its rows
        self.pool = Pool(self.rules)  # the rows planned as creates so far
        self.kept = Pool(self.rules)  # the stored records rows update, as the rows so far leave them, by id
        self._kept_keys: dict = {}  # id -> its keys in `kept`
        self._pool_keys: dict = {}  # row -> the keys of its new record in `pool`
        self._stored: dict = {}  # this chunk: row -> the stored records its create matches
        self._looked_up: set = set()  # this chunk: the rows whose stored matches were looked up
        self._decided = None  # (row, the pool's keys of its data) of the row `decide` decided last
        self._hidden: set = set()  # this chunk: ids of matched records the importer may not read
        self._known: set = set()  # this chunk: ids of matched records whose readability is known
        self._fetched: dict = {}  # this chunk: id -> a stored record rows may update
        self._update_stored: dict = {}  # this chunk: row -> (the record its update predicts, its stored matches)

    def prepare(self, conn, creates) -> None:
        """The chunk's lookups, at once: the stored records each of `creates` matches, which
        of them (and of the records rows update) the importer may not read, and, when
        rows update their best match, those records."""
        self._stored, self._hidden, self._known, self._fetched, self._looked_up = {}, set(), set(), {}, set()
        if self.rules and creates:
            self._lookup(conn, creates)

    def _lookup(self, conn, creates) -> None:
        service = self.planner.service
        found = find_duplicates(conn, service.metadata, self.planner.entity, [p.data for p in creates],
                                exclude_ids=self.ledger.mine, rules=self.rules)
        self._looked_up |= {p.row for p in creates}
        self._stored.update({p.row: f for p, f in zip(creates, found) if f})
        known = {m.record_id for f in found for m in f} - self._known
        self._known |= known
        self._hidden |= unreadable(service, conn, self.planner.entity, known)
        if self.on_duplicate == "update":
            self._fetched.update(self.ledger.records(conn, sorted({f[0].record_id for f in found if f})))

    @property
    def fetched(self) -> set:
        """This chunk: the ids of the stored records rows may update as their best match."""
        return set(self._fetched)

    def decide(self, conn, plan):
        """Decide about a planned create that matches an existing record or an earlier row
        of the file (rows are decided in the file's order): skip it, refuse it, leave it a
        create (then later rows are compared with it) or return what it updates instead —
        ("record", the stored record) or ("row", the row whose record)."""
        if not self.rules:
            return None
        if plan.row not in self._looked_up:  # judged a create only as its turn came (`Planner._rekey`)
            self._lookup(conn, [plan])
        keys = self.pool.keys(plan.data)
        self._decided = (plan.row, keys)
        stored = [m for m in self._stored.get(plan.row, []) if m.record_id not in self.ledger.before]
        matches = ordered(stored + self._updated(plan.data, keys) + self.pool.match(plan.data, keys))
        return self._decide(conn, plan, matches) if matches else None

    def add(self, plan) -> None:
        """`plan` stays a create (just `decide`d): the later rows are compared with it."""
        if self.rules:
            row, keys = self._decided or (None, None)
            self._pool_keys[plan.row] = keys if row == plan.row else self.pool.keys(plan.data)
            self.pool.add(plan.row, plan.data, self._pool_keys[plan.row])

    def prepare_updates(self, conn, predicted: dict) -> None:
        """The stored records matching the records rows update as those rows would leave
        them (`predicted`: {row: (record, the fields it changes)}), at once, by the rules
        reading one of the changed fields; `check_update` uses a row's while its record is
        as predicted."""
        self._update_stored = {}
        rules = tuple(r for r in self.rules if any(set(r.fields) & changed for _, changed in predicted.values()))
        if not rules:
            return
        rows = list(predicted)
        found = find_duplicates(conn, self.planner.service.metadata, self.planner.entity,
                                [predicted[row][0] for row in rows], exclude_ids=self.ledger.mine,
                                rules=rules)
        self._update_stored = {row: (predicted[row][0], f) for row, f in zip(rows, found)}

    def check_update(self, conn, plan, record: dict) -> None:
        """The values an update gives a record (`record`: all of them, `plan.data` the
        changes) checked as the record service checks an update at entry: by the rules
        reading a changed field, against the other records (those earlier rows update as
        those rows leave them) and the file's rows created so far. The matches are reported; a
        blocking one skips the row, or refuses it with `on_duplicate` create when its rule
        may not be overridden; `on_duplicate` skip skips it on any match."""
        rules = tuple(r for r in self.rules if set(r.fields) & set(plan.data))
        if not rules:
            return
        names = {r.name for r in rules}
        service = self.planner.service
        itself = {plan.record_id} if plan.record_id is not None else set()
        cached = self._update_stored.get(plan.row)
        if cached is not None and cached[0] == record:
            stored = [m for m in cached[1] if m.rule in names and m.record_id not in itself
                      and m.record_id not in self.ledger.before]
        else:
            [stored] = find_duplicates(conn, service.metadata, self.planner.entity, [record],
                                       exclude_ids=self.ledger.mine | itself, rules=rules)
        keys = self.pool.keys(record)
        matches = ordered(stored + [m for m in self._updated(record, keys, names) + self.pool.match(record, keys, names)
                                    if m.record_id not in itself and (m.row is None or m.row != plan.of_row)])
        if not matches:
            return
        found = [{**m.to_dict(), "label": self.labels[m.rule]} for m in matches]
        seen = as_seen(service, conn, self.planner.entity, found)
        listed = {(m["record_id"], m.get("row"), m["rule"]) for m in plan.duplicates}
        plan.duplicates += [m for m in seen if (m["record_id"], m.get("row"), m["rule"]) not in listed]
        blocking = [m for m in matches if m.action == "block"]
        policy = self.on_duplicate if self.on_duplicate in ("skip", "create") else None
        policy = policy or ("skip" if blocking else "create")
        if policy == "skip":
            plan.action, plan.reason, plan.data = "skip", "duplicate", None
        elif any(not m.overridable for m in blocking):
            self._refuse(plan, next(m for m in seen if m["action"] == "block" and not m["overridable"]),
                         "changes it to look like")

    def _updated(self, data, keys, only=None) -> list:
        """The matches of `data` among the stored records rows update, as those rows leave
        them (by the rules named `only`, when given)."""
        if not self.ledger.before:
            return []
        return [replace(m, record_id=m.row, row=None) for m in self.kept.match(data, keys, only)]

    def updated(self, record: dict) -> None:
        """A row's update of a stored record is kept (`record`: as the rows so far leave
        it): later rows are compared with its new values, no longer with the stored ones."""
        record_id = record["id"]
        if record_id in self._kept_keys:
            self.kept.remove(record_id, self._kept_keys[record_id])
        self._kept_keys[record_id] = self.kept.keys(record)
        self.kept.add(record_id, record, self._kept_keys[record_id])

    def updated_row(self, row: int, values: dict) -> None:
        """A row's update of the record row `row` creates is kept (`values`: that record's,
        as the rows so far leave it): later rows are compared with them."""
        if row in self._pool_keys:
            self.pool.remove(row, self._pool_keys[row])
            self._pool_keys[row] = self.pool.keys(values)
            self.pool.add(row, values, self._pool_keys[row])

    def _decide(self, conn, plan, matches):
        kept = {m.record_id for m in matches if m.record_id is not None} - self._known
        if kept:  # stored records rows update, matched as those rows leave them
            self._known |= kept
            self._hidden |= unreadable(self.planner.service, conn, self.planner.entity, kept)
        plan.duplicates = [self._seen({**m.to_dict(), "label": self.labels[m.rule]}) for m in matches]
        blocking = [m for m in matches if m.action == "block"]
        policy = self.on_duplicate or ("skip" if blocking else "create")
        best = matches[0]
        hidden = best.record_id is not None and best.record_id in self._hidden
        if policy == "skip":
            plan.action, plan.reason, plan.data = "skip", "duplicate", None
            plan.record_id = None if hidden else best.record_id
        elif policy == "update":
            if hidden:  # not updated by its id: which record it is stays unsaid
                self.planner._refuse(plan, plan.duplicates[0]["rule"], "duplicate",
                                     "looks like a record you may not read: it cannot be updated from the file")
            elif best.record_id is None:
                return ("row", best.row)
            else:
                return ("record", self._record(conn, best.record_id))
        elif any(not m.overridable for m in blocking):
            self._refuse(plan, next(m for m in plan.duplicates if m["action"] == "block" and not m["overridable"]),
                         "looks like")
        return None

    def _refuse(self, plan, shown: dict, verb: str) -> None:
        """Refuse `plan` for a match (as the importer sees it) by a rule that may not be overridden."""
        if shown.get("row") is not None:
            like = f"row {shown['row']} of the file ({'; '.join(shown['reasons'])})"
        elif shown["record_id"] is None:
            like = "a record you may not read"
        else:
            like = f"record {shown['record_id']} ({'; '.join(shown['reasons'])})"
        self.planner._refuse(plan, shown["rule"], "duplicate", f"{verb} {like} by a rule that may not be overridden")

    def _seen(self, match: dict) -> dict:
        """A match as the importer may see it (`engine.dedup.entry.as_seen`)."""
        if match["record_id"] is not None and match["record_id"] in self._hidden:
            return {**match, "record_id": None, "reasons": []}
        return match

    def _record(self, conn, record_id: int) -> dict:
        if record_id not in self._fetched:
            self._fetched.update(self.ledger.records(conn, [record_id]))
        return self._fetched[record_id]

    def resume(self, current: dict) -> None:
        """A resumed run, once its ledger is (`Ledger.resume`): the stored records its
        committed chunks updated as they left them (`current`: {id: record}), and the
        records they created, as the pool had them."""
        for record in current.values():
            self.updated(record)
        for row, values in sorted(self.ledger.created.items()):
            self._pool_keys[row] = self.pool.keys(values)
            self.pool.add(row, values, self._pool_keys[row])
