"""Locate and read the JSON files shipped inside the package (schemas, examples).

Files are read on first use and cached, so ``import metadata`` stays cheap.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
SCHEMA_NAMES = ("entity", "workflow", "layout", "role", "package", "pack")


def _stem(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.endswith(suffix) else name


def schema_path(name: str) -> Path:
    """Path of a shipped schema: ``schema_path("entity")`` (or ``"entity.schema.json"``)."""
    stem = _stem(name, ".schema.json")
    if stem not in SCHEMA_NAMES:
        raise ValueError(f"unknown schema {name!r}; expected one of: {', '.join(SCHEMA_NAMES)}")
    return _HERE / "schemas" / f"{stem}.schema.json"


@lru_cache(maxsize=None)
def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def load_schema(name: str) -> dict:
    """The parsed schema (a fresh copy, so callers may modify it)."""
    return copy.deepcopy(_read_json(schema_path(name)))


def cached_schema(name: str) -> dict:
    """The shared parsed schema; do not modify it."""
    return _read_json(schema_path(name))


def example_path(name: str) -> Path:
    """Path of a shipped example package, e.g. ``example_path("crm_minimal")``."""
    stem = _stem(name, ".json")
    path = _HERE / "examples" / f"{stem}.json"
    if "/" in stem or "\\" in stem or stem.startswith(".") or not path.is_file():
        raise ValueError(f"unknown example {name!r}")
    return path


def load_example(name: str) -> dict:
    """A shipped example package document (a fresh copy)."""
    return copy.deepcopy(_read_json(example_path(name)))
