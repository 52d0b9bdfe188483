"""Property: whatever sequence of small document edits is applied (rows being written
all along), rolling back to version 1 keeps every row, gives back the values of the
version-1 fields, and leaves exactly the columns and indexes version 1 compiles to."""
import copy
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compiler import compile_tables
from engine.errors import Conflict
from engine.install import Install
from engine.plugins import Plugins
from metadata import MetadataInvalid, load_package
from tenants import Settings

BASE = {"entities": [{"name": "item", "label": "Item", "fields": [
    {"name": "title", "type": "string", "max_length": 40},
    {"name": "qty", "type": "integer", "indexed": True},
    {"name": "code", "type": "string", "required": True, "default": "c"},
]}]}
V1_DEFAULTS = {"title": None, "qty": None, "code": "c"}

FIELD_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "decimal", "precision": 10, "scale": 3},
    "date": {"type": "date"},
    "boolean": {"type": "boolean"},
    "currency": {"type": "currency"},
    "json": {"type": "json"},
    "tags": {"type": "multi_choice", "options": ["a", "b"]},
    "defaulted": {"type": "string", "required": True, "default": "d"},
    "item_ref": {"type": "reference", "to": "item", "on_delete": "set_null"},
}
FIELD_NAMES = ["f0", "f1", "title", "qty", "code"]
KINDS = ["add_field", "drop_field", "relabel", "toggle_indexed", "toggle_unique", "add_entity"]

edits = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 99), st.integers(0, 99),
                           st.sampled_from(sorted(FIELD_TYPES)), st.sampled_from(FIELD_NAMES),
                           st.text(alphabet="abcXYZ ", min_size=1, max_size=6)),
                 min_size=1, max_size=7)


def edited(doc, edit):
    """The document after one edit, or None when the edit does not apply to it."""
    kind, a, b, type_key, name, label = edit
    doc = copy.deepcopy(doc)
    entity = doc["entities"][a % len(doc["entities"])]
    fields = entity["fields"]
    spec = fields[b % len(fields)]
    if kind == "add_field":
        if any(f["name"] == name for f in fields):
            return None
        fields.append({"name": name, **FIELD_TYPES[type_key]})
    elif kind == "drop_field":
        if len(fields) == 1:
            return None
        fields.remove(spec)
    elif kind == "relabel":
        spec["label"] = label
    elif kind == "toggle_indexed":
        spec["indexed"] = not spec.get("indexed", False)
    elif kind == "toggle_unique":  # only on the empty tables: every entity but item
        empty = doc["entities"][1:]
        if not empty:
            return None
        fields = empty[a % len(empty)]["fields"]
        spec = fields[b % len(fields)]
        spec["unique"] = not spec.get("unique", False)
    else:
        new_name = f"extra{len(doc['entities'])}"
        doc["entities"].append({"name": new_name, "label": label, "fields": [
            {"name": "name", "type": "string"}, {"name": "item", **FIELD_TYPES["item_ref"]}]})
    try:
        load_package(doc)
    except MetadataInvalid:
        return None
    return doc


def v1_definition(doc, name):
    field = next((f for f in doc["entities"][0]["fields"] if f["name"] == name), None)
    original = next(f for f in BASE["entities"][0]["fields"] if f["name"] == name)
    return field is not None and field["type"] == original["type"]


@settings(max_examples=30, deadline=None)
@given(edits)
def test_rollback_to_version_1_keeps_rows_and_restores_version_1_columns(steps):
    with tempfile.TemporaryDirectory() as data_dir:
        install = Install(Settings(data_dir=Path(data_dir)), Plugins(load_entry_points=False))
        try:
            install.registry.create("prop", "Property")
            session = install.session("prop")
            session.apply_metadata(BASE)
            expected, changed = {}, set()  # row id -> v1 values; v1 fields re-added after a drop

            def write_row(doc, n):
                live = {name for name in V1_DEFAULTS if v1_definition(doc, name)}
                data = {k: v for k, v in {"title": f"t{n}", "qty": n, "code": f"k{n}"}.items() if k in live}
                record = session.records.create("item", data)
                expected[record["id"]] = {k: data.get(k, V1_DEFAULTS[k]) for k in V1_DEFAULTS}

            doc = BASE
            write_row(doc, 0)
            for n, edit in enumerate(steps, start=1):
                new_doc = edited(doc, edit)
                if new_doc is None:
                    continue
                for name in V1_DEFAULTS:
                    present = any(f["name"] == name for f in new_doc["entities"][0]["fields"])
                    was_present = any(f["name"] == name for f in doc["entities"][0]["fields"])
                    if present and not was_present:
                        changed.add(name)
                session.apply_metadata(new_doc, allow_drop=True)
                doc = new_doc
                write_row(doc, n)

            if session.metadata_history()[-1]["version"] > 1:
                session.rollback_metadata(1)
            else:  # no edit applied: version 1 is the current one, and a rollback to it records nothing
                with pytest.raises(Conflict, match="is the current version"):
                    session.rollback_metadata(1)

            rows = {r["id"]: r for r in session.records.list("item", [("limit", "200")])["items"]}
            assert set(rows) == set(expected)
            for row_id, values in expected.items():
                for name, value in values.items():
                    if name not in changed:
                        assert rows[row_id][name] == value, (row_id, name)
            compiled = compile_tables(load_package(BASE), session.storage.schema)
            inspector = sa.inspect(session.storage.engine)
            tables = {t for t in inspector.get_table_names() if not t.startswith("loom_")}
            assert tables == set(compiled)
            for name, table in compiled.items():
                live = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
                assert live == {c.name: c.nullable for c in table.columns}
                indexes = {i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                           for i in inspector.get_indexes(name)}
                assert indexes == {i.name: (tuple(c.name for c in i.columns), i.unique) for i in table.indexes}
        finally:
            install.dispose()
