"""The search index follows the metadata and Loom's upgrades on both backends: a
publication that makes fields searchable or not brings those fields' terms in step in
its own transaction, and a tenant whose index revision is newly applied has its records
indexed the first time a process opens it."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select

from engine.errors import MigrationRefused
from engine.install import Install
from engine.plugins import Plugins
from engine.records.search_index import STALE, catch_up, find, follow_writes
from engine.systables import loom_table
from tenants import migrations


def found(session, query, entity="contact"):
    return [record_id for _, record_id, _ in find(session.storage, session.metadata(), query, [entity], 100)]


def publish(session, change, allow_drop=False):
    document = session.metadata().package.to_dict()
    change({e["name"]: e for e in document["entities"]})
    session.apply_metadata(document, allow_drop=allow_drop)


def field(entities, entity, name):
    return next(f for f in entities[entity]["fields"] if f["name"] == name)


def terms(session, entity=None, fields=None):
    """The index's terms, once it has followed the writes made so far."""
    follow_writes(session.storage, session.metadata())
    table = loom_table(session.storage.schema, "loom_search")
    stmt = select(func.count()).select_from(table)
    if entity:
        stmt = stmt.where(table.c.entity == entity)
    if fields:
        stmt = stmt.where(table.c.field.in_(fields))
    with session.storage.connect() as conn:
        return conn.execute(stmt).scalar()


def test_hiding_a_field_takes_its_terms_out_of_the_search_and_showing_it_brings_them_back(acme):
    record = acme.records.create("contact", {"full_name": "Visible Name", "email": "secret.person@example.cn"})
    assert found(acme, "secret.person") == [record["id"]]
    publish(acme, lambda e: field(e, "contact", "email").update(hidden=True))
    assert found(acme, "secret.person") == [] and terms(acme, "contact", ["email"]) == 0
    assert found(acme, "visible") == [record["id"]]
    publish(acme, lambda e: field(e, "contact", "email").pop("hidden"))
    assert found(acme, "secret.person") == [record["id"]]


def test_a_new_searchable_field_with_a_default_finds_the_records_it_was_filled_in(acme):
    ids = [r["id"] for r in (acme.records.create("contact", {"full_name": f"客户{i}"}) for i in range(3))]
    publish(acme, lambda e: e["contact"]["fields"].append(
        {"name": "nickname", "type": "string", "label": "Nickname", "default": "老王"}))
    assert sorted(found(acme, "老王")) == ids


def test_a_field_whose_type_becomes_a_phone_is_found_by_its_digits(acme):
    publish(acme, lambda e: e["contact"]["fields"].append({"name": "mobile", "type": "string", "label": "Mobile"}))
    record = acme.records.create("contact", {"full_name": "张伟", "mobile": "+86 138 0013 8000"})
    assert found(acme, "13800138000") == []  # as text, "+86 138…" starts with "+"
    publish(acme, lambda e: field(e, "contact", "mobile").update(type="phone"))
    assert found(acme, "138 0013 8000") == [record["id"]]
    publish(acme, lambda e: field(e, "contact", "mobile").update(type="text"))  # long text: not searched
    assert found(acme, "138 0013 8000") == [] and terms(acme, "contact", ["mobile"]) == 0


def test_a_dropped_field_or_entity_leaves_no_terms(acme):
    account = acme.records.create("account", {"name": "Globex 环球"})
    acme.records.create("contact", {"full_name": "李娜", "phone": "+86 139 0000 0000"})
    publish(acme, lambda e: e["contact"]["fields"].remove(field(e, "contact", "phone")), allow_drop=True)
    assert terms(acme, "contact", ["phone"]) == 0 and terms(acme, "contact", ["full_name"]) == 2
    assert found(acme, "环球", "account") == [account["id"]]

    def drop_account(entities):
        entities["contact"]["fields"].remove(field(entities, "contact", "account"))
        document_entities.remove(entities["account"])

    document = acme.metadata().package.to_dict()
    document_entities = document["entities"]
    drop_account({e["name"]: e for e in document_entities})
    acme.apply_metadata(document, allow_drop=True)
    assert terms(acme, "account") == 0 and terms(acme, "contact") == 2


def test_a_publication_reads_only_the_fields_whose_searchability_changed(acme):
    """Terms of other fields and entities are left as they are, even ones no record holds
    (a full rebuild would remove this one)."""
    acme.records.create("contact", {"full_name": "Li Lei"})
    with acme.storage.begin() as conn:
        conn.execute(loom_table(acme.storage.schema, "loom_search").insert().values(
            term="orphan", entity="account", record_id=999, field="name", at_start=True))
    publish(acme, lambda e: field(e, "contact", "email").update(hidden=True))
    assert found(acme, "orphan", "account") == [999] and found(acme, "li lei") != []


