"""Packs on a real tenant: install with dependencies, the tenant's overlay, upgrades
beneath it with conflicts reported, data steps, removal (keeping or purging data),
rollback and demo data — on SQLite and PostgreSQL."""
import copy
import json

import pytest
from sqlalchemy import inspect

from engine.app import create_app
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.hookspecs import hookimpl
from engine.install import Install
from engine.packs import Pack
from engine.packs.service import PackService
from engine.packs.layers import load_layers
from engine.packs.service import UpgradeConflicts
from engine.packs.show import show_layer
from engine.plugins import Plugins
from tests.conftest import token_for

PARTY = {"name": "party", "label": {"en": "Party", "zh-CN": "客户"}, "fields": [
    {"name": "name", "type": "string", "required": True},
    {"name": "email", "type": "email"}]}


def membership_fields(version):
    fields = [{"name": "number", "type": "string", "unique": True},
              {"name": "tier", "type": "choice", "options": ["member", "gold"], "label": {"en": "Tier"}},
              {"name": "points", "type": "integer"},
              {"name": "party", "type": "reference", "to": "party"}]
    if version >= (1, 1, 0):
        fields.append({"name": "joined", "type": "date"})
        fields[1]["label"] = {"en": "Card level"}
    return fields


def base_pack(version="1.0.0", **changes):
    return Pack(name="base_pack", version=version, label={"en": "Base"},
                bundle={"entities": [copy.deepcopy(PARTY)], **changes})


def shop_pack(version="1.0.0", fields=None, upgrades=(), demo=None, **bundle):
    key = tuple(int(p) for p in version.split("."))
    return Pack(name="shop_pack", version=version, label={"en": "Shop", "zh-CN": "商店"}, depends=["base_pack"],
                bundle={"entities": [{"name": "membership", "fields": fields or membership_fields(key)}],
                        "extends": [{"op": "add", "path": "/entities/party/fields",
                                     "value": {"name": "loyalty_id", "type": "string"}}], **bundle},
                upgrades=upgrades, demo=demo)


class PackPlugin:
    def __init__(self, pack):
        self.LOOM_PLUGIN_NAME = pack.name
        self.pack = pack

    @hookimpl
    def loom_packs(self):
        return [self.pack]


def install_with(settings, *packs) -> Install:
    return Install(settings, Plugins(extra_plugins=[PackPlugin(p) for p in packs], load_entry_points=False))


@pytest.fixture
def shop(settings):
    """Tenant `shop` with shop_pack 1.0.0 (and base_pack beneath it) and two members."""
    install = install_with(settings, base_pack(), shop_pack())
    install.registry.create("shop")
    PackService(install).install("shop", "shop_pack")
    records = install.session("shop").records
    ann = records.create("party", {"name": "Ann"})
    for n in range(2):
        records.create("membership", {"number": f"M{n}", "tier": "gold", "points": 10 * n, "party": ann["id"]})
    yield install
    install.dispose()


def tenant_changes(install):
    """The acceptance's tenant edits: a field added to membership, another relabelled."""
    session = install.session("shop")
    document = session.metadata().package.to_dict()
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    membership["fields"].append({"name": "nickname", "type": "string", "label": {"en": "Nickname"}})
    next(f for f in membership["fields"] if f["name"] == "number")["label"] = {"en": "Card number"}
    session.apply_metadata(document)
    return document


def entity(install, name):
    return install.session("shop").metadata().package.entity(name)


def test_installing_a_pack_installs_its_dependency_first_and_enables_both(shop):
    assert [(p.name, p.version) for p in PackService(shop).installed("shop")] == \
        [("base_pack", "1.0.0"), ("shop_pack", "1.0.0")]
    assert set(shop.registry.get("shop").plugins) == {"base_pack", "shop_pack"}
    assert entity(shop, "party").field_names() == ("name", "email", "loyalty_id")
    shown = show_layer(shop.session("shop"), "effective")
    assert shown["sources"]["/entities/party"] == "base_pack 1.0.0"
    assert shown["sources"]["/entities/party/fields/loyalty_id"] == "shop_pack 1.0.0"


def test_installing_twice_or_an_unknown_pack_is_refused(shop):
    with pytest.raises(Conflict, match="already installed"):
        PackService(shop).install("shop", "shop_pack")
    with pytest.raises(NotFound, match="no installed pack named 'nope'"):
        PackService(shop).install("shop", "nope")


