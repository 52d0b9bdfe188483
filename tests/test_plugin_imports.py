"""Plugins and the example pack reach Loom only through `engine.plugin_api` (the
import-linter contract checks `plugins/`; this checks `examples/` too, and that no
plugin reaches storage or SQL through the objects it is given)."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("plugins/**/*.py"), *ROOT.glob("examples/**/*.py")])
LOOM = ("engine", "tenants", "metadata", "workflows", "admin_ui")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_plugin_imports_only_the_plugin_api_of_loom(path):
    of_loom = {name for name in imported(path) if name.split(".")[0] in LOOM}
    assert of_loom <= {"engine.plugin_api"}, of_loom


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_plugin_uses_no_storage_tables_or_sql(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"storage\.connect|\.tables\[|sqlalchemy", text)


BUILTINS = sorted(p for p in ROOT.glob("workflows/actions/*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_builtin_action_reaches_the_engine_only_through_the_plugin_api(path):
    """Loom's built-in actions get the plugin session a plugin's action gets: their code
    imports no other engine or tenants module and reaches no storage, table, SQL or the
    engine's session (metadata(), install)."""
    of_engine = {name for name in imported(path) if name.split(".")[0] in ("engine", "tenants")}
    assert of_engine <= {"engine.plugin_api"}, of_engine
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"storage|\.tables\[|sqlalchemy|metadata\(\)|\.install\b|TenantSession", text)
