"""`loom dsr`: data-subject requests of a tenant — a party's access bundle, its erasure,
retention (a dry run first), the requests' log and the consent refusals."""
from __future__ import annotations

import os

import click

from engine.cli.common import echo_json, pass_install
from engine.errors import LoomError
from engine.privacy import bundle as bundles
from engine.privacy import log, retention
from engine.privacy.erasure import erase

PURPOSES = ("service", "marketing", "analytics", "sharing", "profiling", "cross_border")


@click.group()
def dsr():
    """Data-subject requests: export, erase, retention, log, refusals."""


@dsr.command("export")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("party_id")
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False, writable=True),
              help="also write the bundle as a zip with one CSV per entity to this new file")
@pass_install
def export(install, tenant_slug, party_id, zip_path):
    """Print everything TENANT holds about party PARTY_ID as JSON."""
    if zip_path and os.path.lexists(zip_path):  # before the bundle is made (and its export logged)
        raise LoomError(f"{zip_path} exists already: give a new file name", code="file_exists")
    found = bundles.bundle(install.session(tenant_slug), party_id)
    if zip_path:
        try:
            with open(zip_path, "xb") as fh:  # never written over: it may be an earlier answer
                fh.write(bundles.as_zip(found))
        except FileExistsError:
            raise LoomError(f"{zip_path} exists already: give a new file name", code="file_exists") from None
        except OSError as exc:
            raise LoomError(f"cannot write {zip_path}: {exc.strerror}", code="file_error") from None
    echo_json(found)


@dsr.command("erase")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("party_id")
@click.option("--reason", required=True, help="the request this erasure answers (kept in the log)")
@pass_install
def erase_party(install, tenant_slug, party_id, reason):
    """Erase party PARTY_ID's personal data from TENANT's records, history, outbox,
    notifications, archives and search index; kept records keep their legal basis."""
    echo_json(erase(install.session(tenant_slug), party_id, reason))


@dsr.command("retention")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--dry-run", is_flag=True, help="report what is due, change nothing")
@pass_install
def run_retention(install, tenant_slug, dry_run):
    """Apply TENANT's retention rules (entities' privacy.retention)."""
    echo_json(retention.run(install.session(tenant_slug), dry_run=dry_run))


@dsr.command("log")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@pass_install
def show_log(install, tenant_slug, limit):
    """The data-subject requests of TENANT, newest first."""
    echo_json(log.entries(install.session(tenant_slug).storage, limit=limit))


@dsr.command("refusals")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--party", type=click.IntRange(1), help="only this party's")
@click.option("--purpose", type=click.Choice(PURPOSES), help="only for this purpose")
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@pass_install
def refusals(install, tenant_slug, party, purpose, limit):
    """Messages TENANT did not send for want of consent, one row per recipient."""
    echo_json(log.refusals(install.session(tenant_slug).storage, party, purpose, limit))