def test_a_pack_whose_dependency_is_missing_is_refused_and_nothing_changes(settings):
    install = install_with(settings, shop_pack())
    install.registry.create("lone")
    with pytest.raises(NotFound, match=r"'base_pack' \(needed by shop_pack\)"):
        PackService(install).install("lone", "shop_pack")
    assert install.session("lone").metadata().version == 0
    install.dispose()


def test_a_pack_that_redefines_another_packs_entity_is_refused(settings):
    clash = Pack(name="shop_pack", version="1.0.0", label="Clash", depends=["base_pack"],
                 bundle={"entities": [copy.deepcopy(PARTY)]})
    install = install_with(settings, base_pack(), clash)
    install.registry.create("clash")
    with pytest.raises(ValidationFailed, match="defined by both base_pack and shop_pack"):
        PackService(install).install("clash", "shop_pack")
    assert install.session("clash").metadata().version == 0
    install.dispose()


def test_the_tenants_changes_are_kept_as_changes(shop):
    tenant_changes(shop)
    overlay = load_layers(shop.session("shop")).overlay
    assert {(c["op"], c["path"]) for c in overlay} == {
        ("add", "/entities/membership/fields"), ("set", "/entities/membership/fields/number/label/en")}
    shown = show_layer(shop.session("shop"), "tenant")
    assert {c["path"] for c in shown["changes"]} == {c["path"] for c in overlay}
    sources = show_layer(shop.session("shop"), "effective")["sources"]
    assert sources["/entities/membership/fields/nickname"] == "tenant"
    assert sources["/entities/membership/fields/number/label/en"] == "tenant"
    pack_layer = show_layer(shop.session("shop"), "pack")
    pack_membership = next(e for e in pack_layer["document"]["entities"] if e["name"] == "membership")
    assert "nickname" not in [f["name"] for f in pack_membership["fields"]]


def test_a_tenant_cannot_drop_a_packs_field_and_is_told_to_hide_it(shop):
    session = shop.session("shop")
    document = session.metadata().package.to_dict()
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    membership["fields"] = [f for f in membership["fields"] if f["name"] != "points"]
    with pytest.raises(ValidationFailed) as refused:
        session.apply_metadata(document, allow_drop=True)
    assert refused.value.code == "pack_item_removed"
    assert "hide it instead" in refused.value.details[0]["message"]
    assert "points" in entity(shop, "membership").field_names()
    next(f for f in membership["fields"] if f["name"] == "number")["hidden"] = True
    membership["fields"].append(next(f for f in entity(shop, "membership").fields if f.name == "points").to_dict())
    session.apply_metadata(document)
    assert entity(shop, "membership").field("number").hidden


def test_upgrade_keeps_the_tenants_changes_takes_the_packs_and_loses_no_row(shop, settings):
    tenant_changes(shop)
    before = shop.session("shop").records.list("membership", [("sort", "id")])["items"]
    upgraded = install_with(settings, base_pack(), shop_pack("1.1.0"))
    report = PackService(upgraded).upgrade("shop", "shop_pack")
    assert (report["from"], report["to"], report["conflicts"]) == ("1.0.0", "1.1.0", [])
    membership = entity(upgraded, "membership")
    assert membership.field("joined") is not None                        # the pack's new field
    assert membership.field("tier").label == {"en": "Card level"}        # the pack's relabel
    assert membership.field("nickname") is not None                      # the tenant's field
    assert membership.field("number").label == {"en": "Card number"}     # the tenant's relabel
    after = upgraded.session("shop").records.list("membership", [("sort", "id")])["items"]
    assert [(r["id"], r["number"], r["points"]) for r in after] == \
        [(r["id"], r["number"], r["points"]) for r in before]
    assert PackService(upgraded).installed("shop")[1].version == "1.1.0"
    upgraded.dispose()


def conflicting_pack():
    fields = membership_fields((1, 1, 0))
    fields[0]["label"] = {"en": "Member no."}   # the tenant relabelled this one too
    return shop_pack("1.1.0", fields=fields)


def test_a_conflicting_upgrade_is_reported_with_both_values_and_changes_nothing(shop, settings):
    tenant_changes(shop)
    version = shop.session("shop").metadata().version
    upgraded = install_with(settings, base_pack(), conflicting_pack())
    service = PackService(upgraded)
    with pytest.raises(UpgradeConflicts) as refused:
        service.upgrade("shop", "shop_pack")
    [conflict] = refused.value.conflicts
    assert conflict["path"] == "/entities/membership/fields/number/label/en"
    assert (conflict["tenant"], conflict["pack_before"], conflict["pack_now"]) == \
        ("Card number", "Number", "Member no.")
    assert "--keep-tenant" in refused.value.message and "--take-pack" in refused.value.message
    session = upgraded.session("shop")
    assert session.metadata().version == version
    assert entity(upgraded, "membership").field("joined") is None
    assert service.installed("shop")[1].version == "1.0.0"
    preview = service.upgrade("shop", "shop_pack", dry_run=True)
    assert preview["conflicts"] and session.metadata().version == version
    upgraded.dispose()


