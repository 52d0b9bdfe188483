"""Every hook in engine/hookspecs.py, exercised through a plugin discovered by its
`loom.plugins` entry point and enabled for one tenant only."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import ValidationFailed
from engine.plugins import Plugins

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "probe_plugin"
VALID_VIN = "1M8GDM9AXKP042788"


def write_distribution(site: Path) -> Path:
    """A dist-info declaring the probe plugin under `loom.plugins`, as pip would write it."""
    info = site / "loom_probe-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: loom-probe\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[loom.plugins]\nprobe = loom_probe\n")
    (site / "loom_probe.py").write_text((FIXTURE / "loom_probe.py").read_text())
    return site


@pytest.fixture
def probe_site(tmp_path, monkeypatch):
    site = write_distribution(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("loom_probe", None)


@pytest.fixture
def plugins(probe_site):
    """Overrides the conftest fixture: plugins come from entry points, as installed."""
    return Plugins()


@pytest.fixture
def two_tenants(install):
    install.registry.create("garage", plugins=["probe"])
    install.registry.create("bakery")
    return install


def test_entry_point_discovers_the_plugin(plugins):
    assert "probe" in plugins.names()


def test_field_type_is_usable_only_where_enabled(two_tenants):
    package = {"entities": [{"name": "car", "fields": [{"name": "vin", "type": "vin"}]}]}
    two_tenants.session("garage").apply_metadata(package)
    with pytest.raises(ValidationFailed) as refused:
        two_tenants.session("bakery").apply_metadata(package)
    assert refused.value.details[0]["field"] == "/entities/0/fields/0/type"


def test_field_type_validator_checks_values(two_tenants):
    session = two_tenants.session("garage")
    session.apply_metadata({"entities": [{"name": "car", "fields": [{"name": "vin", "type": "vin"}]}]})
    created = session.records.create("car", {"vin": VALID_VIN.lower()})
    assert created["vin"] == VALID_VIN
    with pytest.raises(ValidationFailed) as refused:
        session.records.create("car", {"vin": "1M8GDM9AXKP042789"})
    assert "check digit" in refused.value.details[0]["message"]
    with pytest.raises(ValidationFailed):
        session.records.create_many("car", [{"vin": "short"}])


def test_metadata_package_is_offered_only_to_enabled_tenants(two_tenants):
    offered = two_tenants.plugins.metadata_packages(["probe"])
    assert [p["name"] for p in offered] == ["garage"]
    assert two_tenants.plugins.metadata_packages([]) == []


def test_record_hooks_run_only_for_enabled_tenants(two_tenants):
    import loom_probe

    loom_probe.SEEN.clear()
    doc = {"entities": [{"name": "note", "fields": [{"name": "text", "type": "text"}]}]}
    for slug in ("garage", "bakery"):
        two_tenants.session(slug).apply_metadata(doc)
        two_tenants.session(slug).records.create("note", {"text": "hi"})
    assert loom_probe.SEEN == [("before", "garage", "record.created", 1),
                               ("after", "garage", "record.created", 1)]


def test_blueprint_answers_only_for_enabled_tenants(two_tenants):
    from engine.app import create_app

    client = create_app(two_tenants, {"TESTING": True}).test_client()
    ok = client.get("/probe/t/garage/hello")
    assert ok.status_code == 200 and ok.get_json()["tenant"] == "garage"
    for slug in ("bakery", "nobody"):
        hidden = client.get(f"/probe/t/{slug}/hello")
        assert hidden.status_code == 404
        assert hidden.get_json()["error"]["code"] == "not_found"


def test_a_plugin_describes_its_api_routes_for_enabled_tenants_only(two_tenants):
    from openapi_spec_validator import validate

    from engine.app import create_app
    from tests.conftest import token_for

    client = create_app(two_tenants, {"TESTING": True}).test_client()
    documents = {}
    for slug in ("garage", "bakery"):
        token = token_for(two_tenants, slug, f"admin@{slug}.example", "admin")
        response = client.get(f"/api/v1/t/{slug}/openapi.json", headers={"Authorization": f"Bearer {token}"})
        documents[slug] = response.get_json()
        validate(documents[slug])
    hello = documents["garage"]["paths"]["/probe/hello"]["get"]
    assert hello["responses"]["404"] == {"$ref": "#/components/responses/E404"}
    assert "/probe/hello" not in documents["bakery"]["paths"]
    assert "/settings/business-hours" in documents["bakery"]["paths"]  # the core plugin's, for everyone


def run_loom(args, site, data_dir):
    env = {**os.environ, "PYTHONPATH": str(site), "LOOM_DATA_DIR": str(data_dir)}
    env.pop("LOOM_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                          text=True, env=env, check=False)


def test_cli_commands_and_package_apply(probe_site, tmp_path):
    hello = run_loom(["probe-hello", "world"], probe_site, tmp_path)
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.strip() == "hello world from the probe plugin"

    assert run_loom(["tenant", "create", "garage", "--plugin", "probe"], probe_site, tmp_path).returncode == 0
    assert run_loom(["tenant", "create", "bakery"], probe_site, tmp_path).returncode == 0
    applied = run_loom(["metadata", "apply", "garage", "--package", "garage", "--json"], probe_site, tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["version"] == 1
    refused = run_loom(["metadata", "apply", "bakery", "--package", "garage"], probe_site, tmp_path)
    assert refused.returncode == 1
    assert "no package 'garage'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_broken_plugin_is_reported_and_the_rest_still_works(tmp_path):
    """A third-party pack whose module fails to import (an invalid pack.json, say) is left
    out and named by `loom plugin list`; every other plugin and command keeps working."""
    site = tmp_path / "site"
    info = site / "loom_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: loom-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[loom.plugins]\nbroken = loom_broken\n")
    (site / "loom_broken.py").write_text("raise ValueError('pack.json: /version: 1.0 is not a version')\n")
    listed = run_loom(["plugin", "list"], site, tmp_path / "data")
    assert listed.returncode == 0, listed.stderr
    assert "crm_core" in listed.stdout
    assert "broken\tBROKEN, not loaded: ValueError: pack.json: /version: 1.0 is not a version" in listed.stdout
    packs = run_loom(["pack", "list"], site, tmp_path / "data")
    assert packs.returncode == 0 and "retail_loyalty" in packs.stdout and "Traceback" not in packs.stderr


def test_only_core_plugins_give_the_plugin_session_its_services(two_tenants):
    """The probe offers its own `transitions` through loom_session_services; the plugin
    session of a tenant that enabled it still gets the workflows' ones."""
    from engine.plugin_api import PluginSession

    import loom_probe

    asked = len(loom_probe.SESSION_SERVICES_ASKED)
    transitions = PluginSession(two_tenants.session("garage")).transitions
    assert type(transitions).__module__ == "workflows.session_services"
    assert callable(transitions.take)
    assert len(loom_probe.SESSION_SERVICES_ASKED) == asked, "an installed plugin's hook is not even called"
