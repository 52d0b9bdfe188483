"""Which entity and field names are safe to become table and column names.

Names end up in SQL (SQLite and PostgreSQL), in query strings where ``__``
separates a field from an operator (``name__contains``), and next to Loom's own
columns, so the rules are stricter than either database requires.
"""

from __future__ import annotations

import re

from .model import SYSTEM_COLUMNS

MAX_IDENTIFIER_LENGTH = 48  # PostgreSQL allows 63; leave room for index/constraint name affixes
RESERVED_PREFIX = "loom_"
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")

# SQL:2016 reserved words that bite in SQLite or PostgreSQL (PostgreSQL's fully
# reserved list, SQLite keywords that cannot be bare column names, and the
# statement verbs), plus the hidden system columns of both databases.  Common
# business words that are only non-reserved keywords (name, type, date, value,
# status, position ...) are deliberately allowed.
SQL_RESERVED_WORDS = frozenset("""
abort add all alter analyse analyze and any array as asc asymmetric attach
authorization autoincrement begin between binary both by cascade case cast check
collate collation column commit concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp current_user
database default deferrable deferred delete desc detach distinct do drop each else end
escape except exclusive exec execute exists explain false fetch for foreign freeze from
full glob grant group having ilike immediate in index indexed initially inner insert
instead intersect into is isnull join key lateral leading left like limit localtime
localtimestamp merge natural not notnull null offset on only or order outer overlaps
placing pragma primary references regexp reindex release rename restrict returning
revoke right rollback savepoint select session_user set similar some symmetric
system_user table tablesample temp temporary then to trailing transaction trigger true
truncate union unique update user using vacuum values variadic verbose view virtual
when where window with without
rowid oid _rowid_ ctid xmin xmax cmin cmax tableoid
""".split())


_EXAMPLES = {"field": "full_name", "entity": "contact"}
# Kinds whose names become SQL table or column names (the others never reach SQL).
SQL_KINDS = ("entity", "field")


def _suggest(name: str, kind: str) -> str:
    """A safe spelling of an unsafe name, to put in the message: 'Full Name' -> 'full_name'."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    guess = "_".join(words)
    if not guess or not guess[0].isalpha():
        guess = f"{kind}_{guess}" if guess else _EXAMPLES.get(kind, f"my_{kind}")
    return guess[:MAX_IDENTIFIER_LENGTH].rstrip("_")


def identifier_problem(name: str, kind: str = "field") -> str | None:
    """Why ``name`` is not a safe ``kind`` name, or None if it is.

    ``kind`` is "entity" or "field" (names that become SQL identifiers, so SQL's
    reserved words are refused too) or any other word for names that stay in
    metadata and URLs: "workflow", "state", "transition", "timer", "ruleset".
    """
    shown = repr(name)
    if not isinstance(name, str):
        return f"{kind} name must be text, got {shown}"
    if not _IDENTIFIER.fullmatch(name):
        return (f"{kind} name {shown} is not a safe identifier: use lowercase letters, digits "
                f"and underscores, starting with a letter (e.g. {_suggest(name, kind)!r})")
    if "__" in name:
        return f"{kind} name {shown} contains '__', which is reserved for query operators such as 'name__contains'"
    if name.endswith("_"):
        return f"{kind} name {shown} must not end with '_'"
    if len(name) > MAX_IDENTIFIER_LENGTH:
        return f"{kind} name {shown} is {len(name)} characters long; at most {MAX_IDENTIFIER_LENGTH} are allowed"
    if name.startswith(RESERVED_PREFIX):
        return f"{kind} name {shown} starts with '{RESERVED_PREFIX}', which is reserved for Loom"
    if kind == "field" and name in SYSTEM_COLUMNS:
        return (f"field name {shown} is a system column Loom adds to every entity "
                f"({', '.join(SYSTEM_COLUMNS)}); choose another name")
    if kind in SQL_KINDS and name in SQL_RESERVED_WORDS:
        return f"{kind} name {shown} is a word reserved by SQL or the database; choose another name"
    return None
