"""The dependency direction of DESIGN.md, enforced by import-linter's contracts in setup.cfg."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("metadata", "tenants", "engine", "workflows", "plugins", "admin_ui")


def lint_imports(root: Path):
    """import-linter over the packages under `root` (the tree itself, or a copy of it)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--config",
                           str(root / "setup.cfg"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)


def tree_copy(tmp_path: Path) -> Path:
    """A copy of the source packages under tmp_path, where a test may add an offending module:
    the source tree itself is never written (the suite runs in parallel)."""
    copy = tmp_path / "tree"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "setup.cfg", copy / "setup.cfg")
    return copy


def test_layers_run_one_way():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check can fail: metadata importing the engine is reported as broken."""
    tree = tree_copy(tmp_path)
    (tree / "metadata" / "_upward_probe.py").write_text("import engine.errors  # deliberately upward\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "metadata._upward_probe" in result.stdout


def test_a_plugin_reaching_into_engine_internals_breaks_the_contract(tmp_path):
    """Plugins get the engine's public API; its record internals are off limits."""
    tree = tree_copy(tmp_path)
    (tree / "plugins" / "_internal_probe.py").write_text("import engine.records.writes  # deliberately internal\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "plugins._internal_probe" in result.stdout
