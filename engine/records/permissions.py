"""Roles and permission sets: what one actor may do with each entity's records and see of
each field, decided once for every record path (the record service asks it before every
read and write, so the API, screens, search, related lists, history, export, import and
what plugins read through the service all obey it).

A tenant's roles and permission sets are metadata (``roles``, ``permission_sets``; see
docs/metadata.md). Two roles are built in: ``admin`` may do everything, and ``member`` — a
user who holds none of the tenant's roles — may do everything but ``transfer`` (record
sharing still limits which records). A user holding roles gets the union of those roles'
rights and of their permission sets'; a field's access is the best any of them gives
among those that may read, create or update the entity. Loom itself (no actor: rules,
jobs, the command line) is never restricted."""
from __future__ import annotations

from dataclasses import dataclass, replace

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.records.dump import SYSTEM_FIELDS

RIGHTS = ("create", "read", "update", "delete", "export", "import", "merge", "transfer")
MEMBER_RIGHTS = frozenset(RIGHTS) - {"transfer"}
ACCESS = {"none": 0, "read": 1, "edit": 2}
FIELD_SOURCES = frozenset({"read", "create", "update"})  # rights that make a source decide fields


class PermissionDenied(Forbidden):
    """An action the actor's roles do not allow (403)."""

    code = "permission_denied"


@dataclass(frozen=True)
class Source:
    """Where a right comes from: a built-in role, a role or a permission set of the tenant."""

    kind: str   # "built-in role", "role", "permission set"
    name: str
    doc: dict | None = None  # the role document (None for the built-in roles)

    def rights(self, entity: str) -> frozenset:
        if self.doc is None:
            return frozenset(RIGHTS) if self.name == "admin" else MEMBER_RIGHTS
        return frozenset(self._entry(entity).get("rights", ()))

    def access(self, entity: str, field: str) -> str:
        if self.doc is None:
            return "edit"
        entry = self._entry(entity)
        return entry.get("fields", {}).get(field, entry.get("other_fields", "edit"))

    def _entry(self, entity: str) -> dict:
        found = (self.doc.get("entities") or {}).get(entity)
        return found if isinstance(found, dict) else {}

    def classes(self, key: str) -> tuple:
        return tuple(self.doc.get(key, ())) if self.doc is not None else ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name}


def sources_of(package, actor) -> tuple[Source, ...]:
    """The roles and permission sets `actor` holds, as the tenant's metadata defines them
    (a name the metadata no longer defines gives nothing)."""
    if actor.is_admin:
        return (Source("built-in role", "admin"),)
    roles = {r["name"]: r for r in package.roles}
    sets = {s["name"]: s for s in package.permission_sets}
    held = tuple(getattr(actor, "roles", ()) or ())
    found = [Source("role", n, roles[n]) for n in held if n in roles]
    if not held:
        found.insert(0, Source("built-in role", "member"))
    found += [Source("permission set", n, sets[n]) for n in getattr(actor, "permission_sets", ()) or () if n in sets]
    return tuple(found)


