"""Compiling a metadata package into SQLAlchemy Core tables for one tenant's storage."""
from __future__ import annotations

import hashlib

from sqlalchemy import Column, Index, Integer, MetaData, Table

from engine.coltypes import ID_TYPE, UTCDateTime
from engine.fieldstorage import columns_for, indexed_column
from engine.matchkeys import KEY_SUFFIX, key_columns, match_kind

MAX_IDENTIFIER = 63  # PostgreSQL's limit; SQLite has none
# SQLite reuses the highest rowid after a delete unless the table says AUTOINCREMENT; an
# id must never name two records (audit trails and outbox events refer to it).
ENTITY_TABLE_OPTIONS = {"sqlite_autoincrement": True}


def system_columns() -> list[Column]:
    """The columns every entity table has, whatever its metadata says."""
    return [
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("created_by", ID_TYPE),
        Column("updated_by", ID_TYPE),
        Column("owner_id", ID_TYPE),
        Column("version", Integer, nullable=False),
    ]


def index_name(prefix: str, entity: str, field: str) -> str:
    """A stable index name that fits PostgreSQL's 63-byte identifiers."""
    name = f"{prefix}_{entity}_{field}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_IDENTIFIER - 9]}_{digest}"


def field_indexes(entity_name: str, field) -> list[tuple[str, bool]]:
    """(index name, unique) pairs a field asks for; references are always indexed, so
    that deleting the referenced record finds its dependants quickly."""
    if field.unique:
        return [(index_name("ux", entity_name, field.name), True)]
    if field.indexed or (field.base_type or field.type) == "reference":
        return [(index_name("ix", entity_name, field.name), False)]
    return []


def field_index_options(field) -> dict:
    """A multi_choice field's index is a GIN index on PostgreSQL: the one that serves its
    filters (`@>`, `?|`); SQLite ignores the option."""
    return {"postgresql_using": "gin"} if (field.base_type or field.type) == "multi_choice" else {}


def composite_index_name(entity_name: str, index) -> str:
    """``ix_<entity>_<fields>`` (``ux_`` when unique), hashed to fit; an explicit name wins."""
    if index.name:
        return index.name
    return index_name("ux" if index.unique else "ix", entity_name, "_".join(index.fields))


def composite_index_columns(index) -> list[str]:
    """The index's columns. A non-unique index ends with ``id``: list queries always sort
    by ``id`` last, so the index also serves their keyset pagination."""
    if index.unique or "id" in index.fields:
        return list(index.fields)
    return list(index.fields) + ["id"]


def composite_index_options(table: Table, index) -> dict:
    """Dialect options of a composite index. List queries sort NULL as the smallest value
    (ascending: NULLS FIRST); PostgreSQL sorts it largest unless told, so its nullable
    columns are indexed NULLS FIRST (a backward scan serves descending NULLS LAST).
    SQLite sorts NULL smallest already, and ignores ``postgresql_ops``."""
    nullable = {n: "NULLS FIRST" for n in composite_index_columns(index) if table.c[n].nullable}
    return {"postgresql_ops": nullable} if nullable else {}


def composite_indexes(entity, table: Table) -> list[tuple[str, list[str], bool, dict]]:
    """(name, column names, unique, dialect options) for each of the entity's composite indexes."""
    return [(composite_index_name(entity.name, index), composite_index_columns(index), index.unique,
             composite_index_options(table, index)) for index in entity.indexes]


def key_index_name(entity_name: str, field_name: str) -> str:
    """The index of a field's match key column (engine.matchkeys)."""
    return index_name("ix", entity_name, field_name + KEY_SUFFIX)


def compile_entity(entity, md: MetaData, schema: str | None, keyring=None) -> Table:
    columns = system_columns()
    for field in entity.fields:
        columns.extend(columns_for(field, schema, keyring))
    columns.extend(key_columns(entity, keyring))
    table = Table(entity.name, md, *columns, schema=schema, **ENTITY_TABLE_OPTIONS)
    for field in entity.fields:
        for name, unique in field_indexes(entity.name, field):
            Index(name, table.c[indexed_column(field)], unique=unique, **field_index_options(field))
        if match_kind(field):
            Index(key_index_name(entity.name, field.name), table.c[field.name + KEY_SUFFIX])
    for name, columns, unique, options in composite_indexes(entity, table):
        Index(name, *(table.c[c] for c in columns), unique=unique, **options)
    return table


def compile_tables(package, schema: str | None, keyring=None) -> dict[str, Table]:
    """One Table per entity, in a MetaData of their own (so references resolve); the
    columns of fields encrypted at rest encrypt and hash with `keyring`'s keys."""
    md = MetaData()
    return {entity.name: compile_entity(entity, md, schema, keyring) for entity in package.entities}


def encrypts(package) -> bool:
    """Whether any field of the package is encrypted at rest."""
    return any(f.encrypted for e in package.entities for f in e.fields)
