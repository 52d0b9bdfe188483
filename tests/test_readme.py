"""The README's walkthrough, run as written (on a free port), on SQLite and PostgreSQL."""
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, drop_prefixed_schemas

ROOT = Path(__file__).resolve().parent.parent


def readme_block(marker: str) -> str:
    """The bash block between `<!-- MARKER:start -->` and `<!-- MARKER:end -->`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker}:start -->\s*```bash\n(.*?)```\s*<!-- {marker}:end -->", text, re.S)
    assert block, f"README.md lost its {marker} markers"
    return block.group(1)


def walkthrough() -> str:
    return readme_block("walkthrough")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_walkthrough_works_as_written(backend, tmp_path):
    script = walkthrough().replace("8000", str(free_port()))
    env = {**os.environ, "LOOM_DATA_DIR": str(tmp_path / "data"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("LOOM_DATABASE_URL", None)
    prefix = None
    if backend == "postgresql":
        prefix = f"readme{os.getpid()}_"
        env.update(LOOM_DATABASE_URL=PG_URL, LOOM_SCHEMA_PREFIX=prefix)
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        if prefix:
            drop_prefixed_schemas(prefix)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "created tenant acme (Acme Retail)" in out
    assert "applied version 1 (was 0)" in out
    assert "applied version 2 (was 1)" in out and "add field contact.wechat_id" in out
    assert "applied version 3 (was 2)" in out and "archived 1 row:" in out
    documents = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    created, _second, listed, patched, after_rollback = documents
    assert created["id"] == 1 and created["version"] == 1 and created["tier"] == "gold"
    assert [c["full_name"] for c in listed["items"]] == ["Li Lei"]
    assert patched["wechat_id"] == "lilei_88" and patched["version"] == 2
    assert "wechat_id" not in after_rollback and after_rollback["full_name"] == "Li Lei"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_invalid_example_is_refused_with_paths(backend):
    done = subprocess.run([sys.executable, "-m", "engine.cli", "metadata", "validate",
                           "examples/quickstart/invalid.json"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    for path in ("/entities/0/fields/0/type", "/entities/0/fields/1/to",
                 "/entities/0/fields/2/name", "/entities/0/fields/3/name"):
        assert path in done.stderr


def service_walkthrough() -> str:
    return readme_block("service")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_service_walkthrough_works_as_written(backend, tmp_path):
    """Acceptance: a request made by API gets a ticket number, an assignee, a plan and,
    after resolving, a survey e-mail in the local SMTP server."""
    script = service_walkthrough().replace("8000", str(free_port())).replace("8025", str(free_port()))
    script = script.replace("mail.log", str(tmp_path / "mail.log"))
    env = {**os.environ, "LOOM_DATA_DIR": str(tmp_path / "data"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("LOOM_DATABASE_URL", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    documents = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    created, request, tasks, transitions, started, _patched, resolved, trace = documents
    assert created["status"] == "new"
    assert request["ticket_no"] == "SR-000001" and request["assignee_id"] is not None
    assert [t["title"] for t in tasks["items"]][0] == "Call the customer back"
    assert {t["name"] for t in transitions["items"]} >= {"start", "cancel"}
    assert started["record"]["status"] == "in_progress" and resolved["record"]["status"] == "resolved"
    assert "Subject: We received your request SR-000001" in done.stdout
    assert "Subject: How did we do with SR-000001?" in done.stdout
    assert trace["items"][0]["rule"] == "survey_on_resolve"


def packs_walkthrough() -> str:
    return readme_block("packs")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_packs_walkthrough_works_as_written(backend, tmp_path):
    """Issue 4, acceptance 1 and 2, as a new user tries them: one command gives a tenant
    its industry CRM with demo data; the tier rule upgrades a member; an agent sees only
    their own policies; a bad VIN is refused with a clear message."""
    script = packs_walkthrough().replace("8000", str(free_port()))
    env = {**os.environ, "LOOM_DATA_DIR": str(tmp_path / "data"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("LOOM_DATABASE_URL", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "installed crm_core 1.0.0 for shop" in out and "installed retail_loyalty 1.0.0 for shop" in out
    assert "retail_loyalty\t1.0.0\tRetail loyalty" in out
    documents = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    members, rewards, entry, upgraded, refused, policies, vin = documents
    assert len(members["items"]) == 5 and {m["tier"] for m in members["items"]} >= {"diamond", "gold", "silver"}
    assert members["items"][3]["tier"] == "silver"
    assert rewards["items"] and all(r["points_cost"] > 0 for r in rewards["items"])
    assert entry["points"] == 2000 and entry["occurred_at"]
    assert (upgraded["id"], upgraded["tier"], upgraded["points_12m"]) == (4, "gold", 5200)
    assert refused["error"]["code"] == "insufficient_points" and "nothing was written" in refused["error"]["message"]
    agents = {p["agent"] for p in policies["items"]}
    assert policies["items"] and len(agents) == 1          # one agent's book, not the agency's
    assert vin["error"]["details"][0]["field"] == "vin"
    assert "check digit" in vin["error"]["details"][0]["message"]