@pytest.mark.parametrize("resolution, label", [("keep_tenant", "Card number"), ("take_pack", "Member no.")])
def test_a_conflict_is_resolved_for_the_tenant_or_the_pack(shop, settings, resolution, label):
    tenant_changes(shop)
    upgraded = install_with(settings, base_pack(), conflicting_pack())
    change_id = next(c["id"] for c in load_layers(shop.session("shop")).overlay if c["op"] == "set")
    PackService(upgraded).upgrade("shop", "shop_pack", **{resolution: [change_id]})
    membership = entity(upgraded, "membership")
    assert membership.field("number").label["en"] == label
    assert membership.field("joined") is not None and membership.field("nickname") is not None
    upgraded.dispose()


def test_resolving_an_unknown_change_is_refused(shop, settings):
    upgraded = install_with(settings, base_pack(), conflicting_pack())
    with pytest.raises(NotFound, match="no tenant change with id 999"):
        PackService(upgraded).upgrade("shop", "shop_pack", keep_tenant=[999])
    upgraded.dispose()


def test_upgrade_steps_move_data_even_out_of_a_renamed_field(shop, settings):
    fields = membership_fields((1, 1, 0))
    fields[2] = {"name": "points_balance", "type": "integer"}       # points renamed
    fields[1]["options"] = ["member", "gold", "diamond"]
    steps = [{"copy": {"entity": "membership", "from": "points", "to": "points_balance"}},
             {"fill": {"entity": "membership", "field": "joined", "value": "2020-01-01"}},
             {"map": {"entity": "membership", "field": "tier", "values": {"gold": "diamond"}}}]
    upgraded = install_with(settings, base_pack(), shop_pack("2.0.0", fields=fields, upgrades=[
        {"from": "1.0.0", "to": "2.0.0", "steps": steps}]))
    report = PackService(upgraded).upgrade("shop", "shop_pack")
    assert [m["rows"] for m in report["moved"]] == [2, 2, 2]
    assert [a["field"] for a in report["archives"]] == ["points"]   # the old column is archived, not lost
    rows = upgraded.session("shop").records.list("membership", [("sort", "id")])["items"]
    assert [(r["points_balance"], r["joined"], r["tier"]) for r in rows] == \
        [(0, "2020-01-01", "diamond"), (10, "2020-01-01", "diamond")]
    upgraded.dispose()


def test_removing_a_pack_keeps_its_data_as_the_tenants_own(shop, settings):
    service = PackService(shop)
    with pytest.raises(Conflict, match="shop_pack depends on base_pack"):
        service.remove("shop", "base_pack")
    report = service.remove("shop", "shop_pack")
    assert report["purged"] is False
    assert [p.name for p in service.installed("shop")] == ["base_pack"]
    assert "shop_pack" not in shop.registry.get("shop").plugins
    assert len(shop.session("shop").records.list("membership")["items"]) == 2
    sources = show_layer(shop.session("shop"), "effective")["sources"]
    assert sources["/entities/membership"] == "tenant"


def test_purging_a_pack_exports_the_tenant_first_and_archives_its_data(shop, tmp_path):
    service = PackService(shop)
    report = service.remove("shop", "shop_pack", purge=True, export_dir=tmp_path / "out")
    exported = json.loads(open(report["export"], encoding="utf-8").read())
    assert len(exported["tables"]["membership"]) == 2
    assert "/entities/membership" in report["removed"]
    assert "/entities/party/fields/loyalty_id" in report["removed"]
    assert entity(shop, "membership") is None
    assert {a["entity"] for a in report["archives"]} >= {"membership"}
    storage = shop.session("shop").storage
    with storage.connect() as conn:
        assert "membership" not in inspect(conn).get_table_names(schema=storage.schema)


def test_rolling_back_to_before_the_install_restores_the_layers(shop):
    session = shop.session("shop")
    version = session.metadata().version
    tenant_changes(shop)
    session = shop.session("shop")
    session.rollback_metadata(version)
    assert load_layers(shop.session("shop")).overlay == [] or \
        all(c["path"] != "/entities/membership/fields" for c in load_layers(shop.session("shop")).overlay)
    assert entity(shop, "membership").field("nickname") is None
    assert [p.name for p in PackService(shop).installed("shop")] == ["base_pack", "shop_pack"]


