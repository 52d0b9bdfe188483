"""Record sharing: which records of an entity an actor may read and which it may edit.

An entity's ``sharing`` (see docs/metadata.md) becomes two SQL conditions added to the
record service's statements, so list, search, paging and export filter in the
database and never load what the caller may not see.  A member's access to a record
is the best of: the entity's ``default``; ``edit`` as its owner; ``edit`` as a manager
of its owner (``managers``); and each rule that matches: a field rule, a parent rule (the
record it references is readable) or a referrer rule (a readable record references it).
Admins and the system (no actor: rules, jobs, the CLI) are never restricted, nor is an
entity without sharing.  The same read condition decides which records a write may
reference (``references_limited``): what the actor cannot read does not exist for them.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import case, false, literal, or_, select

from engine.errors import Forbidden, NotFound
from engine.fieldstorage import dump_value
from engine.fieldtypes import FieldInvalid, parse_query_value
from engine.problem_codes import problem
from engine.records.conditions_sql import condition_clause

MAX_DEPTH = 5  # parent and referrer rules followed this deep; deeper (or a cycle) grants nothing
ACCESS = {"none": 0, "read": 1, "edit": 2}
TERMS_KEPT = 512  # actors' built terms kept per metadata version; the least recently used go


class NotShared(Forbidden):
    """A write the actor's sharing does not allow (403)."""

    code = "not_shared"


def restricted(entity, actor) -> bool:
    """Whether sharing applies at all: the cheap test every record path makes first."""
    return entity.sharing is not None and actor is not None and not actor.is_admin


