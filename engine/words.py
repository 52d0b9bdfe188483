"""Messages read by people: "1 row", "2 rows", "a, b and c"."""
from __future__ import annotations

IRREGULAR = {"entity": "entities"}


def plural(noun: str, n: int) -> str:
    if n == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    return (head + " " if head else "") + IRREGULAR.get(last, last + "s")


def counted(n: int, noun: str) -> str:
    return f"{n} {plural(noun, n)}"


def listed(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
