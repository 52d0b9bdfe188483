"""Saved list views: a user's private views and the views an admin shares with everyone,
kept in `loom_saved_views` (one row per view: entity, name, owner, shared, definition).

A definition is what a list shows: `columns`, `sort`, `q`, `filters` (query parameters as
`[key, value]` pairs) and `mode` (list or kanban). It is checked against the entity as the
user sees it now, on saving and on opening: a field removed or hidden since the view was
saved is dropped from it, with a notice, rather than breaking the list.

Errors are values: a name or a view the user may not change is a LoomError (400, 403, 404)
that a caller shows as it shows any other refusal. The engine owns the table and
decides who may change which view; the list screens only read and write through here."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.records.inputs import refuse_unstorable
from engine.records.writes import utcnow
from engine.systables import loom_table

MODES = ("list", "kanban")
MAX_NAME = 200
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "owner_id")


@dataclass(frozen=True)
class SavedView:
    id: int
    entity: str
    name: str
    owner_id: int | None
    shared: bool
    definition: dict

    def changeable_by(self, user) -> bool:
        """A private view by its owner, a shared view by an admin."""
        return user.is_admin if self.shared else self.owner_id == user.id


def _table(storage):
    return loom_table(storage.schema, "loom_saved_views")


def _view(row) -> SavedView:
    return SavedView(row["id"], row["entity"], row["name"], row["owner_id"], row["shared"],
                     dict(row["definition"] or {}))


def views_for(storage, entity: str, user) -> list[SavedView]:
    """The shared views of `entity` and `user`'s own, shared first, each by name."""
    table = _table(storage)
    mine = or_(table.c.shared.is_(True), table.c.owner_id == user.id)
    with storage.connect() as conn:
        rows = conn.execute(select(table).where(and_(table.c.entity == entity, mine))
                            .order_by(table.c.shared.desc(), table.c.name, table.c.id)).mappings().all()
    return [_view(row) for row in rows]


def get_view(storage, entity: str, view_id, user) -> SavedView:
    """A view `user` may open (shared or their own), else NotFound (never a hint it exists)."""
    found = next((v for v in views_for(storage, entity, user) if str(v.id) == str(view_id)), None)
    if found is None:
        raise NotFound(f"no saved view {str(view_id)[:20]!r} of {entity}", code="view_not_found")
    return found


def save_view(storage, entity: str, name: str, definition: dict, user, shared=False) -> SavedView:
    """A new view of the user's (or, `shared` by an admin, everyone's)."""
    name = _name(name)
    if shared and not user.is_admin:
        raise Forbidden("only a tenant admin may share a view with everyone", code="share_needs_admin")
    at = utcnow()
    row = {"entity": entity, "name": name, "owner_id": None if shared else user.id, "shared": bool(shared),
           "definition": definition, "created_at": at, "updated_at": at}
    table = _table(storage)
    with storage.begin() as conn:
        view_id = conn.execute(table.insert().values(row)).inserted_primary_key[0]
    return SavedView(view_id, entity, name, row["owner_id"], row["shared"], definition)


def rename_view(storage, entity: str, view_id, name: str, user) -> SavedView:
    view = _changeable(storage, entity, view_id, user)
    name = _name(name)
    table = _table(storage)
    with storage.begin() as conn:
        conn.execute(table.update().where(table.c.id == view.id).values(name=name, updated_at=utcnow()))
    return SavedView(view.id, entity, name, view.owner_id, view.shared, view.definition)


def delete_view(storage, entity: str, view_id, user) -> None:
    view = _changeable(storage, entity, view_id, user)
    table = _table(storage)
    with storage.begin() as conn:
        conn.execute(table.delete().where(table.c.id == view.id))


def _changeable(storage, entity, view_id, user) -> SavedView:
    view = get_view(storage, entity, view_id, user)
    if not view.changeable_by(user):
        raise Forbidden("a shared view is changed only by a tenant admin", code="shared_view")
    return view


def _name(name) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed("a view needs a name", details=[
            {"field": "name", "message": f"give a name of 1 to {MAX_NAME} characters"}])
    refuse_unstorable(name, "name", "a view's name")
    return name


def clean_definition(definition, fields: set[str]) -> tuple[dict, list[str]]:
    """The definition limited to `fields` (the names the user may see), and the names it
    dropped. Anything not of the definition's shape is dropped the same way."""
    definition = definition if isinstance(definition, dict) else {}
    known = set(fields) | set(SYSTEM_COLUMNS)
    dropped: list[str] = []

    def keep(name) -> bool:
        if isinstance(name, str) and name in known:
            return True
        dropped.append(str(name))
        return False

    columns = [c for c in _list(definition.get("columns")) if keep(c)]
    sort = [key for key in str(definition.get("sort") or "").split(",") if key and keep(key.lstrip("-"))]
    filters = [[str(pair[0]), str(pair[1])] for pair in _list(definition.get("filters"))
               if isinstance(pair, (list, tuple)) and len(pair) == 2 and keep(str(pair[0]).split("__")[0])]
    q = definition.get("q") if isinstance(definition.get("q"), str) else ""
    mode = definition.get("mode") if definition.get("mode") in MODES else "list"
    cleaned = {"columns": columns, "sort": ",".join(sort), "q": q, "filters": filters, "mode": mode}
    return cleaned, sorted(set(dropped))


def _list(value) -> list:
    return value if isinstance(value, list) else []
