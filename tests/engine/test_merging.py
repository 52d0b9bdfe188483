"""Merging records and undoing a merge, on SQLite and PostgreSQL: a party with
opportunities, service requests, consents and memberships (crm_core and retail_loyalty)
merges into another, keeping every related record, with one audit entry and one event;
undo brings everything back unless a later change would be lost; bad requests change
nothing; merge then undo leaves every table as it was."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.events import outbox_dict
from engine.packs.service import PackService
from engine.plugins import Plugins
from engine.records.search_index import follow_writes
from engine.systables import loom_table

# Columns a merge and its undo legitimately move on the records they touch.
MOVED = {"version", "updated_at", "updated_by"}
LOGS = ("loom_audit", "loom_outbox", "loom_merges", "loom_search_queue", "loom_access_log")


@pytest.fixture
def plugins() -> Plugins:
    return Plugins()


@pytest.fixture
def shop(install):
    """Tenant `shop` with retail_loyalty (and crm_core beneath it)."""
    install.registry.create("shop")
    PackService(install).install("shop", "retail_loyalty")
    return install.session("shop")


def party_with_everything(records, name, **values) -> dict:
    """A party with an opportunity, a service request, a consent and a membership."""
    party = records.create("party", {"name": name, **values})
    pid = party["id"]
    related = {
        "opportunity": records.create("opportunity", {"name": f"Deal of {name}", "party": pid})["id"],
        "service_request": records.create("service_request", {"subject": f"Help {name}", "channel": "phone",
                                                              "request_type": "inquiry", "party": pid,
                                                              "requester_phone": "+8613800138000"})["id"],
        "consent": records.create("consent", {"party": pid, "purpose": "marketing", "granted": True})["id"],
        "membership": records.create("membership", {"party": pid})["id"]}
    return {"party": records.get("party", pid), "related": related}


def dump(storage, metadata) -> dict:
    """Every table of the tenant but the logs (the search index once it followed the writes),
    as {table: {id: row}} without the columns a write moves."""
    from sqlalchemy import MetaData
    meta = MetaData(schema=storage.schema)
    out = {}
    follow_writes(storage, metadata)
    with storage.connect() as conn:
        meta.reflect(conn)
        for table in meta.sorted_tables:
            if table.name in LOGS:
                continue
            rows = conn.execute(select(table)).mappings().all()
            if "id" in table.c:
                out[table.name] = {r["id"]: {k: v for k, v in r.items() if k not in MOVED} for r in rows}
            else:
                out[table.name] = sorted(tuple(map(str, r.values())) for r in rows)
    return out


def outbox(storage, event):
    """The tenant's outbox rows of `event`, each payload read as the event (`to_dict()`'s shape)."""
    table = loom_table(storage.schema, "loom_outbox")
    with storage.connect() as conn:
        rows = conn.execute(select(table).where(table.c.event == event)).mappings().all()
    return [{**row, "payload": outbox_dict(dict(row), storage.slug)} for row in rows]


def audit(storage, action):
    table = loom_table(storage.schema, "loom_audit")
    with storage.connect() as conn:
        return conn.execute(select(table).where(table.c.action == action)).mappings().all()


def test_a_party_merges_with_everything_it_has_and_the_merge_undoes(shop):
    records = shop.records
    keep = party_with_everything(records, "张伟", phone="+8613800138001", city="北京")
    gone = party_with_everything(records, "张 伟", email="zhang.wei@example.cn", city="上海")
    before = dump(shop.storage, shop.metadata())
    preview = records.merge("party", keep["party"]["id"], [gone["party"]["id"]], {"city": keep["party"]["id"]},
                            dry_run=True)
    assert preview["winners"]["email"] == {"from": gone["party"]["id"], "value": "zhang.wei@example.cn"}
    assert preview["winners"]["city"]["value"] == "北京"
    assert preview["references"]["opportunity"] == {
        "party": {str(gone["party"]["id"]): [gone["related"]["opportunity"]]}}
    assert set(preview["references"]) == {"opportunity", "service_request", "consent", "membership"}
    assert preview["conflicts"] == []
    assert dump(shop.storage, shop.metadata()) == before  # a dry run writes nothing

    merged = records.merge("party", keep["party"]["id"], [gone["party"]["id"]], {"city": keep["party"]["id"]})
    survivor = merged["record"]
    assert (survivor["name"], survivor["email"], survivor["phone"], survivor["city"]) == (
        "张 伟", "zhang.wei@example.cn", "+8613800138001", "北京")  # the newest non-empty, but city chosen
    with pytest.raises(NotFound):
        records.get("party", gone["party"]["id"])
    assert [p["id"] for p in records.list("party", [])["items"]] == [keep["party"]["id"]]
    for entity, record_id in gone["related"].items():
        assert records.get(entity, record_id)["party"] == keep["party"]["id"]
    [entry] = audit(shop.storage, "merge")
    assert (entry["entity"], entry["record_id"]) == ("party", keep["party"]["id"])
    [event] = outbox(shop.storage, "record.merged")
    assert event["payload"]["extra"]["losers"] == [gone["party"]["id"]]
    assert event["payload"]["extra"]["references"] == {
        "opportunity.party": 1, "service_request.party": 1, "consent.party": 1, "membership.party": 1}
    assert records.get_merge(merged["id"])["losers"] == [gone["party"]["id"]]
    assert [m["id"] for m in records.merged_into("party", keep["party"]["id"])] == [merged["id"]]

    undone = records.undo_merge(merged["id"])
    assert undone["undone_at"] is not None
    assert dump(shop.storage, shop.metadata()) == before
    assert records.get("party", gone["party"]["id"])["version"] == gone["party"]["version"]
    assert len(audit(shop.storage, "unmerge")) == 1 and len(outbox(shop.storage, "record.unmerged")) == 1
    assert records.merged_into("party", keep["party"]["id"]) == []
    with pytest.raises(Conflict) as twice:
        records.undo_merge(merged["id"])
    assert twice.value.code == "merge_undone"


def test_undo_is_refused_naming_each_later_change_and_changes_nothing(shop):
    records = shop.records
    keep = party_with_everything(records, "Li Lei")
    gone = party_with_everything(records, "Li  Lei", email="li@example.cn")
    merged = records.merge("party", keep["party"]["id"], [gone["party"]["id"]])
    records.update("party", keep["party"]["id"], {"email": "other@example.cn"})
    other = records.create("party", {"name": "Han Meimei"})
    records.update("opportunity", gone["related"]["opportunity"], {"party": other["id"]})
    records.delete("service_request", gone["related"]["service_request"])
    before = dump(shop.storage, shop.metadata())
    with pytest.raises(Conflict) as refused:
        records.undo_merge(merged["id"])
    assert refused.value.status == 409 and refused.value.code == "merge_conflict"
    messages = {(d["field"], d["message"]) for d in refused.value.details}
    assert ("party.email", f"party {keep['party']['id']}: email changed after the merge") in messages
    assert ("opportunity.party", f"opportunity {gone['related']['opportunity']}: party changed after the merge") \
        in messages
    assert ("service_request.party",
            f"service_request {gone['related']['service_request']} was deleted after the merge") in messages
    assert dump(shop.storage, shop.metadata()) == before
    assert records.get_merge(merged["id"])["undone_at"] is None


def test_bad_merges_are_refused_plainly_and_change_nothing(shop):
    records = shop.records
    a = records.create("party", {"name": "A"})["id"]
    b = records.create("party", {"name": "B"})["id"]
    before = dump(shop.storage, shop.metadata())
    cases = [
        ((a, [b, b]), ValidationFailed, "losers/1", "named twice"),
        ((a, [a, b]), ValidationFailed, "losers/0", "is the survivor"),
        ((a, []), ValidationFailed, "losers", "non-empty"),
        ((a, "b"), ValidationFailed, "losers", "non-empty"),
        (("a", [b]), ValidationFailed, "survivor", "record id"),
        ((a, [b], {"nope": a}), ValidationFailed, "fields/nope", "no field"),
        ((a, [b], {"email": 999}), ValidationFailed, "fields/email", "survivor or of a loser"),
        ((a, [b], {"email": {"value": "not an e-mail"}}), ValidationFailed, "email", ""),
    ]
    for args, error, field, words in cases:
        with pytest.raises(error) as refused:
            records.merge("party", *args)
        assert any(d["field"] == field and words in d["message"] for d in refused.value.details), refused.value.details
    for dry_run in (True, False):  # a reference typed in names a record that is not there: said, in both
        with pytest.raises(ValidationFailed) as refused:
            records.merge("party", a, [b], {"parent": {"value": 987654}}, dry_run=dry_run)
        assert [(d["field"], d["code"]) for d in refused.value.details] == [("parent", "unknown_reference")]
    with pytest.raises(NotFound) as missing:
        records.merge("party", a, [b, 987654])
    assert "987654" in missing.value.message
    with pytest.raises(NotFound) as no_entity:
        records.merge("nothing", a, [b])
    assert no_entity.value.code == "entity_not_found"
    with pytest.raises(NotFound):
        records.undo_merge(12345)
    assert dump(shop.storage, shop.metadata()) == before


def test_a_losers_unique_value_moves_to_the_survivor_and_comes_back(shop):
    records = shop.records
    old = records.create("product", {"code": "TEA-1", "name": "Tea",
                                     "list_price": {"amount": "12.50", "currency": "CNY"}})
    new = records.create("product", {"code": "TEA-01", "name": "Green tea", "active": True})
    merged = records.merge("product", old["id"], [new["id"]], {"code": new["id"]})
    assert (merged["record"]["code"], merged["record"]["name"]) == ("TEA-01", "Green tea")
    assert merged["record"]["list_price"] == {"amount": "12.50", "currency": "CNY"}
    records.undo_merge(merged["id"])
    assert records.get("product", old["id"])["code"] == "TEA-1"
    assert records.get("product", new["id"])["code"] == "TEA-01"


def test_a_unique_index_re_pointing_would_break_is_a_conflict(shop):
    records = shop.records
    a, b, c = (records.create("party", {"name": n})["id"] for n in "ABC")
    records.create("party_relationship", {"from_party": a, "to_party": c, "kind": "family_of"})
    records.create("party_relationship", {"from_party": b, "to_party": c, "kind": "family_of"})
    preview = records.merge("party", a, [b], dry_run=True)
    assert preview["conflicts"] and preview["conflicts"][0]["field"] == "party_relationship.from_party"
    before = dump(shop.storage, shop.metadata())
    with pytest.raises(Conflict) as refused:
        records.merge("party", a, [b])
    assert refused.value.code == "merge_conflict"
    assert dump(shop.storage, shop.metadata()) == before


@hsettings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_merge_then_undo_leaves_every_table_as_it_was(shop, data):
    records = shop.records
    texts = st.one_of(st.none(), st.text("abc张伟 ", min_size=1, max_size=6).filter(str.strip))
    parties = [records.create("party", {"name": data.draw(st.text("xyz李雷", min_size=1, max_size=5)),
                                        "city": data.draw(texts), "notes": data.draw(texts)})["id"]
               for _ in range(data.draw(st.integers(2, 4)))]
    for pid in parties:
        for _ in range(data.draw(st.integers(0, 2))):
            records.create("opportunity", {"name": "deal", "party": pid})
        if data.draw(st.booleans()):
            records.create("membership", {"party": pid})
    if data.draw(st.booleans()):
        records.update("party", parties[0], {"parent": parties[-1]})
    survivor = data.draw(st.sampled_from(parties))
    losers = [p for p in parties if p != survivor]
    choices = {"city": data.draw(st.sampled_from(parties))} if data.draw(st.booleans()) else {}
    before = dump(shop.storage, shop.metadata())
    merged = records.merge("party", survivor, losers, choices)
    records.undo_merge(merged["id"])
    assert dump(shop.storage, shop.metadata()) == before


def test_each_re_pointed_record_and_each_loser_has_its_own_audit_row_and_event_and_undo_the_reverse(shop):
    records = shop.records
    keep = party_with_everything(records, "李雷", city="北京")
    gone = party_with_everything(records, "李 雷", city="上海")
    keep_id, gone_id = keep["party"]["id"], gone["party"]["id"]
    before = {a: len(audit(shop.storage, a)) for a in ("update", "delete", "create")}
    merged = records.merge("party", keep_id, [gone_id])
    updates = [a for a in audit(shop.storage, "update") if "_merge" in (a["changes"] or {})]
    assert sorted((a["entity"], a["record_id"]) for a in updates) == sorted(gone["related"].items())
    for entry in updates:
        assert entry["changes"] == {"party": [gone_id, keep_id], "_merge": [None, merged["id"]]}
        assert entry["record_version"] == records.get(entry["entity"], entry["record_id"])["version"]
    [deleted] = [a for a in audit(shop.storage, "delete") if "_merge" in (a["changes"] or {})]
    assert (deleted["entity"], deleted["record_id"]) == ("party", gone_id)
    assert deleted["changes"] == {"_merge": [None, merged["id"]], "_merged_into": [None, keep_id]}
    pointed = [e["payload"] for e in outbox(shop.storage, "record.updated")
               if e["payload"]["extra"].get("merge_id") == merged["id"]]
    assert sorted((p["entity"], p["record_id"]) for p in pointed) == sorted(gone["related"].items())
    assert all(p["changes"] == {"party": [gone_id, keep_id]} for p in pointed)
    [removed] = [e["payload"] for e in outbox(shop.storage, "record.deleted")]
    assert removed["record"]["id"] == gone_id and removed["extra"] == {"merge_id": merged["id"],
                                                                      "merged_into": keep_id}
    assert len(audit(shop.storage, "merge")) == 1 and len(outbox(shop.storage, "record.merged")) == 1

    records.undo_merge(merged["id"])
    back = [a for a in audit(shop.storage, "update") if "_unmerge" in (a["changes"] or {})]
    assert sorted((a["entity"], a["record_id"]) for a in back) == sorted(gone["related"].items())
    assert all(a["changes"] == {"party": [keep_id, gone_id], "_unmerge": [None, merged["id"]]} for a in back)
    [created] = [a for a in audit(shop.storage, "create") if "_unmerge" in (a["changes"] or {})]
    assert (created["entity"], created["record_id"]) == ("party", gone_id)
    [restored] = [e["payload"] for e in outbox(shop.storage, "record.created")
                  if e["payload"]["extra"].get("undo")]
    assert restored["record_id"] == gone_id
    assert len(audit(shop.storage, "unmerge")) == 1 and len(outbox(shop.storage, "record.unmerged")) == 1
