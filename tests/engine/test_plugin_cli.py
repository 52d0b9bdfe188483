"""`loom plugin enable|disable` for a tenant, on SQLite and PostgreSQL: a plugin whose pack
the tenant has installed is not disabled under it (its metadata needs the plugin's types
and actions), and the refusal changes nothing."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.packs.service import PackService
from engine.plugins import Plugins


@pytest.fixture
def plugins() -> Plugins:
    return Plugins()


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def test_a_plugin_whose_pack_is_installed_is_not_disabled(install):
    install.registry.create("shop")
    PackService(install).install_pack("shop", "crm_core")
    before = set(install.registry.require("shop").plugins)
    refused = run(install, "plugin", "disable", "shop", "crm_core")
    assert refused.exit_code == 1 and "remove the pack first" in refused.output
    assert set(install.registry.require("shop").plugins) == before and "crm_core" in before
    assert run(install, "metadata", "history", "shop").exit_code == 0
    assert run(install, "plugin", "enable", "shop", "crm_core").exit_code == 0  # enabling stays free
