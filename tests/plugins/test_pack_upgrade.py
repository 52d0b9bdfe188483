"""Issue 4, acceptance 3: a tenant of retail_loyalty adds a field to `membership` and
relabels another; the pack's next version (a fixture built from the real pack) adds a
field and relabels one the tenant did not touch. After `loom pack upgrade` all three
changes are there and no row was lost. A version that relabels the tenant's field too is
reported as a conflict and not applied."""
import json
import shutil
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import plugins.crm_core.plugin as crm_core_plugin
import plugins.retail_loyalty.plugin as retail_plugin
from engine.cli import cli
from engine.hookspecs import hookimpl
from engine.install import Install
from engine.packs import Pack
from engine.plugins import Plugins
from tests.conftest import token_for

RETAIL = Path(retail_plugin.__file__).parent


def next_version(tmp_path, version, edit) -> Pack:
    """A copy of the real retail_loyalty pack at `version`, its bundle changed by `edit`."""
    directory = tmp_path / f"retail_loyalty-{version}"
    shutil.copytree(RETAIL, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    manifest = json.loads((directory / "pack.json").read_text(encoding="utf-8"))
    manifest["version"] = version
    (directory / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    source = directory / "entities" / "membership.json"
    membership = json.loads(source.read_text(encoding="utf-8"))
    edit({f["name"]: f for f in membership["fields"]}, membership["fields"])
    source.write_text(json.dumps(membership, ensure_ascii=False), encoding="utf-8")
    return Pack.from_directory(directory)


def plugins_with(pack) -> Plugins:
    """The built-in packs, with retail_loyalty's plugin shipping `pack` instead."""
    replacement = types.ModuleType("retail_loyalty_next")
    replacement.__dict__.update({k: v for k, v in vars(retail_plugin).items() if not k.startswith("__")})

    @hookimpl
    def loom_packs():
        return [pack]

    replacement.loom_packs = loom_packs
    return Plugins(extra_plugins=[crm_core_plugin, replacement], load_entry_points=False)


def adds_referral_and_relabels_club(fields, ordered):
    ordered.append({"name": "referral_code", "type": "string", "max_length": 20,
                    "label": {"en": "Referral code", "zh-CN": "推荐码"}})
    fields["club"]["label"] = {"en": "Member club", "zh-CN": "会员俱乐部"}


def relabels_joined_too(fields, ordered):
    adds_referral_and_relabels_club(fields, ordered)
    fields["joined"]["label"] = {"en": "Enrolled", "zh-CN": "入会"}


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def row_counts(install, slug) -> dict:
    session = install.session(slug)
    counts = {}
    with session.storage.connect() as conn:
        for name, table in session.metadata().tables.items():
            counts[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return counts


@pytest.fixture
def shop(settings):
    install = Install(settings, Plugins(extra_plugins=[crm_core_plugin, retail_plugin], load_entry_points=False))
    created = run(install, "tenant", "create", "shop", "--pack", "retail_loyalty", "--demo")
    assert created.exit_code == 0, created.output
    yield install
    install.dispose()


def customise(install, client_for):
    """The tenant admin's edits, through the API as the admin UI would send them."""
    token = token_for(install, "shop", "admin@shop.example", "admin")
    client = client_for(install)
    headers = {"Authorization": f"Bearer {token}"}
    document = client.get("/api/v1/t/shop/metadata", headers=headers).get_json()["document"]
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    membership["fields"].append({"name": "favourite_store", "type": "string", "max_length": 80,
                                 "label": {"en": "Favourite store", "zh-CN": "常去门店"}})
    next(f for f in membership["fields"] if f["name"] == "joined")["label"] = \
        {"en": "Member since", "zh-CN": "入会日期"}
    response = client.put("/api/v1/t/shop/metadata", json=document, headers=headers)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def client_for():
    from engine.app import create_app

    return lambda install: create_app(install, {"TESTING": True}).test_client()


def test_upgrade_keeps_the_tenants_field_and_label_and_adds_the_packs(shop, settings, tmp_path, client_for):
    customise(shop, client_for)
    before = row_counts(shop, "shop")
    assert before["membership"] >= 5 and before["points_entry"] > 0   # the demo is there to lose

    upgraded = Install(settings, plugins_with(next_version(tmp_path, "1.1.0", adds_referral_and_relabels_club)))
    dry = run(upgraded, "pack", "upgrade", "shop", "retail_loyalty", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "add field membership.referral_code" in dry.output
    done = run(upgraded, "pack", "upgrade", "shop", "retail_loyalty")
    assert done.exit_code == 0, done.output

    membership = upgraded.session("shop").metadata().package.entity("membership")
    assert membership.field("referral_code").label["en"] == "Referral code"      # the pack's new field
    assert membership.field("club").label["en"] == "Member club"                 # the pack's relabel
    assert membership.field("favourite_store") is not None                      # the tenant's field
    assert membership.field("joined").label == {"en": "Member since", "zh-CN": "入会日期"}  # the tenant's label
    assert row_counts(upgraded, "shop") == before                                # no row lost
    listed = json.loads(run(upgraded, "pack", "list", "--tenant", "shop", "--json").output)
    assert next(p for p in listed if p["name"] == "retail_loyalty")["installed"] == "1.1.0"
    upgraded.dispose()


def test_a_conflicting_version_is_reported_and_not_applied(shop, settings, tmp_path, client_for):
    customise(shop, client_for)
    version = shop.session("shop").metadata().version
    conflicting = Install(settings, plugins_with(next_version(tmp_path, "1.2.0", relabels_joined_too)))
    refused = run(conflicting, "pack", "upgrade", "shop", "retail_loyalty")
    assert refused.exit_code == 1
    assert "/entities/membership/fields/joined/label/en" in refused.output
    assert '"Member since"' in refused.output and '"Enrolled"' in refused.output
    assert "--keep-tenant" in refused.output and "--take-pack" in refused.output
    session = conflicting.session("shop")
    assert session.metadata().version == version
    membership = session.metadata().package.entity("membership")
    assert membership.field("referral_code") is None and membership.field("joined").label["en"] == "Member since"
    conflicting.dispose()


def test_upgrading_crm_core_brings_its_party_duplicate_rules_to_an_older_tenant(settings, tmp_path):
    """A tenant installed from a crm_core without duplicate rules gets them by `loom pack
    upgrade`, and they act at entry at once."""
    older = tmp_path / "crm_core-0.9.0"
    shutil.copytree(Path(crm_core_plugin.__file__).parent, older, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    manifest = json.loads((older / "pack.json").read_text(encoding="utf-8"))
    manifest["version"] = "0.9.0"
    (older / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    party = json.loads((older / "entities" / "party.json").read_text(encoding="utf-8"))
    del party["duplicate_rules"]
    (older / "entities" / "party.json").write_text(json.dumps(party, ensure_ascii=False), encoding="utf-8")
    old_plugin = types.ModuleType("crm_core_old")
    old_plugin.__dict__.update({k: v for k, v in vars(crm_core_plugin).items() if not k.startswith("__")})
    old_plugin.loom_packs = hookimpl(lambda: [Pack.from_directory(older)])
    install = Install(settings, Plugins(extra_plugins=[old_plugin], load_entry_points=False))
    assert run(install, "tenant", "create", "crm", "--pack", "crm_core").exit_code == 0
    records = install.session("crm").records
    records.create("party", {"name": "张伟", "phone": "+86 138 0013 8001"})
    records.create("party", {"name": "张 伟", "phone": "13800138001"})  # no rules yet
    install.dispose()
    current = Install(settings, Plugins(extra_plugins=[crm_core_plugin], load_entry_points=False))
    done = run(current, "pack", "upgrade", "crm", "crm_core")
    assert done.exit_code == 0, done.output
    party_rules = current.session("crm").metadata().entity("party").duplicate_rules
    assert [r["name"] for r in party_rules][:3] == ["same_phone", "same_mobile", "same_email"]
    from engine.errors import Conflict

    with pytest.raises(Conflict, match="same_phone"):
        current.session("crm").records.create("party", {"name": "Zhang Wei", "phone": "138 0013 8001"})
    current.dispose()
