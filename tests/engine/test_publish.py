"""One publisher for every way metadata changes: its dry run returns a plain plan (each
change with what it touches, the data checks and their results, the state moves, the
workflows and rule sets affected, what a real run would refuse) and changes nothing;
the CLI, the API, packs and rollback all publish through it."""
import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.app import create_app
from engine.cli import cli
from engine.publish import Publisher
from engine.packs.service import PackService
from tests.conftest import crm_document, token_for
from tests.engine.test_migration import (fill_contacts, snapshot, version_numbers, with_changed, with_field,
                                         without_field)
from tests.engine.test_packs import base_pack, install_with, shop_pack
from tests.engine.test_state_map import desk, statuses, without_waiting  # noqa: F401 (fixture)


def change(plan, kind, field=None) -> dict:
    return next(c for c in plan["changes"] if c["kind"] == kind and c["field"] == field)


def test_a_plan_counts_the_rows_and_values_each_change_touches(acme, crm_doc):
    fill_contacts(acme, "Ada", "Bob", "Cy")
    acme.records.update("contact", 1, {"phone": "+1 555 0100"})
    document = with_field(without_field(crm_doc, "contact", "phone"), "contact",
                          name="nickname", type="string", required=True, default="-")
    result = acme.apply_metadata(document, dry_run=True)
    plan = result.plan
    dropped = change(plan, "drop_field", "phone")
    assert (dropped["destructive"], dropped["rows"], dropped["values"]) == (True, 3, 1)
    added = change(plan, "add_field", "nickname")
    assert (added["destructive"], added["rows"], added["values"]) == (False, 3, 0)
    assert plan["destructive"] == ["contact.phone"]
    assert {"field": "contact.nickname", "check": "add_field", "passed": True, "message": None} in plan["checks"]
    assert [r["code"] for r in plan["refused"]] == ["destructive_change"]
    json.dumps(result.to_dict())  # plain JSON all through


def test_a_type_change_that_would_lose_data_shows_the_failing_check_in_the_plan(acme, crm_doc):
    fill_contacts(acme, "Ada", "Bob")
    plan = acme.apply_metadata(with_changed(crm_doc, "contact", "full_name", type="integer", max_length=None),
                               dry_run=True).plan
    altered = change(plan, "alter_type", "full_name")
    assert (altered["rows"], altered["values"], altered["destructive"]) == (2, 2, False)
    [check] = [c for c in plan["checks"] if c["field"] == "contact.full_name"]
    assert not check["passed"] and "would lose data in 2 rows" in check["message"]
    assert plan["refused"][0]["details"][0]["field"] == "contact.full_name"


def test_a_removed_state_shows_the_records_it_holds_and_where_the_map_moves_them(desk):  # noqa: F811
    plan = desk.apply_metadata(without_waiting(), dry_run=True,
                               state_map={("ticket", "waiting"): "done"}).plan
    removed = change(plan, "drop_state", "status")
    assert (removed["rows"], removed["values"]) == (3, 2)
    assert plan["moves"] == [{"entity": "ticket", "field": "status", "from": "waiting", "to": "done", "records": 2}]
    assert plan["affected"]["workflows"] == ["ticket_flow"] and plan["refused"] == []
    unmapped = desk.apply_metadata(without_waiting(), dry_run=True).plan
    assert unmapped["refused"][0]["code"] == "stranded_records"  # what a real run answers first
    assert statuses(desk) == [("a", "waiting"), ("b", "waiting"), ("c", "new")]


def test_a_dry_run_changes_nothing_even_when_it_would_drop_and_convert(acme, crm_doc):
    fill_contacts(acme, "Ada")
    before = snapshot(acme)
    document = with_changed(without_field(crm_doc, "contact", "phone"), "contact", "birthday", type="string")
    result = acme.apply_metadata(document, dry_run=True, allow_drop=True)
    assert (result.applied, result.version, result.archives) == (False, 1, [])
    assert result.plan["refused"] == []
    assert snapshot(acme) == before and version_numbers(acme) == [1]


