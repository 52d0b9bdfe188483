"""`loom pack ...`, `loom tenant create --pack` and `loom metadata show --layer`, as an
operator runs them: the output says what happened, and a refusal is one line on stderr
with a non-zero exit and nothing changed."""
import copy
import json
import re

import pytest
from click.testing import CliRunner

from engine import passwords
from engine.cli import cli
from engine.install import Install
from engine.packs.layers import load_layers
from engine.packs.service import PackService
from engine.plugins import Plugins
from tests.engine.test_packs import DEMO, base_pack, conflicting_pack, install_with, shop_pack


DEMO_1_0 = copy.deepcopy(DEMO)
del DEMO_1_0["records"][1]["values"]["joined"]   # 1.0.0 has no joined field


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


@pytest.fixture
def loom(settings):
    install = install_with(settings, base_pack(), shop_pack(demo=DEMO_1_0))
    yield install
    install.dispose()


def test_pack_list_shows_versions_labels_and_dependencies(loom):
    result = run(loom, "pack", "list")
    assert result.exit_code == 0
    assert "base_pack\t1.0.0\tBase" in result.output
    assert "shop_pack\t1.0.0\tShop\t(depends on base_pack)" in result.output
    run(loom, "tenant", "create", "shop", "--pack", "shop_pack")
    listed = json.loads(run(loom, "pack", "list", "--tenant", "shop", "--json").output)
    assert {r["name"]: r["installed"] for r in listed} == {"base_pack": "1.0.0", "shop_pack": "1.0.0"}


def test_tenant_create_with_a_pack_and_demo_in_one_command(loom):
    result = run(loom, "tenant", "create", "shop", "--pack", "shop_pack", "--demo")
    assert result.exit_code == 0, result.output
    assert "created tenant shop" in result.output
    assert "installed base_pack 1.0.0 for shop" in result.output
    assert "installed shop_pack 1.0.0 for shop" in result.output
    assert "demo data of shop_pack: 2 users; 1 membership, 1 party" in result.output
    assert len(loom.session("shop").records.list("membership")["items"]) == 1


def test_tenant_create_with_an_unknown_pack_creates_nothing(loom):
    result = run(loom, "tenant", "create", "shop", "--pack", "nope")
    assert result.exit_code == 2 and "no installed pack named nope" in result.output
    assert loom.registry.get("shop") is None


def test_a_pack_that_fails_to_install_leaves_no_tenant_behind(settings):
    bad = shop_pack(demo={"records": [{"entity": "membership", "values": {"tier": "platinum"}}]})
    install = install_with(settings, base_pack(), bad)
    result = run(install, "tenant", "create", "shop", "--pack", "shop_pack", "--demo")
    assert result.exit_code == 1
    assert "demo record 0 (membership ) of shop_pack was refused" in result.output
    assert "Traceback" not in result.output
    assert install.registry.get("shop") is None
    install.dispose()


def test_pack_install_then_installing_again_is_a_clear_error(loom):
    run(loom, "tenant", "create", "shop")
    result = run(loom, "pack", "install", "shop", "shop_pack")
    assert result.exit_code == 0 and "installed shop_pack 1.0.0 for shop" in result.output
    again = run(loom, "pack", "install", "shop", "shop_pack")
    assert again.exit_code == 1 and "shop_pack 1.0.0 is already installed for shop" in again.output


def test_metadata_show_tells_where_each_definition_comes_from(loom):
    run(loom, "tenant", "create", "shop", "--pack", "shop_pack")
    session = loom.session("shop")
    document = session.metadata().package.to_dict()
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    membership["fields"].append({"name": "nickname", "type": "string"})
    session.apply_metadata(document)
    effective = json.loads(run(loom, "metadata", "show", "shop").output)
    assert effective["layer"] == "effective" and effective["version"] == 2
    assert effective["sources"]["/entities/membership"] == "shop_pack 1.0.0"
    assert effective["sources"]["/entities/membership/fields/nickname"] == "tenant"
    tenant = json.loads(run(loom, "metadata", "show", "shop", "--layer", "tenant").output)
    assert [(c["op"], c["value"]["name"]) for c in tenant["changes"]] == [("add", "nickname")]
    pack = json.loads(run(loom, "metadata", "show", "shop", "--layer", "pack").output)
    assert "nickname" not in json.dumps(pack["document"])


