"""Who did something, as a screen names them: a user's display name, else their e-mail."""
from __future__ import annotations

from engine.whole import whole_number
from flask import g
from sqlalchemy import select

from engine.systables import loom_table


def names_of(ids) -> dict:
    """`{user id: name}` for the users among `ids` (one query; None ids are left out)."""
    wanted = sorted({n for n in map(whole_number, ids) if n is not None})
    if not wanted:
        return {}
    users = loom_table(g.session.storage.schema, "loom_users")
    with g.session.storage.connect() as conn:
        rows = conn.execute(select(users.c.id, users.c.display_name, users.c.email)
                            .where(users.c.id.in_(wanted))).all()
    return {row.id: row.display_name or row.email for row in rows}


def active_people() -> list[tuple[int, str]]:
    """`(id, name)` of the tenant's active users by name: who a record can be given to."""
    users = loom_table(g.session.storage.schema, "loom_users")
    with g.session.storage.connect() as conn:
        rows = conn.execute(select(users.c.id, users.c.display_name, users.c.email)
                            .where(users.c.active)).all()
    return sorted(((row.id, row.display_name or row.email) for row in rows), key=lambda p: p[1].lower())