def test_put_metadata_and_the_cli_dry_run_return_the_same_plan(install, acme, crm_doc):
    fill_contacts(acme, "Ada")
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    document = with_field(without_field(crm_doc, "contact", "phone"), "contact", name="vip", type="boolean")
    client = create_app(install, {"TESTING": True}).test_client()
    over_http = client.put("/api/v1/t/acme/metadata?dry_run=true", json=document, headers=admin).get_json()
    assert [c["kind"] for c in over_http["plan"]["changes"]] == ["add_field", "drop_field"]
    assert over_http["version"] == 1 and over_http["plan"]["refused"][0]["code"] == "destructive_change"
    path = install.settings.data_dir / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    printed = CliRunner().invoke(cli, ["metadata", "apply", "acme", str(path), "--dry-run", "--json"], obj=install)
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["plan"] == over_http["plan"]
    shown = CliRunner().invoke(cli, ["metadata", "apply", "acme", str(path), "--dry-run"], obj=install)
    assert "  add field contact.vip (boolean)  [1 row]\n" in shown.output
    assert "  drop field contact.phone  [destructive: 1 row]\n" in shown.output
    assert "would be refused: refused: applying this document would drop field contact.phone" in shown.output


@pytest.fixture
def published(monkeypatch):
    """The action of every publication, as the publisher records it."""
    actions = []
    original = Publisher.publish

    def spy(self, request):
        result = original(self, request)
        actions.append((request.action, result.version))
        return result

    monkeypatch.setattr(Publisher, "publish", spy)
    return actions


def test_every_way_to_change_metadata_publishes_through_the_publisher(settings, published):
    install = install_with(settings, base_pack(), shop_pack())
    run = CliRunner().invoke
    assert run(cli, ["tenant", "create", "shop", "--pack", "shop_pack"], obj=install).exit_code == 0
    session = install.session("shop")
    document = session.metadata().package.to_dict()
    document["entities"][0]["fields"].append({"name": "nickname", "type": "string"})
    path = settings.data_dir / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert run(cli, ["metadata", "apply", "shop", str(path)], obj=install).exit_code == 0
    admin = {"Authorization": f"Bearer {token_for(install, 'shop', 'admin@shop.example', 'admin')}"}
    client = create_app(install, {"TESTING": True}).test_client()
    document = copy.deepcopy(document)
    document["entities"][0]["fields"].append({"name": "vip", "type": "boolean"})
    assert client.put("/api/v1/t/shop/metadata", json=document, headers=admin).status_code == 200
    assert client.post("/api/v1/t/shop/metadata/rollback/2", headers=admin).status_code == 200
    assert run(cli, ["metadata", "rollback", "shop", "1"], obj=install).exit_code == 0
    same = run(cli, ["metadata", "rollback", "shop", "5"], obj=install)  # the current one: no version recorded
    assert same.exit_code == 1 and "version 5 is the current version" in same.output
    PackService(install).remove("shop", "shop_pack")
    recorded = [(h["action"], h["version"]) for h in install.session("shop").metadata_history()]
    assert published == recorded == [("pack install", 1), ("apply", 2), ("apply", 3), ("rollback to 2", 4),
                                     ("rollback to 1", 5), ("pack remove", 6)]
    install.dispose()


def test_the_documented_plan_is_the_plan_a_dry_run_answers(acme, crm_doc):
    text = (Path(__file__).parents[2] / "docs" / "migrations.md").read_text(encoding="utf-8")
    documented = json.loads(re.search(r"<!-- plan-example -->\n```json\n(.*?)```", text, re.S).group(1))
    fill_contacts(acme, "Ada", "Bob", "Cy")
    acme.records.update("contact", 1, {"phone": "+1 555 0100"})
    document = with_field(without_field(crm_doc, "contact", "phone"), "contact",
                          name="nickname", type="string", required=True, default="-")
    assert acme.apply_metadata(document, dry_run=True).plan == documented


def test_a_pack_upgrade_dry_run_answers_the_plan_and_upgrades_nothing(settings):
    install = install_with(settings, base_pack(), shop_pack())
    install.registry.create("shop")
    PackService(install).install("shop", "shop_pack")
    install.session("shop").records.create("membership", {"number": "M1", "tier": "gold"})
    upgraded = install_with(settings, base_pack(), shop_pack("1.1.0"))
    report = PackService(upgraded).upgrade("shop", "shop_pack", dry_run=True)
    joined = change(report["plan"], "add_field", "joined")
    assert (joined["rows"], joined["values"], joined["destructive"]) == (1, 0, False)
    assert upgraded.session("shop").metadata().version == 1
    assert PackService(upgraded).installed("shop")[1].version == "1.0.0"
    install.dispose()
    upgraded.dispose()
