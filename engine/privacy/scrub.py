"""Removing erased values from what Loom keeps beside the records: the audit trail, the
outbox, notifications, rule traces, workflow comments, consent refusals, effect keys and
the archives of metadata migrations.

A row *tied* to an erased record (its `entity` and `record_id` name one) loses every
erased value and every value under an erased field's name; any other row of Loom's
tables loses only the erased identifiers (e-mail addresses and phone numbers), which
name one person wherever they appear. Rows are found with `LIKE` on each text and JSON
column, so a row holding none of the values is not rewritten."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import JSON, String, Text, and_, cast, inspect, or_, select, tuple_

from engine.systables import loom_table
from tenants.tables import tenant_tables

ERASED = "(erased)"
# JSON columns whose top level is an envelope with keys of its own: a field's name is a key
# only inside these parts (an outbox payload's `v`, `event` or `actor` stay as they are
# when a field has that name, or its readers could not read the row).
ENVELOPES = {("loom_outbox", "payload"): frozenset({"record", "changes"})}
SKIP_TABLES = frozenset({"loom_search", "loom_dsr_log", "loom_metadata_versions", "loom_archives",
                         "loom_drafts", "loom_overlay", "loom_packs", "loom_users", "loom_tokens",
                         "loom_password_resets", "loom_saved_views", "loom_correlations"})


@dataclass
class Erased:
    """What one erasure removes: the records it touched and the values it blanked."""
    records: dict = field(default_factory=dict)     # entity -> {record id: [field names]}
    values: set = field(default_factory=set)        # every erased text value
    identifiers: set = field(default_factory=set)   # the e-mails and phone numbers among them

    def add(self, entity: str, record_id: int, names, values, identifiers=()) -> None:
        self.records.setdefault(entity, {})[record_id] = sorted(set(names))
        self.values |= {v for v in values if isinstance(v, str) and len(v.strip()) >= 2}
        self.identifiers |= {v for v in identifiers if isinstance(v, str) and len(v.strip()) >= 5}

    def extend(self, entity: str, record_id: int, name: str, value, identifier=False) -> None:
        """One more erased field of a record (a personal field a migration dropped)."""
        names = self.records.setdefault(entity, {}).setdefault(record_id, [])
        if name not in names:
            names.append(name)
        if isinstance(value, str) and len(value.strip()) >= 2:
            self.values.add(value)
            if identifier and len(value.strip()) >= 5:
                self.identifiers.add(value)

    def tie(self, entity: str, record_id: int) -> None:
        """A record that mentions the subject without being its data (a claim on its policy)."""
        self.records.setdefault(entity, {}).setdefault(record_id, [])

    def fields_of(self, entity, record_id) -> list[str]:
        return self.records.get(entity, {}).get(record_id, [])

    def tied(self) -> list[tuple[str, int]]:
        return [(e, i) for e, ids in self.records.items() for i in ids]


def pseudonym(text: str) -> str:
    """A stable stand-in for an erased identifier inside a key (an effect key)."""
    return "erased-" + hashlib.sha256(text.lower().encode()).hexdigest()[:16]


def replace_text(text: str, values) -> str:
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, ERASED)
        low = value.lower()
        if low != value and low in text:
            text = text.replace(low, ERASED)
    return text


def replace_json(value, values, keys=frozenset()):
    """`value` with erased strings replaced, and everything under a key in `keys` blanked."""
    if isinstance(value, dict):
        return {k: (_blank(v) if k in keys else replace_json(v, values, keys)) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_json(v, values, keys) for v in value]
    if isinstance(value, str):
        return replace_text(value, values)
    return value


def _blank(value):
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    return None if value is None else ERASED


def _text_columns(table) -> list:
    return [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]


def _matching(column, values):
    target = column if not isinstance(column.type, JSON) else cast(column, Text)
    return or_(*[target.like(f"%{_escape(v)}%", escape="\\") for v in values]
               + [target.like(f"%{_escape(v.lower())}%", escape="\\") for v in values if v.lower() != v])


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scrub_table(conn, table, erased: Erased, audit_redacted=None) -> int:
    """Rewrite the rows of `table` holding erased values; returns how many changed."""
    columns = _text_columns(table)
    keys = list(table.primary_key.columns)
    if not columns or not keys:
        return 0
    has_tie = "entity" in table.c and "record_id" in table.c
    tied = erased.tied()
    wanted = []
    if erased.identifiers:
        wanted.append(or_(*[_matching(c, erased.identifiers) for c in columns]))
    if has_tie and tied:
        wanted.append(tuple_(table.c.entity, table.c.record_id).in_(tied) if len(tied) > 1 else
                      and_(table.c.entity == tied[0][0], table.c.record_id == tied[0][1]))
    if not wanted:
        return 0
    changed = 0
    rows = conn.execute(select(table).where(or_(*wanted))).mappings().all()
    for row in rows:
        is_tied = has_tie and row["record_id"] in erased.records.get(row["entity"], {})
        values = erased.values | erased.identifiers if is_tied else erased.identifiers
        names = frozenset(erased.fields_of(row["entity"], row["record_id"])) if is_tied else frozenset()
        new = {}
        for column in columns:
            old = row[column.name]
            if old is None:
                continue
            if isinstance(column.type, JSON):
                parts = ENVELOPES.get((table.name, column.name))
                if parts is not None and isinstance(old, dict):
                    value = {k: replace_json(v, values, names if k in parts else frozenset()) for k, v in old.items()}
                else:
                    value = replace_json(old, values, names)
            elif column.name == "key":  # an effect key: keep it unique, drop the address
                value = _replace_keyed(old, erased.identifiers)
            else:
                value = replace_text(old, values)
            if value != old:
                new[column.name] = value
        if new:
            if audit_redacted is not None:
                new[audit_redacted] = _now()
            conn.execute(table.update().where(and_(*[k == row[k.name] for k in keys])).values(new))
            changed += 1
    return changed


def _replace_keyed(text: str, identifiers) -> str:
    for value in identifiers:
        for form in {value, value.lower()}:
            if form in text:
                text = text.replace(form, pseudonym(value))
    return text


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def scrub_loom_tables(conn, schema, erased: Erased) -> dict:
    """Every Loom table that may hold erased values, rewritten; {table: rows changed}.
    A row rewritten gets `redacted_at` when its table has that column (the audit and
    access logs' hash chain accepts such rows); `link` and `content_hash` are never touched."""
    counts = {}
    present = set(inspect(conn).get_table_names(schema=schema))
    for table in tenant_tables(schema).sorted_tables:
        if table.name in SKIP_TABLES or table.name not in present:
            continue
        table, redacted = _as_stored(conn, schema, table)
        counts[table.name] = scrub_table(conn, table, erased, redacted)
    return {k: v for k, v in counts.items() if v}


def _as_stored(conn, schema, table):
    """The table as it is in the database: with `redacted_at` when the column exists
    (the audit chain adds it), else as Loom's definition has it."""
    from sqlalchemy import Column, DateTime, MetaData, Table

    names = {c["name"] for c in inspect(conn).get_columns(table.name, schema=schema)}
    if "redacted_at" not in names:
        return table, None
    if "redacted_at" in table.c:
        return table, "redacted_at"
    copy = Table(table.name, MetaData(), *[Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns],
                 Column("redacted_at", DateTime(timezone=True)), schema=schema)
    return copy, "redacted_at"


def scrub_archives(conn, schema, erased: Erased) -> int:
    """The archive tables of metadata migrations: rows of erased records lose the erased
    fields' values; every row loses erased identifiers. Returns rows changed."""
    archives = loom_table(schema, "loom_archives")
    present = set(inspect(conn).get_table_names(schema=schema))
    changed = 0
    from sqlalchemy import MetaData, Table
    for entry in conn.execute(select(archives)).mappings().all():
        if entry["table_name"] not in present:
            continue
        table = Table(entry["table_name"], MetaData(), autoload_with=conn, schema=schema)
        ids = erased.records.get(entry["entity"], {})
        if ids and "id" in table.c:
            blank = {}
            for record_id, names in ids.items():
                cols = [n for n in names if n in table.c]
                if entry["kind"] == "field" and entry["field"] in names:
                    cols += [c.name for c in table.columns if c.name not in ("id", "created_at")]
                if cols:
                    blank.setdefault(tuple(sorted(set(cols))), []).append(record_id)
            for cols, record_ids in blank.items():
                result = conn.execute(table.update().where(table.c.id.in_(record_ids))
                                      .values({c: None for c in cols}))
                changed += result.rowcount
        changed += _scrub_plain(conn, table, erased.identifiers)
        if ids and "id" in table.c:  # names too, in the erased records' own rows
            changed += _scrub_plain(conn, table, erased.values, table.c.id.in_(list(ids)))
    return changed


def _scrub_plain(conn, table, values, where=None) -> int:
    columns = [c for c in _text_columns(table) if not isinstance(c.type, JSON)]
    if not values or not columns or "id" not in table.c:
        return 0
    changed = 0
    stmt = select(table).where(or_(*[_matching(c, values) for c in columns]))
    if where is not None:
        stmt = stmt.where(where)
    for row in conn.execute(stmt).mappings().all():
        new = {c.name: replace_text(row[c.name], values) for c in columns
               if isinstance(row[c.name], str) and replace_text(row[c.name], values) != row[c.name]}
        if new:
            conn.execute(table.update().where(table.c.id == row["id"]).values(new))
            changed += 1
    return changed
