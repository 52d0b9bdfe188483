"""List filters: one ``field`` / ``field__op`` parameter (or ``q``) of a list query as a
SQL condition, refused in plain words when it means nothing for the field's type.

A field literally named like a reserved parameter (``q``, ``sort`` ...) can still be
filtered with an explicit operator: ``sort__eq=x``.
"""
from __future__ import annotations

from sqlalchemy import String, cast, or_

from engine.fieldstorage import CURRENCY_SUFFIX
from engine.fieldtypes import FieldInvalid, parse_query_value
from engine.records.conditions_sql import condition_clause
from engine.records.options import holds
from metadata.model import Field

MAX_IN_VALUES = 100
RESERVED = ("q", "sort", "limit", "cursor", "fields")
OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "isnull", "any", "all")
OPTION_OPERATORS = ("eq", "ne", "any", "all", "isnull")  # a multi_choice field: holds / lacks an option
ENCRYPTED_OPERATORS = ("eq", "ne", "in", "isnull")  # a field encrypted at rest: through its keyed hash
RANGE_OPERATORS = {"lt": "__lt__", "lte": "__le__", "gt": "__gt__", "gte": "__ge__"}
SYSTEM_TYPES = {"id": "integer", "created_at": "datetime", "updated_at": "datetime",
                "created_by": "integer", "updated_by": "integer", "owner_id": "integer",
                "version": "integer"}
LIKE_TYPES = frozenset({"string", "text", "email", "phone", "url", "choice"})
SEARCH_TYPES = LIKE_TYPES - {"choice"}
OPAQUE_TYPES = frozenset({"multi_choice", "json"})      # not sorted; json only __isnull
UNORDERED_TYPES = OPAQUE_TYPES | {"boolean"}            # no lt/lte/gt/gte
SYSTEM_FIELDS = {name: Field(name=name, type=kind, label={}, base_type=kind)
                 for name, kind in SYSTEM_TYPES.items()}


class ParamProblem(Exception):
    """What is wrong with one parameter; collected so all are reported together."""

    def detail(self, key) -> dict:
        """The problem of parameter `key`: a value's problem keeps its code and details."""
        cause = self.__cause__
        return cause.problem(key).to_dict() if isinstance(cause, FieldInvalid) else {"field": key, "message": str(self)}


def base_type(field) -> str:
    return field.base_type or field.type


def known_field(entity, name):
    """A field, or a synthetic one for a system column, so both filter and sort alike."""
    field = SYSTEM_FIELDS.get(name) or entity.field(name)
    if field is None:
        raise ParamProblem(f"unknown field {name!r}")
    return field


def search_clauses(entity, table, raw, skip=frozenset()) -> tuple:
    """`q`: any of the entity's text fields holding `raw` (not those encrypted at rest, nor
    those in `skip`: personal data the caller reads masked)."""
    columns = [table.c[f.name] for f in entity.fields
               if base_type(f) in SEARCH_TYPES and not f.encrypted and f.name not in skip]
    if not columns:
        raise ParamProblem(f"{entity.name} has no text fields to search")
    if raw == "":
        return ()
    return (or_(*(column.icontains(raw, autoescape=True) for column in columns)),)


def filter_clause(entity, table, key, raw):
    """One ``field`` / ``field__op`` parameter as a SQL condition."""
    name, sep, op = key.partition("__")
    field = known_field(entity, name)
    op = op if sep else "eq"
    _check_operator(name, base_type(field), op)
    if field.encrypted and op not in ENCRYPTED_OPERATORS:
        raise ParamProblem(f"{name} is encrypted at rest: it can be filtered only with "
                           f"{', '.join(f'{name}__{o}' if o != 'eq' else name for o in ENCRYPTED_OPERATORS)}")
    column = table.c[name]
    if op == "isnull":
        missing = _missing(column, base_type(field))
        return missing if _flag(raw) else ~missing
    if op in ("contains", "startswith"):
        return (column.icontains if op == "contains" else column.istartswith)(raw, autoescape=True)
    if op in ("any", "all"):
        return holds(column, _in_values(field, raw, op), every=op == "all")
    # eq, ne, in and the ranges are leaves of the condition language, compiled by its one
    # SQL compiler: "not X" includes records with no value, as a condition's ne does.
    if base_type(field) == "multi_choice":  # field=option holds it, field__ne=option lacks it
        leaf = {"field": name, "op": "contains", "value": _convert(field, raw)}
        return condition_clause(leaf if op == "eq" else {"not": leaf}, entity, column.table, parsed=True)
    value = _in_values(field, raw) if op == "in" else _convert(field, raw)
    if "" in (value if op == "in" else [value]):
        raise ParamProblem("compare with a non-empty value: an empty value fails eq and in and passes ne "
                       f"(see the conditions' truth table); {name}__isnull=true finds records without one")
    return condition_clause({"field": name, "op": op, "value": value}, entity, column.table, parsed=True)


def _check_operator(name, base, op):
    """Refuses operators that mean nothing for the field's type, naming what would work."""
    if base == "currency" and op.split("__")[0] == CURRENCY_SUFFIX[2:]:
        raise ParamProblem(f"{name}{CURRENCY_SUFFIX} cannot be filtered; filter on {name!r} (the amount)")
    if op not in OPERATORS:
        raise ParamProblem(f"unknown operator {op!r}; use one of: {', '.join(OPERATORS)}")
    if base == "multi_choice" and op not in OPTION_OPERATORS:
        raise ParamProblem(f"a multi_choice field is filtered with {name}=option (holds it), {name}__ne=option, "
                       f"{name}__any=a,b, {name}__all=a,b or {name}__isnull")
    if op in ("any", "all") and base != "multi_choice":
        hint = f"; use {name}__in=a,b" if op == "any" else ""
        raise ParamProblem(f"{op} works only on multi_choice fields, not on a {base} field{hint}")
    if op != "isnull" and base == "json":
        raise ParamProblem(f"a json field can only be filtered with {name}__isnull")
    if op in ("contains", "startswith") and base not in LIKE_TYPES:
        raise ParamProblem(f"{op} works only on text fields, not on a {base} field")
    if op in RANGE_OPERATORS and base in UNORDERED_TYPES:
        raise ParamProblem(f"{op} does not work on a {base} field")


def _missing(column, base):
    """JSON columns may hold SQL NULL or a JSON null; both mean "no value"."""
    if base in OPAQUE_TYPES:
        return or_(column.is_(None), cast(column, String) == "null")
    return column.is_(None)


def _flag(raw) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ParamProblem(f"{raw!r} is not true or false")
    return raw.lower() == "true"


def _in_values(field, raw, op="in") -> list:
    values = raw.split(",")
    if len(values) > MAX_IN_VALUES:
        raise ParamProblem(f"{op} takes at most {MAX_IN_VALUES} values (got {len(values)})")
    return [_convert(field, value) for value in values]


def _convert(field, raw):
    try:
        return parse_query_value(field, raw)
    except FieldInvalid as invalid:
        raise ParamProblem(str(invalid)) from invalid
