"""Pack sources split into one file per definition compose the same pack as before.

FINGERPRINTS were computed from the single-file bundles (metadata.json) before the
split: the SHA-256 of the canonical JSON of each pack's manifest, bundle and demo data,
with every rule set's rules expanded to {event: [rule as written for that event alone]}
and rule names left out (a rule listening to several events replaced one rule per event,
under one name). Everything else must be identical, order included. A pack changed on
purpose since gets its new fingerprint (crm_core and insurance_agents: conditional fields
and the claim form's tabs; every pack: notifications' purposes, consent evidence and
legal bases of issue 12; retail_loyalty: its demo store manager holds the store manager
role; crm_core: the party's duplicate rules and name key of issue 13)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from engine.packs.pack import Pack, PackInvalid
from workflows.rules.events import expanded_rules

ROOT = Path(__file__).resolve().parents[2]
PACKS = {
    "crm_core": ROOT / "plugins/crm_core",
    "insurance_agents": ROOT / "plugins/insurance_agents",
    "retail_loyalty": ROOT / "plugins/retail_loyalty",
    "automotive_dealers": ROOT / "plugins/automotive_dealers",
    "subscriptions": ROOT / "examples/loom-pack-example/loom_pack_example",
}
FINGERPRINTS = {
    "automotive_dealers": "9b5173429dcd2c78a9a9976c7e97e00408f5de7c86ab5c04ee42c09654124fa3",
    "crm_core": "c96389af2e76a72ea61732080c1e305c7c5fc19ea17db5fcadff5de15179e565",
    "insurance_agents": "0d556900739b4d878b6670c26853b30a9c9d5dc69c13a19bb7987f9e96dce79f",
    "retail_loyalty": "696c724985c1998b7dd8423d7a7f7a3e3828d768539e5620f79275202559b2ed",
    "subscriptions": "51902767948b3564c994fdc706ae82b2c859612aaab53824a9971ea82af26937",
}


def effective(pack: Pack) -> dict:
    """The pack as the engine sees it, with multi-event rules expanded and rule names dropped."""
    bundle = json.loads(json.dumps(pack.bundle))
    bundle.pop("roles", None)  # added since (tests/engine/test_roles_matrix.py checks them)
    for ruleset in bundle.get("rulesets", ()):
        ruleset["rules"] = {event: [{k: v for k, v in rule.items() if k != "name"} for rule in rules]
                            for event, rules in expanded_rules(ruleset).items()}
    return {"manifest": pack.manifest(), "bundle": bundle, "demo": pack.demo}


def fingerprint(pack: Pack) -> str:
    text = json.dumps(effective(pack), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("name", sorted(PACKS))
def test_split_sources_compose_the_same_pack_as_before(name):
    assert fingerprint(Pack.from_directory(PACKS[name])) == FINGERPRINTS[name]


def test_the_packs_write_no_rule_twice_for_create_and_update():
    """A rule on created and updated events is one rule listing both."""
    for directory in PACKS.values():
        for ruleset in Pack.from_directory(directory).bundle.get("rulesets", ()):
            by_body = {}
            for rule in ruleset["rules"]:
                body = json.dumps({**rule, "name": None, "when": {k: v for k, v in rule["when"].items()
                                                                  if k not in ("event", "changed")}},
                                  sort_keys=True)
                by_body.setdefault(body, []).append(rule["name"])
            assert [names for names in by_body.values() if len(names) > 1] == [], ruleset["name"]


@pytest.fixture
def example(tmp_path):
    directory = tmp_path / "pack"
    shutil.copytree(PACKS["subscriptions"], directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return directory


def refusal(directory, problems=1) -> str:
    with pytest.raises(PackInvalid) as caught:
        Pack.from_directory(directory)
    assert len(caught.value.problems) == problems
    return caught.value.problems[0]


def test_a_listed_file_that_is_missing_is_refused_naming_it(example):
    (example / "rulesets" / "subscription_plans.json").unlink()
    assert refusal(example).startswith("rulesets/subscription_plans.json: listed in pack.json but cannot be read")


def test_a_file_of_invalid_json_is_refused_naming_it(example):
    (example / "workflows" / "subscription_lifecycle.json").write_text('{"name": "subscription_lifecycle",')
    assert refusal(example).startswith("workflows/subscription_lifecycle.json: not valid JSON")


def test_a_file_naming_a_key_twice_is_refused_naming_it_and_the_key(example):
    (example / "workflows" / "subscription_lifecycle.json").write_text(
        '{"name": "subscription_lifecycle", "entity": "a", "entity": "b"}')
    assert refusal(example) == ("workflows/subscription_lifecycle.json: not valid JSON: "
                                "an object names the key 'entity' twice")


def test_a_definition_named_otherwise_than_its_file_is_refused_naming_it(example):
    source = example / "entities" / "subscription.json"
    source.write_text(json.dumps({**json.loads(source.read_text(encoding="utf-8")), "name": "plan"}))
    assert refusal(example) == "entities/subscription.json: its name 'plan' differs from the file's name 'subscription'"


def test_a_layout_file_of_another_entity_is_refused_naming_it(example):
    (example / "layouts" / "subscription.json").rename(example / "layouts" / "plan.json")
    manifest = json.loads((example / "pack.json").read_text(encoding="utf-8"))
    manifest["bundle"]["layouts"] = ["layouts/plan.json"]
    (example / "pack.json").write_text(json.dumps(manifest))
    assert refusal(example, problems=2).startswith("layouts/plan.json: layout 0 is for entity 'subscription', not 'plan'")


@pytest.mark.parametrize("listing, expected", [
    ({"entities": ["../outside.json"]}, "/bundle/entities/0: "),
    ({"entities": ["entities/a.json", "entities/a.json"]}, "/bundle/entities: "),
    ({"pages": ["pages/a.json"]}, "/bundle: "),
])
def test_a_malformed_listing_is_refused_by_the_manifest_schema(example, listing, expected):
    manifest = json.loads((example / "pack.json").read_text(encoding="utf-8"))
    manifest["bundle"] = listing
    (example / "pack.json").write_text(json.dumps(manifest))
    assert refusal(example).startswith(expected)


def test_bundle_and_metadata_together_are_refused(example):
    manifest = json.loads((example / "pack.json").read_text(encoding="utf-8"))
    manifest["metadata"] = "metadata.json"
    (example / "pack.json").write_text(json.dumps(manifest))
    assert "either as `bundle` (its files) or as `metadata`, not both" in refusal(example)