def test_upgrade_dry_run_then_upgrade(loom, settings):
    run(loom, "tenant", "create", "shop", "--pack", "shop_pack")
    newer = install_with(settings, base_pack(), shop_pack("1.1.0"))
    dry = run(newer, "pack", "upgrade", "shop", "shop_pack", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would upgrade shop_pack 1.0.0 -> 1.1.0 for shop" in dry.output
    assert "add field membership.joined (date)" in dry.output
    assert newer.session("shop").metadata().package.entity("membership").field("joined") is None
    done = run(newer, "pack", "upgrade", "shop", "shop_pack")
    assert done.exit_code == 0 and "upgraded shop_pack 1.0.0 -> 1.1.0 for shop (metadata version 2)" in done.output
    again = run(newer, "pack", "upgrade", "shop", "shop_pack")
    assert again.exit_code == 0 and "shop already has shop_pack 1.1.0: nothing to upgrade" in again.output
    assert newer.session("shop").metadata().version == 2
    newer.dispose()


def test_a_conflicting_upgrade_exits_1_with_both_values_and_how_to_resolve(loom, settings):
    run(loom, "tenant", "create", "shop", "--pack", "shop_pack")
    session = loom.session("shop")
    document = session.metadata().package.to_dict()
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    membership["fields"][0]["label"] = {"en": "Card number"}
    session.apply_metadata(document)
    change_id = load_layers(loom.session("shop")).overlay[0]["id"]
    newer = install_with(settings, base_pack(), conflicting_pack())
    refused = run(newer, "pack", "upgrade", "shop", "shop_pack")
    assert refused.exit_code == 1
    assert "nothing was changed" in refused.output
    assert '"Card number"' in refused.output and '"Member no."' in refused.output
    assert f"--keep-tenant {change_id}" in refused.output
    assert newer.session("shop").metadata().version == 2
    resolved = run(newer, "pack", "upgrade", "shop", "shop_pack", "--keep-tenant", str(change_id))
    assert resolved.exit_code == 0, resolved.output
    newer.dispose()


def test_remove_needs_yes_to_purge_and_keeps_data_without_it(loom, tmp_path):
    run(loom, "tenant", "create", "shop", "--pack", "shop_pack", "--demo")
    unconfirmed = run(loom, "pack", "remove", "shop", "shop_pack", "--purge")
    assert unconfirmed.exit_code == 2 and "--purge --yes" in unconfirmed.output
    kept = run(loom, "pack", "remove", "shop", "shop_pack")
    assert kept.exit_code == 0 and "its entities and their data stay" in kept.output
    assert len(loom.session("shop").records.list("membership")["items"]) == 1
    refused = run(loom, "pack", "remove", "shop", "base_pack", "--purge", "--yes", "--export-dir", str(tmp_path))
    assert refused.exit_code == 1
    assert "purging base_pack would leave membership.party pointing at entities it removes" in refused.output
    assert [p.name for p in load_layers(loom.session("shop")).packs] == ["base_pack"]


def test_purge_exports_first(loom, tmp_path):
    run(loom, "tenant", "create", "shop", "--pack", "shop_pack", "--demo")
    purged = run(loom, "pack", "remove", "shop", "shop_pack", "--purge", "--yes", "--export-dir", str(tmp_path))
    assert purged.exit_code == 0, purged.output
    assert f"exported shop to {tmp_path}" in purged.output
    assert "removed /entities/membership" in purged.output
    assert loom.session("shop").metadata().package.entity("membership") is None


def test_loom_demo_sets_up_the_retail_tenant_once(settings):
    """The quick start's `scripts/demo`: a tenant with the retail loyalty pack, its demo
    data, an admin and a token; run again, it keeps what is there."""
    install = Install(settings, Plugins())
    first = run(install, "demo", "--no-serve")
    assert first.exit_code == 0, first.output
    assert "demo tenant ready: demo; admin admin@demo.example" in first.output
    lines = first.output.strip().splitlines()
    assert lines[1].startswith("loom_")
    signs_in = re.compile(r"screens: sign in at http://127\.0\.0\.1:8000/t/demo/ as (\S+) with the password (\S+)")
    accounts = dict(signs_in.match(line).groups() for line in lines[2:])
    assert set(accounts) == {"admin@demo.example", "clerk@shop.example"}
    storage = install.session("demo").storage
    for email, password in accounts.items():
        assert passwords.sign_in(storage, email, password).actor.email == email
    session = install.session("demo")
    assert {p.name for p in PackService(install).installed("demo")} == {"crm_core", "retail_loyalty"}
    assert len(session.records.list("membership")["items"]) >= 5
    again = run(install, "demo", "--no-serve")
    assert again.exit_code == 0 and "demo tenant exists" in again.output
    assert again.output.count("screens: sign in at") == 2  # new passwords each run
    install.dispose()