class Sharing:
    """One actor's view of a tenant's records, for one record service."""

    def __init__(self, metadata, actor, storage):
        self.metadata = metadata
        self.actor = actor
        self.storage = storage

    def read_clause(self, entity):
        """A WHERE condition for the records the actor may read; None = every record."""
        terms = self.read_terms(entity)
        return None if terms is None else or_(*terms)

    def read_terms(self, entity) -> list | None:
        """The alternatives of `read_clause` (owner, each rule), for planners that do better
        with one query per alternative; None = every record."""
        return self._terms(entity, "read", 0) if restricted(entity, self.actor) else None

    def by_union(self, entity, dialect: str) -> bool:
        """Whether a member's list page is best a UNION of one query per read term: on
        SQLite always (it sorts every row matching an OR); on PostgreSQL when a referrer
        rule makes terms sparse subqueries (an OR walks the whole primary key)."""
        return dialect == "sqlite" or any("referenced_by" in rule for rule in entity.sharing["rules"])

    def edit_clause(self, entity):
        """A WHERE condition for the records the actor may change; None = every record."""
        return self._clause(entity, "edit", 0) if restricted(entity, self.actor) else None

    def _clause(self, entity, access, depth):
        terms = self._terms(entity, access, depth)
        return None if terms is None else or_(*terms)

    def _terms(self, entity, access, depth):
        """The terms of `_labelled_terms`, built once per metadata version and what they are
        built from (`_terms_key`): a request of the same actor, with the same reports and
        attributes, takes them as built (compiling them is most of a member's `get`)."""
        if ACCESS[entity.sharing["default"]] >= ACCESS[access]:
            return None
        key = self._terms_key(entity, access, depth)
        kept = self.metadata.memo(("sharing_terms",), KeptTerms)
        found = kept.get(key)
        if found is None:
            found = kept.put(key, tuple(term for _, term in self._labelled_terms(entity, access, depth)))
        return list(found)

    def _terms_key(self, entity, access, depth) -> tuple:
        """Everything the terms of (entity, access, depth) read of the actor: its id, its
        reports when a term of managers reads them, and the attributes field rules read
        (their raw values, by repr: 1, 1.0, True and "1" convert differently).  Which of
        them is read depends on the metadata alone (`_inputs`)."""
        managers, names = self.metadata.memo(("sharing_inputs", entity.name, access, depth),
                                             lambda: _inputs(self.metadata, entity, access, depth))
        actor = self.actor
        reports = tuple(sorted(actor.reports(self.storage))) if managers else None
        return entity.name, access, depth, actor.id, reports, tuple(repr(actor.attribute_values(n)) for n in names)

    def _labelled_terms(self, entity, access, depth):
        """`_terms` with what gives each: ``{"term": "owner"}`` or ``{"term": "rule", "index": i}``."""
        sharing = entity.sharing
        if ACCESS[sharing["default"]] >= ACCESS[access]:
            return None
        table = self.metadata.tables[entity.name]
        owners = [self.actor.id]
        if sharing["managers"]:
            owners += sorted(self.actor.reports(self.storage))
        terms = [({"term": "owner", "managers": sharing["managers"]}, _term(entity, table, "owner_id", owners))]
        for index, rule in enumerate(sharing["rules"]):
            if ACCESS[rule["access"]] < ACCESS[access]:
                continue
            label = {"term": "rule", "index": index, "rule": dict(rule)}
            if "parent" in rule:
                terms.append((label, self._parent_term(entity, table, rule["parent"], depth)))
            elif "referenced_by" in rule:
                terms += [(label, term) for term in self._referrer_terms(table, rule["referenced_by"], depth)]
            else:
                values = [v for v in self.attribute_values(entity, rule) or () if v != ""]
                if values:  # an empty attribute value matches nothing, as in every condition
                    terms.append((label, _term(entity, table, rule["field"], values)))
        return terms

    def explain(self, conn, entity, record_id) -> dict:
        """Why the actor may read and edit the record, or not: for each access, the
        sharing terms that give it (``default``, ``owner``, a rule by its index), or
        ``unrestricted`` (no sharing, or an admin)."""
        if not restricted(entity, self.actor):
            return {access: [{"term": "unrestricted"}] for access in ("read", "edit")}
        table = self.metadata.tables[entity.name]
        out = {}
        for access in ("read", "edit"):
            labelled = self._labelled_terms(entity, access, 0)
            if labelled is None:
                out[access] = [{"term": "default", "default": entity.sharing["default"]}]
                continue
            flags = [case((term, 1), else_=0) for _, term in labelled]
            row = conn.execute(select(*flags).where(table.c.id == record_id)).first()
            given = [label for (label, _), flag in zip(labelled, row or ()) if flag]
            out[access] = [dict(t) for t in {_label_key(g): g for g in given}.values()]
        return out

    def _parent_term(self, entity, table, field_name, depth):
        """The reference points at a record the actor may read (any access to it)."""
        column = table.c[field_name]
        parent = self.metadata.entity(entity.field(field_name).to)
        if depth >= MAX_DEPTH:
            return false()
        if parent is None or parent.sharing is None:
            return column.is_not(None)
        inner = self._clause(parent, "read", depth + 1)
        if inner is None:
            return column.is_not(None)
        parent_table = self.metadata.tables[parent.name]
        return column.in_(select(parent_table.c.id).where(inner))

    def _referrer_terms(self, table, referrer, depth) -> list:
        """A readable record of entity E references this one through its field F
        (``referenced_by: "E.F"``): the policyholders of a visible policy.  One term per
        alternative of E's read condition, so each reads E through that alternative's
        index (an OR of them inside one subquery makes SQLite scan E)."""
        entity_name, field_name = referrer.split(".", 1)
        child = self.metadata.entity(entity_name)
        if depth >= MAX_DEPTH or child is None:
            return [false()]
        column = self.metadata.tables[child.name].c[field_name]
        referring = select(column).where(column.is_not(None))
        inner = self._terms(child, "read", depth + 1) if child.sharing is not None else None
        if inner is None:
            return [table.c.id.in_(referring)]
        return [table.c.id.in_(referring.where(term)) for term in inner]

    def references_limited(self, entity) -> bool:
        """Whether a write of ``entity`` by this actor may reference records it cannot read:
        then the record service checks every reference against the read condition."""
        if self.actor is None or self.actor.is_admin:
            return False
        for field in entity.fields:
            if (field.base_type or field.type) == "reference" and \
                    restricted(self.metadata.entity(field.to), self.actor):
                return True
        return False

    def attribute_values(self, entity, rule) -> list | None:
        """The actor's attribute of a field rule converted to the field's type; values
        that cannot be of that type are dropped; None when the actor lacks it."""
        raw = self.actor.attribute_values(rule["user"])
        if raw is None:
            return None
        field = entity.field(rule["field"])
        converted = []
        for value in raw:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            try:
                converted.append(parse_query_value(field, text))
            except (FieldInvalid, ValueError, ArithmeticError):
                continue
        return converted

    def require_edit(self, conn, entity, record_id) -> None:
        """For a write, on the row it locked: 404 when the actor may not read the
        record (never a hint it exists), 403 ``read_only`` when it may only read it."""
        if not restricted(entity, self.actor):
            return
        table = self.metadata.tables[entity.name]
        read, edit = self.read_clause(entity), self.edit_clause(entity)
        flags = [case((clause, 1), else_=0) if clause is not None else literal(1) for clause in (read, edit)]
        row = conn.execute(select(*flags).where(table.c.id == record_id)).first()
        if row is None or not row[0]:
            raise NotFound(f"no {entity.name} record {record_id}", code="record_not_found")
        if not row[1]:
            raise Forbidden(f"{entity.name} {record_id} is shared with you to read, not to change",
                            code="read_only")

    def editable_among(self, conn, entity, ids) -> set:
        """The ids among `ids` of records the actor may read and change (`require_edit`
        for many rows, in one query)."""
        table = self.metadata.tables[entity.name]
        if not restricted(entity, self.actor):
            return set(conn.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
        clauses = [c for c in (self.read_clause(entity), self.edit_clause(entity)) if c is not None]
        return set(conn.execute(select(table.c.id).where(table.c.id.in_(ids), *clauses)).scalars())

    # -- creating -------------------------------------------------------------------
    def fill(self, entity, data):
        """A copy of ``data`` (a create body) with each empty field-rule field set to the
        actor's attribute when the actor has exactly one value for it."""
        if not restricted(entity, self.actor) or not isinstance(data, dict):
            return data
        data = dict(data)
        for rule in _field_rules(entity):
            if data.get(rule["field"]) is None:
                values = self.attribute_values(entity, rule)
                if values is not None and len(values) == 1:
                    field = entity.field(rule["field"])
                    data[rule["field"]] = dump_value(field.base_type or field.type, values[0])
        return data

    def refused(self, entity, values: dict) -> list[dict]:
        """Problems with converted field values the actor may not give: a field-rule
        field holding a value outside the actor's attribute (when the actor has it)."""
        if not restricted(entity, self.actor):
            return []
        problems = []
        for rule in _field_rules(entity):
            value = values.get(rule["field"])
            allowed = self.attribute_values(entity, rule) if value is not None else None
            if allowed is not None and value not in allowed:
                problems.append(problem(rule["field"], "not_your_value",
                                        f"{dump_value(entity.field(rule['field']).base_type, value)!r} "
                                        f"is not one of your {rule['user']!r} values", attribute=rule["user"]).to_dict())
        return problems


class KeptTerms:
    """Built sharing terms of one metadata version by `Sharing._terms_key`: the most
    recently used `TERMS_KEPT` (a tenant's active members), shared by its requests.  The
    terms are SQLAlchemy expressions, never changed once built: statements use them as
    they are."""

    def __init__(self):
        self._kept: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple, terms: tuple) -> tuple:
        with self._lock:
            self._kept[key] = terms
            while len(self._kept) > TERMS_KEPT:
                self._kept.popitem(last=False)
        return terms