class Permissions:
    """One actor's rights under one metadata version; every answer is kept (an instance
    lives as long as its record service)."""

    def __init__(self, package, actor):
        self.actor = actor
        self.unrestricted = actor is None or actor.is_admin
        self.sources = () if actor is None else sources_of(package, actor)
        # what the answers depend on: views built from them are kept per key
        self.key = ("all",) if self.unrestricted else \
            (actor.role, tuple(getattr(actor, "roles", ())), tuple(getattr(actor, "permission_sets", ())))
        self._memo: dict = {}

    # -- entities ---------------------------------------------------------------------
    def rights(self, entity_name: str) -> frozenset:
        if self.unrestricted:
            return frozenset(RIGHTS)
        key = ("rights", entity_name)
        if key not in self._memo:
            self._memo[key] = frozenset().union(*(s.rights(entity_name) for s in self.sources))
        return self._memo[key]

    def may(self, entity_name: str, right: str) -> bool:
        return right in self.rights(entity_name)

    def require_entity(self, entity) -> None:
        """404 as for an unknown entity when the actor has no right at all on it."""
        if not self.rights(entity.name):
            raise NotFound(f"no entity {entity.name!r}", code="entity_not_found")

    def require(self, entity, right: str) -> None:
        """404 for a read of an entity the actor may not read (as if it did not exist);
        403 ``permission_denied`` for any other right it lacks."""
        if self.may(entity.name, right):
            return
        if right == "read":
            raise NotFound(f"no entity {entity.name!r}", code="entity_not_found")
        raise PermissionDenied(f"your roles do not allow you to {right} {entity.name} records",
                               details=[{"field": entity.name, "message": f"no {right} right",
                                         "code": "permission_denied"}])

    # -- fields -----------------------------------------------------------------------
    def access(self, entity, field_name: str) -> str:
        """``edit``, ``read`` or ``none``: what the actor may do with the field."""
        if self.unrestricted:
            return "edit"
        best = 0
        for source in self.sources:
            if source.rights(entity.name) & FIELD_SOURCES:
                best = max(best, ACCESS.get(source.access(entity.name, field_name), 0))
        return next(k for k, v in ACCESS.items() if v == best)

    def hidden(self, entity) -> frozenset:
        """Names of the fields the actor may not read: absent from every output."""
        if self.unrestricted:
            return frozenset()
        key = ("hidden", entity.name)
        if key not in self._memo:
            self._memo[key] = frozenset(f.name for f in entity.fields if self.access(entity, f.name) == "none")
        return self._memo[key]

    def visible(self, entity):
        """The entity as the actor sees it: its hidden fields left out, so a filter, sort,
        ``fields=`` or condition naming one is refused exactly as for an unknown field."""
        hidden = self.hidden(entity)
        if not hidden:
            return entity
        key = ("visible", entity.name)
        if key not in self._memo:
            self._memo[key] = replace(entity, fields=tuple(f for f in entity.fields if f.name not in hidden))
        return self._memo[key]

    def columns(self, entity, columns):
        """The columns to dump: `columns` (from ``fields=``) or, when fields are hidden,
        every visible one; None = all."""
        hidden = self.hidden(entity)
        if not hidden:
            return columns
        if columns is None:
            return tuple(SYSTEM_FIELDS) + tuple(f.name for f in entity.fields if f.name not in hidden)
        return tuple(c for c in columns if c not in hidden)

    def strip(self, entity, record: dict | None) -> dict | None:
        """`record` (or an audit entry's changes) without the hidden fields."""
        hidden = self.hidden(entity)
        if not hidden or record is None:
            return record
        return {k: v for k, v in record.items() if k not in hidden}

    def check_write(self, entity, data, prefix: str = "") -> None:
        """Refuse a body naming a field the actor may not edit: a hidden field as an
        unknown one (400, as the schema would), a read-only one with 403
        ``field_not_editable``; every problem at once."""
        if self.unrestricted or not isinstance(data, dict):
            return
        unknown, readonly = [], []
        for name in data:
            if entity.field(name) is None:
                continue
            access = self.access(entity, name)
            if access == "none":
                unknown.append({"field": prefix + name, "message": "Unknown field."})
            elif access == "read":
                readonly.append({"field": prefix + name, "message": "you may read this field, not change it",
                                 "code": "field_not_editable"})
        if unknown:
            raise ValidationFailed(f"invalid {entity.name} record", details=unknown)
        if readonly:
            raise Forbidden(f"your roles do not allow you to change {', '.join(d['field'] for d in readonly)}",
                            code="field_not_editable", details=readonly)

    def visible_package(self, package):
        """`package` as the screens draw it for the actor: the entities it may not read left
        out with their layouts and workflows, the fields it may not read hidden (so every
        layout leaves them out) and those it may only read read-only."""
        if self.unrestricted:
            return package
        entities = []
        for entity in package.entities:
            if not self.may(entity.name, "read"):
                continue
            fields = []
            for field in entity.fields:
                access = self.access(entity, field.name)
                fields.append(replace(field, hidden=True) if access == "none" else
                              replace(field, readonly=True) if access == "read" else field)
            entities.append(replace(entity, fields=tuple(fields)))
        kept = {e.name for e in entities}
        layouts = [self._layout(package, layout) for layout in package.layouts if layout.get("entity") in kept]
        return replace(package, entities=tuple(entities), layouts=tuple(layouts),
                       workflows=tuple(w for w in package.workflows if w.entity in kept))

    def _layout(self, package, layout: dict) -> dict:
        """A list layout's settings naming a hidden field dropped (the sections and columns
        leave hidden fields out by themselves)."""
        hidden = self.hidden(package.entity(layout["entity"]))
        if not hidden:
            return layout
        layout = dict(layout)
        if "header_fields" in layout:
            layout["header_fields"] = [n for n in layout["header_fields"] if n not in hidden]
        for key in ("kanban_field", "calendar_field"):
            if layout.get(key) in hidden:
                del layout[key]
        return layout

    # -- personal data ------------------------------------------------------------------
    def may_unmask(self, pii_class: str) -> bool:
        return self.unrestricted or any(pii_class in s.classes("unmask") for s in self.sources)

    def may_export_pii(self, pii_class: str) -> bool:
        return self.unrestricted or any(pii_class in s.classes("export_pii") for s in self.sources)

    # -- why --------------------------------------------------------------------------
    def explain(self, entity, field_name: str | None = None) -> dict:
        """Which of the actor's roles and permission sets give each right on `entity`
        (and, with `field_name`, each access to the field)."""
        rights = {right: [s.to_dict() for s in self.sources if right in s.rights(entity.name)] for right in RIGHTS}
        out = {"entity": entity.name, "rights": {k: v for k, v in rights.items() if v},
               "sources": [s.to_dict() for s in self.sources]}
        if field_name is not None:
            out["field"] = {"name": field_name, "access": self.access(entity, field_name),
                            "given_by": [{**s.to_dict(), "access": s.access(entity.name, field_name)}
                                         for s in self.sources if s.rights(entity.name) & FIELD_SOURCES]}
        return out
