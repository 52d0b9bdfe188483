"""Lookups on match keys (engine.matchkeys): `?phone=<any form>` finds the records whose
phone-keyed fields (any of them: phone, mobile, ...) hold the same number however it was
written, `?email=` those whose e-mail keys are the same address in any case; `?q=` also
finds a record whose phone key is the number the query reads as. A value that is not a
phone number is refused in plain words, not answered with no rows."""
from __future__ import annotations

from sqlalchemy import or_

from engine.matchkeys import match_kind
from engine.normalise import DEFAULT_REGION, phone_key
from engine.records.filters import ParamProblem

LOOKUPS = ("phone", "email")


def _specs(entity, table, kind, skip=frozenset()):
    """The keys of `kind` of the fields the caller can see (`entity`: the visible fields)."""
    return [s for s in table.info.get("match_keys", ())
            if s.kind == kind and entity.field(s.field) is not None and s.field not in skip]


def key_clause(entity, table, key, raw):
    """The condition of a `phone=` / `email=` lookup, or None when `key` is not one for
    this entity (it has no keys of that kind, or a field of that name keeps no such key:
    then the parameter filters that field as before)."""
    if key not in LOOKUPS:
        return None
    specs = _specs(entity, table, key)
    named = entity.field(key)
    if not specs or (named is not None and named.name not in {s.field for s in specs}):
        return None
    clauses = []
    for spec in specs:
        found = spec.key(raw)
        if found is None:
            what = "a phone number" if key == "phone" else "an e-mail address"
            raise ParamProblem(f"{raw[:40]!r} is not {what} that can be looked up"
                               + (f" (a number without a country code is read as one of {spec.region})"
                                  if key == "phone" else ""))
        clauses.append(table.c[spec.column] == found)
    return or_(*clauses)


def key_search(entity, table, raw, skip=frozenset()):
    """`q`: the records whose phone key is the number `raw` reads as (None: `raw` is no
    phone number, or the entity keys none)."""
    specs = _specs(entity, table, "phone", skip)
    if not specs or sum(ch.isdigit() for ch in raw) < 5:
        return None
    clauses = [table.c[s.column] == k for s in specs
               if (k := phone_key(raw, s.region or DEFAULT_REGION)) is not None]
    return or_(*clauses) if clauses else None


def lookup_parameters(entity, params) -> list:
    """`phone=` / `email=` on match keys (engine.records.key_lookup): described on the field
    of that name, or added when the entity keys such values in fields of other names."""
    for kind, words in (("phone", "a phone number in any written form"), ("email", "an e-mail address in any case")):
        keyed = [f.name for f in entity.fields if match_kind(f) == kind]
        named = next((p for p in params if p["name"] == kind), None)
        if not keyed or (named is not None and kind not in keyed):
            continue
        text = f"look up {words}: records whose {', '.join(keyed)} hold it (their match keys)"
        if named is not None:
            named["description"] = f"{text}; {kind}__eq and the other operators filter what was typed"
        else:
            params.append({"name": kind, "in": "query", "required": False, "schema": {"type": "string"},
                           "description": text})
    return params
