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
TERMS_KEPT = 512  # built terms kept per metadata version (entries); the least recently used go
TERMS_WEIGHT = 8192  # ... and their weight: 1 + the reports each holds, summed
TERMS_HEAVIEST = 1024  # terms weighing more than this are built for each request, never kept


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

    def _terms(self, entity, access, depth, outer: Inputs | None = None):
        """The terms of `_labelled_terms`, built once per metadata version and `Inputs`
        (all they are built from): a request of the same actor, with the same reports and
        attributes, takes them as built (compiling them is most of a member's `get`).
        ``outer``: the inputs of the terms these are part of (a parent or referrer rule's)."""
        inputs = self._inputs(entity, access, depth, outer)
        if inputs is None:
            return None
        key = (entity.name, access, depth, inputs.key)
        kept = self.metadata.memo(("sharing_terms",), KeptTerms)
        found = kept.get(key)
        if found is None:
            built = tuple(term for _, term in self._labelled_terms(entity, access, depth, inputs))
            found = kept.put(key, built, 1 + len(inputs.reports or ()))
        return list(found)

    def _inputs(self, entity, access, depth, outer: Inputs | None = None) -> Inputs | None:
        """The `Inputs` of the terms of (entity, access, depth): read of the actor, or cut
        from ``outer``; None when the entity's default gives the access (no terms)."""
        needs = self.metadata.memo(("sharing_needs", entity.name, access, depth),
                                   lambda: _needs(self.metadata, entity, access, depth))
        if needs is None:
            return None
        if outer is not None:
            return outer.narrowed(needs)
        managers, names = needs
        actor = self.actor
        return Inputs(actor.id, actor.reports(self.storage) if managers else None,
                      {name: actor.attribute_values(name) for name in names})

    def _labelled_terms(self, entity, access, depth, inputs: Inputs):
        """`_terms` with what gives each: ``{"term": "owner"}`` or ``{"term": "rule", "index": i}``,
        built from ``inputs`` alone (of the actor: never ``self.actor``); for an access the
        entity's default does not give."""
        sharing = entity.sharing
        table = self.metadata.tables[entity.name]
        owners = inputs.owners() if sharing["managers"] else [inputs.actor_id]
        terms = [({"term": "owner", "managers": sharing["managers"]}, _term(entity, table, "owner_id", owners))]
        for index, rule in enumerate(sharing["rules"]):
            if ACCESS[rule["access"]] < ACCESS[access]:
                continue
            label = {"term": "rule", "index": index, "rule": dict(rule)}
            if "parent" in rule:
                terms.append((label, self._parent_term(entity, table, rule["parent"], depth, inputs)))
            elif "referenced_by" in rule:
                terms += [(label, term) for term in self._referrer_terms(table, rule["referenced_by"], depth, inputs)]
            else:
                values = [v for v in _converted(entity, rule, inputs.attribute(rule["user"])) or () if v != ""]
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
            inputs = self._inputs(entity, access, 0)
            if inputs is None:
                out[access] = [{"term": "default", "default": entity.sharing["default"]}]
                continue
            labelled = self._labelled_terms(entity, access, 0, inputs)
            flags = [case((term, 1), else_=0) for _, term in labelled]
            row = conn.execute(select(*flags).where(table.c.id == record_id)).first()
            given = [label for (label, _), flag in zip(labelled, row or ()) if flag]
            out[access] = [dict(t) for t in {_label_key(g): g for g in given}.values()]
        return out

    def _parent_term(self, entity, table, field_name, depth, inputs):
        """The reference points at a record the actor may read (any access to it)."""
        column = table.c[field_name]
        parent = self.metadata.entity(entity.field(field_name).to)
        if depth >= MAX_DEPTH:
            return false()
        if parent is None or parent.sharing is None:
            return column.is_not(None)
        inner = self._terms(parent, "read", depth + 1, inputs)
        if inner is None:
            return column.is_not(None)
        parent_table = self.metadata.tables[parent.name]
        return column.in_(select(parent_table.c.id).where(or_(*inner)))

    def _referrer_terms(self, table, referrer, depth, inputs) -> list:
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
        inner = self._terms(child, "read", depth + 1, inputs) if child.sharing is not None else None
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
        return _converted(entity, rule, self.actor.attribute_values(rule["user"]))

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