def _inputs(metadata, entity, access: str, depth: int) -> tuple[bool, tuple]:
    """What `Sharing._labelled_terms` reads of the actor for (entity, access, depth), as it
    walks: whether the reports (a term of managers), and which attributes (field rules),
    through parent and referrer rules as deep as they are followed."""
    sharing = entity.sharing
    if sharing is None or ACCESS[sharing["default"]] >= ACCESS[access]:
        return False, ()
    managers, names = sharing["managers"], set()
    for rule in sharing["rules"]:
        if ACCESS[rule["access"]] < ACCESS[access]:
            continue
        if "parent" in rule or "referenced_by" in rule:
            other = metadata.entity(entity.field(rule["parent"]).to) if "parent" in rule else \
                metadata.entity(rule["referenced_by"].split(".", 1)[0])
            if depth < MAX_DEPTH and other is not None:
                deeper, more = _inputs(metadata, other, "read", depth + 1)
                managers, names = managers or deeper, names | set(more)
        else:
            names.add(rule["user"])
    return bool(managers), tuple(sorted(names))


def _label_key(label: dict) -> str:
    return repr(sorted(label.items(), key=lambda kv: kv[0]))


def _term(entity, table, name: str, values: list):
    """``name`` equals one of ``values`` (converted already): a leaf of the condition
    language, compiled by its one SQL compiler (engine.records.conditions_sql)."""
    leaf = {"field": name, "op": "eq", "value": values[0]} if len(values) == 1 else \
        {"field": name, "op": "in", "value": values}
    return condition_clause(leaf, entity, table, parsed=True)


def _field_rules(entity):
    return [rule for rule in entity.sharing["rules"] if "field" in rule]


def refuse(entity, problems, prefix=""):
    """Raise the 403 for values the actor may not write (``prefix``: a batch item path)."""
    if problems:
        raise NotShared(f"you may not create or move a {entity.name} record outside what is "
                        f"shared with you", details=[{**p, "field": prefix + p["field"]} for p in problems])
