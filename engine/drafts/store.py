"""The rows of `loom_drafts`: read, create, write and close a draft. An open draft has
`open_owner` = its owner, so the unique index keeps one open draft per admin."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.systables import loom_table


def _table(schema):
    return loom_table(schema, "loom_drafts")


def open_of(conn, schema, owner_id) -> dict | None:
    table = _table(schema)
    row = conn.execute(select(table).where(table.c.open_owner == owner_id)).mappings().first()
    return None if row is None else dict(row)


def all_open(conn, schema, except_owner=None) -> list[dict]:
    """Every open draft (but `except_owner`'s)."""
    table = _table(schema)
    query = select(table).where(table.c.open_owner.is_not(None)).order_by(table.c.id)
    if except_owner is not None:
        query = query.where(table.c.open_owner != except_owner)
    return [dict(r) for r in conn.execute(query).mappings()]


def create(storage, actor, based_on: int, document: dict, problems: list) -> dict:
    """The actor's new open draft; when one was opened meanwhile (another request of the
    same admin), that one."""
    now = datetime.now(timezone.utc)
    values = dict(owner_id=actor.id, owner_email=actor.email, open_owner=actor.id, status="open",
                  based_on=based_on, document=document, problems=problems, created_at=now, updated_at=now)
    try:
        with storage.begin() as conn:
            conn.execute(_table(storage.schema).insert().values(**values))
    except IntegrityError:
        pass
    with storage.connect() as conn:
        return open_of(conn, storage.schema, actor.id)


def write(storage, draft_id: int, **values) -> None:
    table = _table(storage.schema)
    with storage.begin() as conn:
        conn.execute(table.update().where(table.c.id == draft_id)
                     .values(updated_at=datetime.now(timezone.utc), **values))


def close(storage, draft_id: int, status: str, published_version: int | None = None) -> None:
    """End an open draft: `published` (with the version it became) or `discarded`."""
    write(storage, draft_id, status=status, open_owner=None, published_version=published_version)