class Inputs:
    """All the sharing terms of (entity, access, depth) are built from, of the actor: its
    id, its reports when a term of managers reads them, and the raw values of the
    attributes field rules read, through parent and referrer rules (`_needs`).  Its `key`
    is their kept terms' key (the raw values by repr: 1, 1.0, True and "1" convert
    differently).  Asked for what it was not made with, it raises LookupError: a term that
    reads something new of the actor fails instead of being kept under a key without it."""

    __slots__ = ("actor_id", "reports", "attributes", "key")

    def __init__(self, actor_id: int, reports: frozenset | None, attributes: dict):
        self.actor_id, self.reports, self.attributes = actor_id, reports, attributes
        self.key = (actor_id, reports, repr(attributes))

    def narrowed(self, needs: tuple[bool, tuple]) -> "Inputs":
        """These inputs cut to ``needs`` (of a part of the terms these are read for)."""
        managers, names = needs
        return Inputs(self.actor_id, self._reports() if managers else None,
                      {name: self.attribute(name) for name in names})

    def owners(self) -> list:
        """The actor and its reports, in order."""
        return [self.actor_id, *sorted(self._reports())]

    def attribute(self, name: str) -> list | None:
        try:
            return self.attributes[name]
        except KeyError:
            raise LookupError(f"sharing terms read the attribute {name!r}, which their inputs lack") from None

    def _reports(self) -> frozenset:
        if self.reports is None:
            raise LookupError("sharing terms read the actor's reports, which their inputs lack")
        return self.reports


class KeptTerms:
    """Built sharing terms of one metadata version by their `Inputs` key, shared by its
    requests: the most recently used, at most `TERMS_KEPT` of them and `TERMS_WEIGHT` in
    weight (1 + the reports an entry's key and terms hold, so a manager of a large subtree
    counts for what it holds); terms heavier than `TERMS_HEAVIEST` are never kept.  The
    terms are SQLAlchemy expressions, never changed once built: statements use them as
    they are."""

    def __init__(self):
        self._kept: OrderedDict[tuple, tuple] = OrderedDict()  # key: (terms, weight)
        self._weight = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def weight(self) -> int:
        """The summed weight of the terms kept."""
        return self._weight

    def get(self, key: tuple) -> tuple | None:
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            self._kept.move_to_end(key)
            return found[0]

    def put(self, key: tuple, terms: tuple, weight: int = 1) -> tuple:
        """Keep ``terms`` (unless heavier than `TERMS_HEAVIEST`); return them."""
        if weight > TERMS_HEAVIEST:
            return terms
        with self._lock:
            former = self._kept.pop(key, None)
            if former is not None:
                self._weight -= former[1]
            self._kept[key] = (terms, weight)
            self._weight += weight
            while len(self._kept) > TERMS_KEPT or self._weight > TERMS_WEIGHT:
                self._weight -= self._kept.popitem(last=False)[1][1]
        return terms


def _default_gives(entity, access: str) -> bool:
    """Whether the entity's sharing ``default`` gives ``access`` to every record."""
    return ACCESS[entity.sharing["default"]] >= ACCESS[access]


def _needs(metadata, entity, access: str, depth: int) -> tuple[bool, tuple] | None:
    """What of the actor `Inputs` holds for the terms of (entity, access, depth): whether
    the reports (a term of managers) and which attributes (field rules), through parent and
    referrer rules as deep as they are followed; None when there are no terms (no sharing,
    or its default gives the access)."""
    if entity.sharing is None or _default_gives(entity, access):
        return None
    managers, names = entity.sharing["managers"], set()
    for rule in entity.sharing["rules"]:
        if ACCESS[rule["access"]] < ACCESS[access]:
            continue
        if "parent" in rule or "referenced_by" in rule:
            other = metadata.entity(entity.field(rule["parent"]).to) if "parent" in rule else \
                metadata.entity(rule["referenced_by"].split(".", 1)[0])
            if depth < MAX_DEPTH and other is not None:
                deeper, more = _needs(metadata, other, "read", depth + 1) or (False, ())
                managers, names = managers or deeper, names | set(more)
        else:
            names.add(rule["user"])
    return bool(managers), tuple(sorted(names))


def _converted(entity, rule, raw: list | None) -> list | None:
    """An attribute's raw values converted to the type of a field rule's field; values
    that cannot be of that type are dropped; None when the actor lacks the attribute."""
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


def outside(entity) -> str:
    """The message of a write giving values the actor may not write (`refuse`)."""
    return f"you may not create or move a {entity.name} record outside what is shared with you"


def refuse(entity, problems, prefix=""):
    """Raise the 403 for values the actor may not write (``prefix``: a batch item path)."""
    if problems:
        raise NotShared(outside(entity), details=[{**p, "field": prefix + p["field"]} for p in problems])
