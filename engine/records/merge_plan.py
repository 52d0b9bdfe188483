"""What a merge of records would do, worked out before anything is written: the request
checked (survivor, losers, the per-field choices), the winning value of every field, the
references of every entity to re-point from the losers to the survivor, and the unique
indexes re-pointing would break.

A field's winner is, unless the request names one, the most recent non-empty value: the
records are taken newest `updated_at` first (the survivor first among equals) and the
first value that is not empty wins. A request names a winner per field by record id
(`{"email": 42}`) or gives the value itself (`{"email": {"value": "a@b.cn"}}`). Read-only
fields and the workflow's state field keep the survivor's value; a reference from the
entity to itself that names one of the merged records counts as empty (a record cannot be
its own parent)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from engine.compiler import composite_index_name
from engine.errors import ValidationFailed

MAX_LOSERS = 50
MAX_LISTED = 20
EMPTY = (None, "", [], {})


@dataclass
class MergeRequest:
    survivor: int
    losers: list
    choices: dict  # field name -> ("record", id) | ("value", value)


@dataclass
class Repoint:
    """The records of `entity` whose `field` names a loser: {loser id: [their ids]}."""
    entity: str
    field: str
    records: dict

    def to_dict(self) -> dict:
        return {"entity": self.entity, "field": self.field,
                "records": {str(loser): ids for loser, ids in self.records.items()}}

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.records.values())


@dataclass
class MergePlan:
    entity: str
    survivor: dict               # the survivor's record as JSON, before the merge
    losers: list                 # the losers' records as JSON (system fields included)
    winners: dict                # field -> {"from": record id or None, "value": JSON value}
    changes: dict                # field -> [survivor's value, winning value]
    references: list = field(default_factory=list)   # [Repoint]
    conflicts: list = field(default_factory=list)    # [{"field", "message"}]

    def preview(self) -> dict:
        """What a dry run answers."""
        by_entity: dict = {}
        for repoint in self.references:
            by_entity.setdefault(repoint.entity, {})[repoint.field] = repoint.to_dict()["records"]
        return {"dry_run": True, "entity": self.entity, "survivor": self.survivor["id"],
                "losers": [r["id"] for r in self.losers], "winners": self.winners, "changes": self.changes,
                "references": by_entity, "conflicts": self.conflicts}


def mergeable(entity, state_field) -> list:
    """The fields a merge chooses a value for."""
    return [f for f in entity.fields if not f.readonly and f.name != state_field]


def merge_request(entity, survivor, losers, fields, state_field) -> MergeRequest:
    """The request checked at the door: every problem at once, as a 400."""
    details = []
    survivor_id = _id(survivor, "survivor", details)
    if not isinstance(losers, list) or not losers:
        details.append({"field": "losers", "message": "must be a non-empty list of record ids"})
        losers = []
    elif len(losers) > MAX_LOSERS:
        details.append({"field": "losers", "message": f"at most {MAX_LOSERS} records merge at once"})
        losers = []
    loser_ids = [_id(value, f"losers/{index}", details) for index, value in enumerate(losers)]
    seen = set()
    for index, loser in enumerate(loser_ids):
        if loser is None:
            continue
        if loser == survivor_id:
            details.append({"field": f"losers/{index}",
                            "message": f"{loser} is the survivor: it cannot also be merged into itself"})
        elif loser in seen:
            details.append({"field": f"losers/{index}", "message": f"{loser} is named twice"})
        seen.add(loser)
    choices = _choices(entity, fields, {survivor_id, *loser_ids} - {None}, state_field, details)
    if details:
        raise ValidationFailed(f"invalid merge of {entity.name} records", details=details)
    return MergeRequest(survivor_id, loser_ids, choices)


def _id(value, path, details):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**63 - 1:
        details.append({"field": path, "message": "must be a record id (a positive whole number)"})
        return None
    return value


def _choices(entity, fields, ids, state_field, details) -> dict:
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        details.append({"field": "fields", "message": "must be an object: field name -> record id or {\"value\": …}"})
        return {}
    allowed = {f.name for f in mergeable(entity, state_field)}
    choices = {}
    for name, choice in fields.items():
        path = f"fields/{name}"
        if entity.field(name) is None:
            details.append({"field": path, "message": f"{entity.name} has no field {name!r}"})
        elif name not in allowed:
            details.append({"field": path, "message": "is read-only or set by the workflow: the survivor keeps it"})
        elif isinstance(choice, dict) and set(choice) == {"value"}:
            choices[name] = ("value", choice["value"])
        elif not isinstance(choice, bool) and isinstance(choice, int) and choice in ids:
            choices[name] = ("record", choice)
        else:
            details.append({"field": path, "message": "must be the id of the survivor or of a loser, "
                                                       "or {\"value\": …}"})
    return choices


def winners(entity, state_field, survivor: dict, losers: list, choices: dict) -> dict:
    """field -> {"from": record id or None (a given value), "value": JSON value}."""
    by_id = {r["id"]: r for r in [survivor, *losers]}
    newest = sorted(by_id.values(), key=lambda r: (r["updated_at"] or "", r["id"] == survivor["id"]), reverse=True)
    merged = set(by_id)
    out = {}
    for f in mergeable(entity, state_field):
        self_reference = (f.base_type or f.type) == "reference" and f.to == entity.name

        def empty(value):
            return value in EMPTY or (self_reference and value in merged)

        kind, chosen = choices.get(f.name, (None, None))
        if kind == "value":
            out[f.name] = {"from": None, "value": chosen}
        elif kind == "record":
            value = by_id[chosen][f.name]
            out[f.name] = {"from": chosen, "value": None if empty(value) else value}
        else:
            source = next((r for r in newest if not empty(r[f.name])), survivor)
            value = source[f.name]
            out[f.name] = {"from": source["id"], "value": None if empty(value) else value}
    return out


def references(conn, metadata, entity_name, survivor_id, loser_ids) -> list:
    """Every reference to a loser, in every entity, but the losers' own (they go with them)."""
    found = []
    for ref_entity, ref_field in metadata.referrers(entity_name):
        table = metadata.tables[ref_entity.name]
        column = table.c[ref_field.name]
        stmt = select(table.c.id, column).where(column.in_(loser_ids)).order_by(table.c.id)
        if ref_entity.name == entity_name:
            stmt = stmt.where(table.c.id.not_in([survivor_id, *loser_ids]))
        records: dict = {}
        for row_id, loser in conn.execute(stmt).all():
            records.setdefault(loser, []).append(row_id)
        if records:
            found.append(Repoint(ref_entity.name, ref_field.name, records))
    return found


