"""`loom records transfer`: hand a user's records to another user — the operator's side of
the people screen's "hand over records to…", through the record service's `transfer`
(one audit row per record)."""
from __future__ import annotations

import click

from engine import people
from engine.cli.common import pass_install
from engine.errors import NotFound


@click.group()
def records():
    """Records of a tenant: hand them over from one user to another."""


def _user_id(storage, email) -> int:
    email = (email or "").strip().lower()
    found = next((p for p in people.people(storage) if p.email == email), None)
    if found is None:
        raise NotFound(f"no user {email} in tenant {storage.slug}", code="user_not_found")
    return found.id


@records.command("transfer")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("from_email", metavar="FROM")
@click.argument("to_email", metavar="TO")
@click.option("--entity", help="Only this entity's records (otherwise every entity's).")
@pass_install
def records_transfer(install, tenant_slug, from_email, to_email, entity):
    """Give every record FROM owns in TENANT to the active user TO (e-mails)."""
    session = install.session(tenant_slug)
    moved = session.records.transfer(_user_id(session.storage, from_email), _user_id(session.storage, to_email),
                                     entity)
    for name, count in sorted(moved.items()):
        click.echo(f"{name}\t{count}")
    click.echo(f"transferred {sum(moved.values())} records from {from_email.strip().lower()} "
               f"to {to_email.strip().lower()} in {tenant_slug}")
