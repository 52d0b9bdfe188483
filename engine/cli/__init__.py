"""The `loom` command line: tenants, users and tokens, metadata, plugins, the server.

Errors go to stderr with a non-zero exit code and never as a traceback."""
from __future__ import annotations

import click

from engine.cli.access import access_log, audit
from engine.cli.dedup import dedup
from engine.cli.common import LoomGroup, pass_install
from engine.cli.dsr import dsr
from engine.cli.imports import export_command, import_command, import_commit_command, import_sweep_command
from engine.cli.keys import keys
from engine.cli.metadata import metadata
from engine.cli.packs import pack
from engine.cli.plugins import plugin
from engine.cli.records import records
from engine.cli.search import search
from engine.cli.serve import demo, serve
from engine.cli.tenants import tenant, token, user
from engine.cli import people as _people  # noqa: F401  (adds user deactivate/reactivate, token list/revoke)
from tenants import raise_open_file_limit


@click.group(cls=LoomGroup)
@click.version_option(package_name="loom-crm", prog_name="loom")
def cli():
    """Loom: a low-code CRM engine. Settings come from LOOM_DATA_DIR and LOOM_DATABASE_URL."""


for command in (tenant, user, token, metadata, pack, plugin, serve, demo, search, dsr, keys, records, access_log,
                audit, dedup, import_command, export_command, import_commit_command,
                import_sweep_command):
    cli.add_command(command)


def main(argv=None):
    raise_open_file_limit()  # `loom serve` and `loom worker` may hold many tenants' files
    cli.add_plugin_commands()
    return cli.main(args=argv, prog_name="loom")


__all__ = ["cli", "main", "pass_install"]