def unique_conflicts(conn, metadata, survivor_id, repoints) -> list:
    """The unique indexes re-pointing would break: two records of an entity that would then
    hold the same values (the survivor's own, or two losers'), each said with its ids."""
    problems = []
    for repoint in repoints:
        entity = metadata.entity(repoint.entity)
        table = metadata.tables[repoint.entity]
        groups = [((repoint.field,), f"unique field {repoint.field}")] if entity.field(repoint.field).unique else []
        groups += [(tuple(index.fields), composite_index_name(entity.name, index))
                   for index in entity.indexes if index.unique and repoint.field in index.fields]
        moved = {row_id for ids in repoint.records.values() for row_id in ids}
        for columns, name in groups:
            stmt = select(table.c.id, *(table.c[c] for c in columns)).where(
                table.c[repoint.field].in_([survivor_id, *repoint.records]))
            seen: dict = {}
            for row in conn.execute(stmt).all():
                key = tuple(survivor_id if c == repoint.field else v for c, v in zip(columns, row[1:]))
                if any(v is None for v in key):
                    continue
                seen.setdefault(key, []).append(row[0])
            for ids in seen.values():
                if len(ids) > 1 and moved & set(ids):
                    listed = ", ".join(str(i) for i in sorted(ids)[:MAX_LISTED])
                    problems.append({"field": f"{repoint.entity}.{repoint.field}",
                                     "message": f"{repoint.entity} records {listed} would hold the same "
                                                f"{', '.join(columns)} ({name}); change or delete one first"})
    return problems
