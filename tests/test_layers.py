"""The dependency direction of DESIGN.md, enforced by import-linter's contracts in setup.cfg."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(config: Path):
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def test_layers_run_one_way():
    result = lint_imports(ROOT / "setup.cfg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check can fail: metadata importing the engine is reported as broken."""
    offender = ROOT / "metadata" / "_upward_probe.py"
    offender.write_text("import engine.errors  # deliberately upward\n")
    try:
        result = lint_imports(ROOT / "setup.cfg")
    finally:
        offender.unlink()
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "metadata._upward_probe" in result.stdout


def test_a_plugin_reaching_into_engine_internals_breaks_the_contract():
    """Plugins get the engine's public API; its record internals are off limits."""
    offender = ROOT / "plugins" / "_internal_probe.py"
    offender.write_text("import engine.records.writes  # deliberately internal\n")
    try:
        result = lint_imports(ROOT / "setup.cfg")
    finally:
        offender.unlink()
    assert result.returncode != 0
    assert "plugins._internal_probe" in result.stdout
