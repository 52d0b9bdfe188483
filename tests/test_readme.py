"""The README's blocks, run as written (on free ports) as a new user runs them after
`scripts/demo` alone: with none of the developer's LOOM_* settings, and with every module
that `scripts/demo` does not install hidden from the blocks' processes. The walkthrough
runs on SQLite and PostgreSQL."""
import configparser
import json
import os
import re
import signal
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PG_URL, drop_prefixed_schemas

ROOT = Path(__file__).resolve().parent.parent
ALWAYS_IN_A_VENV = {"pip", "setuptools", "_distutils_hack", "pkg_resources"}


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


def demo_extra() -> str | None:
    """The extra `scripts/demo` installs Loom with (`scripts/setup EXTRA` installs `.[EXTRA]`)."""
    found = re.search(r"^scripts/setup(?: +(\w+))?$", (ROOT / "scripts/demo").read_text(), re.M)
    assert found, "scripts/demo no longer runs scripts/setup"
    return found.group(1)


def requirements_in_setup_cfg(extra: str | None) -> list[str]:
    """What a fresh clone's `pip install -e ".[extra]"` asks for, read from setup.cfg."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = config["options"]["install_requires"].split("\n")
    if extra:
        lines += config["options.extras_require"][extra].split("\n")
    return [line.strip() for line in lines if line.strip()]


def distributions_installed_with(extra: str | None) -> set[str]:
    """Loom and everything `pip install -e ".[extra]"` brings, transitively."""
    wanted, seen = [], {("loom-crm", None)}
    for req in map(Requirement, requirements_in_setup_cfg(extra)):
        wanted += [(req.name, None)] + [(req.name, e) for e in req.extras]
    while wanted:
        name, extra = wanted.pop()
        if (canonicalize_name(name), extra) in seen:
            continue
        seen.add((canonicalize_name(name), extra))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": extra or ""}):
                wanted += [(req.name, None)] + [(req.name, e) for e in req.extras]
    return {name for name, _ in seen}


def user_environment(tmp_path: Path) -> dict:
    """The environment of a shell on a fresh clone after `scripts/demo`: no LOOM_* settings,
    and the modules of every installed distribution that `scripts/demo` does not install
    (the test extras) made impossible to import."""
    allowed = distributions_installed_with(demo_extra())
    hidden = sorted(module for module, dists in metadata.packages_distributions().items()
                    if module not in ALWAYS_IN_A_VENV
                    and not any(canonicalize_name(d) in allowed for d in dists))
    assert "pytest" in hidden
    guard = tmp_path / "not-installed-by-demo"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(f"""\
import sys

HIDDEN = {hidden!r}


class NotInstalledByDemo:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}} (scripts/demo does not install it)",
                                      name=name)
        return None


sys.meta_path.insert(0, NotInstalledByDemo())
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env.update(LOOM_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(guard),
               PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return env


def run_block(script: str, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run a block as `bash -euo pipefail`, in its own process group, which is killed
    afterwards: a block that fails or hangs leaves no server behind holding its port."""
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        err += f"\n(the block did not finish in {timeout} s)"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_the_blocks_cannot_import_what_scripts_demo_does_not_install(tmp_path):
    env = user_environment(tmp_path)
    hidden = subprocess.run([sys.executable, "-c", "import pytest"], env=env, capture_output=True, text=True)
    assert hidden.returncode == 1 and "scripts/demo does not install it" in hidden.stderr
    there = subprocess.run([sys.executable, "-c", "import engine.cli, flask"], env=env, capture_output=True, text=True)
    assert there.returncode == 0, there.stderr


def test_walkthrough_works_as_written(backend, tmp_path):
    script = walkthrough().replace("8000", str(free_port()))
    env = user_environment(tmp_path)
    prefix = None
    if backend == "postgresql":
        prefix = f"readme{os.getpid()}_"
        env.update(LOOM_DATABASE_URL=PG_URL, LOOM_SCHEMA_PREFIX=prefix)
    try:
        done = run_block(script, env, timeout=120)
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
    """Acceptance: a request made by API gets a ticket number, an assignee, its whole plan
    and, after resolving, a survey e-mail in the local SMTP server (which `scripts/demo`
    installs). What the block shows is finished: all three tasks of a complaint's plan."""
    script = service_walkthrough().replace("8000", str(free_port())).replace("8025", str(free_port()))
    script = script.replace("mail.log", str(tmp_path / "mail.log"))
    env = user_environment(tmp_path)
    done = run_block(script, env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    documents = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    created, request, tasks, transitions, started, _patched, resolved, trace = documents
    assert created["status"] == "new"
    assert request["ticket_no"] == "SR-000001" and request["assignee_id"] is not None
    assert [t["title"] for t in tasks["items"]] == ["Call the customer back", "Find the cause and agree a remedy",
                                                     "Review the complaint with the service manager"]
    assert all(t["assignee_id"] and t["due_at"] for t in tasks["items"])
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
    env = user_environment(tmp_path)
    done = run_block(script, env, timeout=600)
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
    # no SMTP server here: e-mail is off, and the worker says so at most once instead of failing
    assert done.stderr.count("e-mail is off") <= 1 and "SMTP server" not in done.stderr, done.stderr
