"""Composite indexes from entity metadata, on the real database (SQLite and PostgreSQL):
created, dropped, rebuilt and rolled back with the schema; unique ones refuse duplicates."""
import copy

import pytest
import sqlalchemy as sa

from engine.errors import Conflict, MigrationRefused
from engine.records.query import build_select, parse_list_query
from tests.engine.test_migration import (
    entity_of, live_indexes, refused, snapshot, version_numbers, with_changed, with_entity, without_entity,
    without_field,
)

TV = "ix_contact_tier_lifetime_value"


def with_indexes(doc, entity, *indexes) -> dict:
    doc = copy.deepcopy(doc)
    entity_of(doc, entity)["indexes"] = list(indexes)
    return doc


def index_details(session, entity) -> dict:
    """name -> (columns, unique, PostgreSQL column sorting) as the database reports them."""
    found = sa.inspect(session.storage.engine).get_indexes(entity, schema=session.storage.schema)
    return {i["name"]: (tuple(i["column_names"]), bool(i["unique"]), i.get("column_sorting", {}))
            for i in found}


def test_apply_creates_the_index_with_id_last(acme, crm_doc, backend):
    doc = with_indexes(crm_doc, "contact", {"fields": ["tier", "lifetime_value"]},
                       {"fields": ["owner_id", "created_at"], "unique": True})
    result = acme.apply_metadata(doc)
    assert [c["description"] for c in result.changes] == [
        "add index on contact (tier, lifetime_value)", "add unique index on contact (owner_id, created_at)"]
    found = index_details(acme, "contact")
    columns, unique, sorting = found[TV]
    assert (columns, unique) == (("tier", "lifetime_value", "id"), False)
    assert found["ux_contact_owner_id_created_at"][:2] == (("owner_id", "created_at"), True)
    if backend == "postgresql":  # nullable columns NULLS FIRST, like the list query's order
        assert sorting == {"tier": ("nulls_first",), "lifetime_value": ("nulls_first",)}
        assert found["ux_contact_owner_id_created_at"][2] == {"owner_id": ("nulls_first",)}
    before = snapshot(acme)
    again = acme.apply_metadata(doc)
    assert not again.applied and again.changes == []
    assert snapshot(acme) == before


def test_removing_the_index_drops_it_and_rollback_restores_it(acme, crm_doc):
    field_indexes = set(live_indexes(acme, "contact"))
    acme.apply_metadata(with_indexes(crm_doc, "contact", {"fields": ["tier", "lifetime_value"]}))
    acme.apply_metadata(with_indexes(crm_doc, "contact", {"fields": ["lifetime_value", "tier"], "name": "ix_vt"}))
    assert set(live_indexes(acme, "contact")) - field_indexes == {"ix_vt"}
    with_ix_vt = snapshot(acme)
    acme.apply_metadata(crm_doc)
    assert set(live_indexes(acme, "contact")) == field_indexes
    acme.rollback_metadata(3)
    assert live_indexes(acme, "contact")["ix_vt"] == (("lifetime_value", "tier", "id"), False)
    acme.rollback_metadata(2)
    assert set(live_indexes(acme, "contact")) - field_indexes == {TV}
    acme.rollback_metadata(3)
    restored = snapshot(acme)
    for key in ("columns", "indexes", "fks", "rows"):
        assert restored["contact"][key] == with_ix_vt["contact"][key]
    assert version_numbers(acme) == [1, 2, 3, 4, 5, 6, 7]


def test_unique_index_refuses_duplicate_pairs_with_a_409(acme, crm_doc):
    acme.apply_metadata(with_indexes(crm_doc, "contact", {"fields": ["full_name", "tier"], "unique": True}))
    first = acme.records.create("contact", {"full_name": "Ada", "tier": "gold"})
    acme.records.create("contact", {"full_name": "Ada", "tier": "silver"})
    acme.records.create("contact", {"full_name": "Ada", "tier": None})
    acme.records.create("contact", {"full_name": "Ada", "tier": None})  # NULL never collides
    with pytest.raises(Conflict) as info:
        acme.records.create("contact", {"full_name": "Ada", "tier": "gold"})
    assert info.value.status == 409 and info.value.code == "unique_violation"
    assert info.value.details[0] == {
        "field": "full_name, tier", "code": "combination_used", "fields": ["full_name", "tier"], "holder": first["id"],
        "message": f"the combination (full_name, tier) is already used by contact {first['id']}"}
    bob = acme.records.create("contact", {"full_name": "Bob", "tier": "gold"})
    with pytest.raises(Conflict):
        acme.records.update("contact", bob["id"], {"full_name": "Ada"}, expected_version=bob["version"])


