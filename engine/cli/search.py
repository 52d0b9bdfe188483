"""`loom search`: the tenant's search index, rebuilt from the records on demand (a repair:
record writes, publications and upgrades keep the index in step by themselves)."""
from __future__ import annotations

import click

from engine.cli.common import pass_install
from engine.records.search_index import reindex


@click.group()
def search():
    """The global search's index."""


@search.command("reindex")
@click.argument("slug")
@pass_install
def search_reindex(install, slug):
    """Rebuild SLUG's search index from its records (a repair; upgrades and publications
    keep it in step)."""
    session = install.session(slug)
    count = reindex(session.storage, session.metadata())
    click.echo(f"{slug}: {count} search terms indexed")