DEMO = {
    "users": [{"key": "boss", "email": "boss@shop.example", "display_name": "Boss"},
              {"key": "clerk", "email": "clerk@shop.example"}],
    "records": [
        {"entity": "party", "key": "ann", "values": {"name": "Ann"}},
        {"entity": "membership", "key": "m1", "owner": "clerk",
         "values": {"number": "D1", "party": "@party:ann", "joined": {"$date": "-30d"}}}],
}


def test_demo_data_resolves_references_dates_and_owners_once(settings):
    install = install_with(settings, base_pack(), shop_pack("1.1.0", demo=DEMO))
    install.registry.create("demo")
    report = PackService(install).install("demo", "shop_pack", demo=True)
    assert report["demo"]["shop_pack"] == {"users": 2, "records": {"party": 1, "membership": 1}}
    [member] = install.session("demo").records.list("membership")["items"]
    [ann] = install.session("demo").records.list("party")["items"]
    assert member["party"] == ann["id"] and member["joined"] is not None
    clerk = next(u for u in __import__("engine.auth").auth.list_users(install.session("demo").storage)
                 if u.email == "clerk@shop.example")
    assert member["owner_id"] == clerk.id
    with pytest.raises(Conflict, match="already loaded"):
        PackService(install).load_demo("demo", "shop_pack")
    install.dispose()


def test_invalid_demo_data_names_the_record_and_why(settings):
    bad = {"records": [{"entity": "membership", "key": "x", "values": {"tier": "platinum"}}]}
    install = install_with(settings, base_pack(), shop_pack(demo=bad))
    install.registry.create("bad")
    with pytest.raises(ValidationFailed, match=r"demo record 0 \(membership x\) of shop_pack was refused"):
        PackService(install).install("bad", "shop_pack", demo=True)
    install.dispose()


def test_rolling_back_past_an_install_takes_the_pack_off_again(settings):
    install = install_with(settings, base_pack(), shop_pack())
    install.registry.create("mine")
    own = {"entities": [{"name": "note", "fields": [{"name": "text", "type": "text"}]}]}
    install.session("mine").apply_metadata(own)
    PackService(install).install("mine", "shop_pack")
    package = install.session("mine").metadata().package
    assert set(package.entity_names()) == {"party", "membership", "note"}   # the tenant's own kept
    install.session("mine").rollback_metadata(1)
    assert install.session("mine").metadata().package.entity_names() == ("note",)
    assert PackService(install).installed("mine") == []
    assert not set(install.registry.get("mine").plugins) & {"base_pack", "shop_pack"}
    install.dispose()


def test_a_pack_whose_metadata_is_invalid_is_refused_naming_it(settings):
    broken = Pack(name="shop_pack", version="1.0.0", label="Broken", depends=["base_pack"],
                  bundle={"entities": [{"name": "membership", "fields": [
                      {"name": "party", "type": "reference", "to": "nobody"}]}]})
    install = install_with(settings, base_pack(), broken)
    install.registry.create("shop")
    with pytest.raises(ValidationFailed) as refused:
        PackService(install).install("shop", "shop_pack")
    assert refused.value.code == "pack_invalid"
    assert refused.value.message.startswith("base_pack 1.0.0, shop_pack 1.0.0: its metadata does not fit tenant shop")
    assert any("nobody" in d["message"] for d in refused.value.details)
    assert install.session("shop").metadata().version == 0
    assert not install.registry.get("shop").plugins
    install.dispose()


def test_a_tenant_with_changes_over_a_pack_adds_an_entity_through_the_api(shop):
    tenant_changes(shop)
    client = create_app(shop, {"TESTING": True}).test_client()
    admin = {"Authorization": f"Bearer {token_for(shop, 'shop', 'admin@shop.example', 'admin')}"}
    document = client.get("/api/v1/t/shop/metadata", headers=admin).get_json()["document"]
    document["entities"].insert(0, {"name": "branch", "fields": [{"name": "city", "type": "string"}]})
    applied = client.put("/api/v1/t/shop/metadata", json=document, headers=admin)
    assert applied.status_code == 200, applied.get_json()
    overlay = load_layers(shop.session("shop")).overlay
    assert len({c["id"] for c in overlay}) == len(overlay) == 3
    assert entity(shop, "membership").field("nickname") is not None
