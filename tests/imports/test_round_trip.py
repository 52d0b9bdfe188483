"""Export → import round-trips exactly (a property test, SQLite and PostgreSQL): random
records of an entity with a field of every type are exported to CSV, XLSX or JSON Lines
and imported into another, empty tenant, where they read back equal."""
from __future__ import annotations

import itertools
import string
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.imports import importer
from engine.imports.exporting import export_file
from engine.imports.planning import Options

DOC = {"entities": [{"name": "item", "fields": [
    {"name": "batch", "type": "string", "required": True, "indexed": True},
    {"name": "code", "type": "string", "required": True, "unique": True},
    {"name": "name", "type": "string"},
    {"name": "note", "type": "text"},
    {"name": "email", "type": "email"},
    {"name": "phone", "type": "phone"},
    {"name": "count", "type": "integer"},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "flag", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "at", "type": "datetime"},
    {"name": "kind", "type": "choice", "options": [{"value": "a", "label": {"en": "Alpha", "zh-CN": "甲"}},
                                                   {"value": "b", "label": {"en": "Beta", "zh-CN": "乙"}}]},
    {"name": "tags", "type": "multi_choice", "options": ["x", "y", "z"]},
    {"name": "price", "type": "currency"},
    {"name": "data", "type": "json"},
]}]}
LETTERS = string.ascii_letters + string.digits + "张伟李娜 ,;\"'=+-@.()/:\n"
text = st.text(LETTERS, min_size=1, max_size=20).filter(lambda s: s == s.strip())
maybe = lambda strategy: st.none() | strategy  # noqa: E731
record = st.fixed_dictionaries({
    "name": maybe(text),
    "note": maybe(text),
    "email": maybe(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(org|cn)", fullmatch=True)),
    "phone": maybe(st.from_regex(r"\+?[0-9]{1,3} [0-9]{3} [0-9]{4} [0-9]{4}", fullmatch=True)),
    "count": maybe(st.integers(-10**12, 10**12)),
    "amount": maybe(st.decimals(min_value=-10**9, max_value=10**9, places=2).map(str)),
    "flag": maybe(st.booleans()),
    "day": maybe(st.dates().map(lambda d: d.isoformat())),
    "at": maybe(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
                .map(lambda d: d.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z"))),
    "kind": maybe(st.sampled_from(["a", "b"])),
    "tags": maybe(st.lists(st.sampled_from(["x", "y", "z"]), unique=True)),
    "price": maybe(st.fixed_dictionaries({"amount": st.decimals(0, 10**6, places=2).map(str),
                                          "currency": st.sampled_from(["CNY", "EUR"])})),
    "data": maybe(st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=4),
                                  st.integers(-99, 99) | st.text(LETTERS, max_size=5), max_size=3)),
})


@pytest.fixture
def tenants(install):
    for slug in ("src", "dst"):
        install.registry.create(slug, slug)
        install.session(slug).apply_metadata(DOC)
    return install.session("src").records, install.session("dst").records


def fields_of(records):
    return sorted(({k: v for k, v in r.items() if k not in ("id", "version", "created_at", "updated_at",
                                                            "created_by", "updated_by", "owner_id")}
                   for r in records), key=lambda r: r["code"])


def test_export_then_import_into_an_empty_tenant_reads_back_equal(tenants):
    source, target = tenants
    batches = itertools.count()

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(record, min_size=1, max_size=6), st.sampled_from(["csv", "xlsx", "jsonl"]))
    def round_trip(items, fmt):
        batch = f"b{next(batches)}"
        source.create_many("item", [{**item, "batch": batch, "code": f"{batch}-{n}"} for n, item in enumerate(items)])
        data = export_file(source, "item", fmt, params=[("batch", batch)])
        done = importer.commit(target, "item", importer.Source(f"items.{fmt}", data), options=Options(key="code"))
        assert done.totals["created"] == len(items), done.refused
        wanted = fields_of(source.export("item", [("batch", batch)]))
        assert fields_of(target.export("item", [("batch", batch)])) == wanted

    round_trip()
