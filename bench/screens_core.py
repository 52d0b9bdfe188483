"""What the screens benchmark (bench/screens.py) compares each screen with: the same work in
SQLAlchemy Core on the same engine (a list page and its keyset walk, a record page's reads,
a LIKE search)."""
from __future__ import annotations

import time

from sqlalchemy import or_, select, tuple_

from engine.systables import loom_table

PAGE = 50
RELATED = 10                     # rows per related list in the Core equivalent of a record page


class CoreQueries:
    """The Core equivalents over a tenant's `tables` (its compiled metadata's) on `engine`."""

    def __init__(self, engine, tables, schema, references):
        self.engine = engine
        self.tables = tables
        self.schema = schema
        self.references = references  # the reference columns to party, of every entity

    def list(self, after=None):
        party = self.tables["party"]
        stmt = select(party).order_by(party.c.name, party.c.id).limit(PAGE + 1)
        if after is not None:
            stmt = stmt.where(tuple_(party.c.name, party.c.id) > tuple_(*after))
        with self.engine.connect() as conn:
            return conn.execute(stmt).all()

    def next_pages(self):
        """Core's keyset walk in the list's order: each step times one page after the first
        (back to the first page at the end)."""
        def last_key(rows):
            return (rows[PAGE - 1].name, rows[PAGE - 1].id) if len(rows) > PAGE else None
        after = start = last_key(self.list())
        while start is not None:
            started = time.perf_counter()
            rows = self.list(after)
            yield time.perf_counter() - started
            after = last_key(rows) or start

    def record(self, party_id: int) -> None:
        """The party, the first rows of each list of records referencing it, its audit."""
        audit = loom_table(self.schema, "loom_audit")
        with self.engine.connect() as conn:
            party = self.tables["party"]
            conn.execute(select(party).where(party.c.id == party_id)).one()
            for column in self.references:
                conn.execute(select(column.table).where(column == party_id)
                             .order_by(column.table.c.id.desc()).limit(RELATED)).all()
            conn.execute(select(audit).where(audit.c.entity == "party", audit.c.record_id == party_id)
                         .order_by(audit.c.id.desc()).limit(RELATED)).all()

    def search(self, typed: str) -> None:
        party = self.tables["party"]
        like = f"%{typed}%"
        stmt = select(party.c.id, party.c.name).where(or_(
            party.c.name.ilike(like), party.c.email.ilike(like), party.c.phone.ilike(like),
            party.c.mobile.ilike(like))).limit(20)
        with self.engine.connect() as conn:
            conn.execute(stmt).all()