def test_an_optional_field_added_is_not_read_and_one_with_a_default_is_indexed(acme, monkeypatch):
    from engine.records import search_index

    acme.records.create_many("contact", [{"full_name": f"客户{i}"} for i in range(3)])
    read = []
    original = search_index.index_entity
    monkeypatch.setattr(search_index, "index_entity",
                        lambda conn, schema, name, records, fields: read.append(sorted(fields)) or original(
                            conn, schema, name, records, fields))
    publish(acme, lambda e: e["contact"]["fields"].append({"name": "nickname", "type": "string"}))
    assert read == []
    publish(acme, lambda e: e["contact"]["fields"].append({"name": "region", "type": "string", "default": "华东"}))
    assert read == [["region"]] and len(found(acme, "华东")) == 3


def test_a_dry_run_or_a_refused_publication_leaves_the_index_as_it_was(acme):
    acme.records.create("contact", {"full_name": "王芳", "email": "wang.fang@example.cn"})
    before = terms(acme)
    document = acme.metadata().package.to_dict()
    contact = next(e for e in document["entities"] if e["name"] == "contact")
    contact["fields"] = [f for f in contact["fields"] if f["name"] != "email"]
    acme.apply_metadata(document, dry_run=True)
    with pytest.raises(MigrationRefused) as refused:
        acme.apply_metadata(document)  # a drop, not confirmed
    assert refused.value.code == "destructive_change"
    assert terms(acme) == before and found(acme, "wang.fang") != []


def _back_to(storage, revision):
    with storage.migration() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrations.HERE / "tenant"))
        config.attributes["connection"] = conn
        config.attributes["schema"] = storage.schema
        command.downgrade(config, revision)


def _stale(storage):
    settings = loom_table(storage.schema, "loom_settings")
    with storage.connect() as conn:
        return conn.execute(select(settings.c.key).where(settings.c.key == STALE)).first() is not None


def test_an_upgraded_tenant_has_its_records_indexed_when_a_process_first_opens_it(settings, crm_doc):
    old = Install(settings, Plugins(load_entry_points=False))
    old.registry.create("legacy", "Legacy")
    session = old.session("legacy")
    session.apply_metadata(crm_doc)
    ids = session.records.create_many("contact", [{"full_name": f"王{i}", "phone": f"+86 138 0013 {i:04d}"}
                                                  for i in range(40)])
    old.registry.create("empty", "Empty")  # no metadata: nothing to index, no mark
    for slug in ("legacy", "empty"):
        _back_to(old.registry.storage_of(slug), "0004")  # before the index: records, no terms
    old.dispose()

    new = Install(settings, Plugins(load_entry_points=False))
    upgraded = new.session("legacy")
    assert migrations.current(upgraded.storage.engine, upgraded.storage.schema) == migrations.heads("tenant")
    assert not _stale(upgraded.storage)
    assert sorted(found(upgraded, "王")) == sorted(ids)
    assert found(upgraded, "138 0013 0007") == [ids[7]]
    assert not _stale(new.session("empty").storage) and terms(new.session("empty")) == 0
    unused = Install(settings, Plugins(load_entry_points=False))  # another process, after the rebuild
    assert catch_up(unused.registry.storage_of("legacy"), lambda conn: pytest.fail("rebuilt twice")) is None
    unused.dispose()
    new.dispose()


def test_a_rebuild_that_fails_is_tried_again_on_the_next_open(settings, crm_doc, monkeypatch):
    from engine.records import search_index

    old = Install(settings, Plugins(load_entry_points=False))
    old.registry.create("legacy", "Legacy")
    old.session("legacy").apply_metadata(crm_doc)
    record = old.session("legacy").records.create("contact", {"full_name": "刘洋"})
    _back_to(old.registry.storage_of("legacy"), "0005")
    old.dispose()

    new = Install(settings, Plugins(load_entry_points=False))

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(search_index, "_rebuild", broken)
    with pytest.raises(RuntimeError):
        new.session("legacy")
    monkeypatch.undo()
    storage = new.registry.storage.tenant("legacy", new.registry.require("legacy").uid)
    assert _stale(storage)
    assert found(new.session("legacy"), "刘洋") == [record["id"]]
    new.dispose()


def test_a_rollback_that_restores_a_dropped_field_brings_its_values_back_into_the_search(acme):
    record = acme.records.create("contact", {"full_name": "陈杰", "email": "chen.jie@example.cn"})
    before = acme.metadata().version
    publish(acme, lambda e: e["contact"]["fields"].remove(field(e, "contact", "email")), allow_drop=True)
    assert found(acme, "chen.jie") == []
    acme.rollback_metadata(before)
    assert found(acme, "chen.jie") == [record["id"]] and found(acme, "jie@") == [record["id"]]
