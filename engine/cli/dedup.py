"""`loom dedup scan`: an entity's duplicate report, with a progress bar on stderr."""
from __future__ import annotations

import sys

import click

from engine.cli.common import echo_json, pass_install
from engine.dedup.scan import scan


class BarProgress:
    """The scan's progress as a click progress bar (on stderr)."""

    def __init__(self):
        self.bar = None

    def total(self, n):
        self.bar = click.progressbar(length=max(n, 1), label="scanning", file=sys.stderr)
        self.bar.__enter__()

    def advance(self, k=1):
        if self.bar is not None:
            self.bar.update(k)

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.group()
def dedup():
    """Duplicate records: the report of an entity's likely duplicates."""


@dedup.command("scan")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("entity")
@click.option("--limit", type=click.IntRange(0), default=20, show_default=True,
              help="clusters to print (the best first); 0 prints none")
@click.option("--json", "as_json", is_flag=True, help="print the whole report as JSON")
@pass_install
def scan_command(install, tenant_slug, entity, limit, as_json):
    """List ENTITY's records of TENANT that its duplicate rules tie together, as clusters
    with their scores and reasons."""
    session = install.session(tenant_slug)
    progress = BarProgress()
    try:
        report = scan(session.storage, session.metadata(), entity, progress)
    finally:
        progress.close()
    if as_json:
        echo_json(report)
        return
    click.echo(f"{report['entity']}: {report['records']} records, {report['clusters_total']} clusters "
               f"of likely duplicates ({report['links']} links; rules: {', '.join(report['rules'])})")
    for cluster in report["clusters"][:limit]:
        click.echo(f"- records {', '.join(map(str, cluster['ids']))} (score {cluster['score']:g})")
        for link in cluster["links"]:
            click.echo(f"    {link['a']} ~ {link['b']}: {link['rule']}, {link['score']:g}: "
                       + "; ".join(link["reasons"]))
