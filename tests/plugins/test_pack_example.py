"""examples/loom-pack-example, as an implementation partner ships it: built and installed
with pip (into a directory of its own, so the test environment stays clean), found by
its entry point, installed for one tenant with the `loom` CLI and working there — and
absent for a tenant that did not install it."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "loom-pack-example"
LOOM = Path(sys.executable).with_name("loom")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / EXAMPLE.name   # a build writes beside the sources
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            "--target", str(target), str(source)], capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stderr
    assert (target / "loom_pack_example" / "pack.json").is_file()   # the JSON ships with it
    manifest = json.loads((target / "loom_pack_example" / "pack.json").read_text(encoding="utf-8"))
    listed = [ref for refs in manifest["bundle"].values() if isinstance(refs, list) for ref in refs]
    assert listed and all((target / "loom_pack_example" / ref).is_file() for ref in listed)  # its folders too
    return target


@pytest.fixture
def env(site, tmp_path):
    return {**os.environ, "PYTHONPATH": str(site), "LOOM_DATA_DIR": str(tmp_path / "data")}


def loom(env, *args):
    return subprocess.run([str(LOOM), *args], env=env, capture_output=True, text=True, timeout=600)


CHECKS = textwrap.dedent('''
    import json
    from engine.app import create_app
    from engine.auth import create_token, create_user
    from engine.install import Install

    install = Install()
    client = create_app(install, {"TESTING": True}).test_client()
    out = {}
    for slug in ("subs", "plain"):
        storage = install.session(slug).storage
        create_user(storage, f"clerk@{slug}.example", "admin")  # reads the SMS number (personal data) in clear
        headers = {"Authorization": "Bearer " + create_token(storage, f"clerk@{slug}.example")}
        party = client.post(f"/api/v1/t/{slug}/records/party", json={"name": "Ma Lin", "kind": "person"},
                            headers=headers)
        party_id = (party.get_json() or {}).get("id")
        made = client.post(f"/api/v1/t/{slug}/records/subscription", headers=headers,
                           json={"party": party_id, "plan": "basic", "sms_number": "+86 138 0013 8000"})
        bad = client.post(f"/api/v1/t/{slug}/records/subscription", headers=headers,
                          json={"party": party_id, "plan": "basic", "sms_number": "12345"})
        listed = client.get(f"/api/v1/t/{slug}/records/subscription", headers=headers)
        out[slug] = {"party": party.status_code, "created": [made.status_code, made.get_json()],
                     "bad": [bad.status_code, bad.get_json()],
                     "listed": [listed.status_code, listed.get_json()]}
    print(json.dumps(out))
''')


def test_the_example_pack_installs_with_pip_and_works_for_one_tenant_only(env):
    listed = loom(env, "pack", "list")
    assert listed.returncode == 0, listed.stderr
    assert "subscriptions\t1.0.0\tSubscriptions\t(depends on crm_core)" in listed.stdout

    created = loom(env, "tenant", "create", "subs", "--pack", "subscriptions", "--demo")
    assert created.returncode == 0, created.stderr
    assert "installed crm_core" in created.stdout and "installed subscriptions 1.0.0 for subs" in created.stdout
    plain = loom(env, "tenant", "create", "plain", "--pack", "crm_core")
    assert plain.returncode == 0, plain.stderr

    shown = json.loads(loom(env, "metadata", "show", "subs").stdout)
    assert shown["sources"]["/entities/subscription"] == "subscriptions 1.0.0"
    assert shown["sources"]["/entities/party/fields/subscriber_since"] == "subscriptions 1.0.0"

    result = subprocess.run([sys.executable, "-c", CHECKS], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    subs, other = out["subs"], out["plain"]
    assert subs["created"][0] == 201 and subs["created"][1]["sms_number"] == "13800138000"
    assert subs["bad"][0] == 400
    assert "mainland mobile number" in json.dumps(subs["bad"][1], ensure_ascii=False)
    items = subs["listed"][1]["items"]
    demo = [s for s in items if s["plan"] == "plus"]
    assert demo and demo[0]["status"] == "active" and demo[0]["renewal_date"]   # the demo's activation ran
    assert other["party"] == 201                          # crm_core works there
    assert other["created"][0] == 404 and other["created"][1]["error"]["code"] == "entity_not_found"

    refused = loom(env, "pack", "install", "plain", "nope")
    assert refused.returncode == 1 and "no installed pack named 'nope'" in refused.stderr
    assert "Traceback" not in refused.stderr