def test_unique_index_over_duplicates_is_refused_with_the_count(acme, crm_doc):
    for name, tier in [("Ada", "gold"), ("Ada", "gold"), ("Ada", "gold"), ("Bob", "gold"), ("Bob", None),
                       ("Bob", None), ("Cy", "silver"), ("Cy", "silver")]:
        acme.records.create("contact", {"full_name": name, "tier": tier})
    before = snapshot(acme)
    error = refused(acme, with_indexes(crm_doc, "contact", {"fields": ["full_name", "tier"], "unique": True}))
    assert "5 rows of contact repeat a combination of (full_name, tier)" in error.details[0]["message"]
    assert snapshot(acme) == before
    # a non-unique index over the same rows is fine
    acme.apply_metadata(with_indexes(crm_doc, "contact", {"fields": ["full_name", "tier"]}))
    assert live_indexes(acme, "contact")["ix_contact_full_name_tier"] == (("full_name", "tier", "id"), False)


def test_rollback_to_a_unique_index_is_refused_when_duplicates_appeared(acme, crm_doc):
    acme.apply_metadata(with_indexes(crm_doc, "contact", {"fields": ["full_name", "tier"], "unique": True}))
    acme.apply_metadata(crm_doc)
    acme.records.create("contact", {"full_name": "Ada", "tier": "gold"})
    acme.records.create("contact", {"full_name": "Ada", "tier": "gold"})
    with pytest.raises(MigrationRefused) as info:
        acme.rollback_metadata(2)
    assert "2 rows of contact repeat" in info.value.details[0]["message"]


def test_new_and_dropped_entities_carry_their_indexes(acme, crm_doc):
    doc = with_entity(crm_doc, "deal", {"name": "stage", "type": "string"}, {"name": "amount", "type": "integer"})
    doc = with_indexes(doc, "deal", {"fields": ["stage", "amount"]}, {"fields": ["amount", "stage"], "unique": True})
    acme.apply_metadata(doc)
    assert live_indexes(acme, "deal") == {"ix_deal_stage_amount": (("stage", "amount", "id"), False),
                                          "ux_deal_amount_stage": (("amount", "stage"), True)}
    acme.apply_metadata(without_entity(doc, "deal"), allow_drop=True)
    assert "deal" not in sa.inspect(acme.storage.engine).get_table_names(schema=acme.storage.schema)
    acme.rollback_metadata(2)
    assert set(live_indexes(acme, "deal")) == {"ix_deal_stage_amount", "ux_deal_amount_stage"}


def test_field_changes_under_an_index_keep_it_in_place(acme, crm_doc, backend):
    doc = with_indexes(crm_doc, "contact", {"fields": ["tier", "lifetime_value"]},
                       {"fields": ["birthday", "full_name"]})
    acme.apply_metadata(doc)
    acme.records.create("contact", {"full_name": "Ada", "tier": "gold", "lifetime_value": "12.50"})
    # a rewritten column (precision), a required flip, then dropping a field with its index
    acme.apply_metadata(with_changed(doc, "contact", "lifetime_value", precision=20, scale=4))
    acme.apply_metadata(with_changed(with_changed(doc, "contact", "lifetime_value", precision=20, scale=4),
                                     "contact", "tier", required=True, default="gold"))
    found = index_details(acme, "contact")
    assert found[TV][:2] == (("tier", "lifetime_value", "id"), False)
    if backend == "postgresql":  # tier is NOT NULL now, so plain ascending, like the list query
        assert found[TV][2] == {"lifetime_value": ("nulls_first",)}
    final = with_indexes(without_field(crm_doc, "contact", "birthday"), "contact",
                         {"fields": ["tier", "lifetime_value"]})
    acme.apply_metadata(final, allow_drop=True)
    assert "ix_contact_birthday_full_name" not in live_indexes(acme, "contact")
    assert TV in live_indexes(acme, "contact")
    assert acme.records.list("contact", [("tier", "gold"), ("sort", "-lifetime_value")])["items"][0][
        "full_name"] == "Ada"


def test_list_query_uses_the_index(acme, crm_doc, backend):
    acme.apply_metadata(with_indexes(crm_doc, "contact", {"fields": ["tier", "lifetime_value"]}))
    acme.records.create_many("contact", [{"full_name": f"C{i}", "tier": ["gold", "silver"][i % 2],
                                          "lifetime_value": None if i % 7 == 0 else str(i)} for i in range(300)])
    metadata = acme.records.metadata
    table = metadata.tables["contact"]
    query = parse_list_query(metadata.entity("contact"), table, [("tier", "gold"), ("sort", "-lifetime_value")])
    stmt = build_select(table, query)
    sql = str(stmt.compile(acme.storage.engine, compile_kwargs={"literal_binds": True}))
    with acme.storage.connect() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_sort = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
        else:
            plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert TV in plan and "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    page = acme.records.list("contact", [("tier", "gold"), ("sort", "-lifetime_value"), ("limit", "5")])
    assert [r["lifetime_value"] for r in page["items"]] == ["298.00", "296.00", "292.00", "290.00", "288.00"]
