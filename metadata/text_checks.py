"""Text in a metadata document that no database stores: a NUL character or an unpaired
surrogate, in any key or value of the document (a default, an option, a label, a
rule's parameter…). Found here, it is a problem with its path before anything is applied;
unfound, it failed later — a migration's backfill, or every write of a record."""
from __future__ import annotations

import re

from .errors import Problem, pointer

# Text no database stores: a NUL character (PostgreSQL refuses it) or an unpaired surrogate
# (no UTF-8 encoding has one). Record values, metadata and every name people type are refused it.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

MESSAGE = "holds a NUL character or an unpaired surrogate, which no database stores"


def unstorable_problems(document) -> list[Problem]:
    """A problem for each text of `document` (keys included) that no database stores."""
    problems, stack = [], [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                problems.append(Problem(path or "/", "unstorable_text", f"the text {MESSAGE}"))
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}/{_pointer(key)}"
                if isinstance(key, str) and UNSTORABLE.search(key):
                    problems.append(Problem(where, "unstorable_text", f"the key {MESSAGE}"))
                stack.append((item, where))
        elif isinstance(value, list):
            stack.extend((item, f"{path}/{index}") for index, item in enumerate(value))
    return problems


def _pointer(key) -> str:
    """`key` as a JSON Pointer step (`pointer`'s), a character no database stores shown escaped."""
    return UNSTORABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), pointer(key)[1:])
