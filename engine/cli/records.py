"""`loom records transfer`: hand a user's records to another user — the operator's side of
the people screen's "hand over records to…", through the record service's `transfer`
(one audit row per record)."""
from __future__ import annotations

import click

from engine import people
from engine.cli.common import pass_install
from engine.errors import NotFound, ValidationFailed


@click.group()
def records():
    """Records of a tenant: hand them over from one user to another; merge them and undo a merge."""


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


@records.command("merge")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("entity")
@click.argument("survivor", type=int)
@click.argument("losers", metavar="LOSER...", nargs=-1, required=True, type=int)
@click.option("--field", "fields", multiple=True, metavar="FIELD=ID",
              help="The record whose value of FIELD wins (repeatable); otherwise the most recent non-empty one.")
@click.option("--dry-run", is_flag=True, help="Show what the merge would do; write nothing.")
@pass_install
def records_merge(install, tenant_slug, entity, survivor, losers, fields, dry_run):
    """Merge the LOSER records of ENTITY into SURVIVOR (ids): every reference to a loser
    points at the survivor, the losers are removed; `loom records unmerge` undoes it."""
    choices = {}
    for text in fields:
        name, _, record_id = text.partition("=")
        if not (record_id.isascii() and record_id.isdigit()):
            raise ValidationFailed(f"--field takes FIELD=ID, not {text[:60]!r}",
                                   details=[{"field": "--field", "message": text[:60]}])
        choices[name] = int(record_id)
    answer = install.session(tenant_slug).records.merge(entity, survivor, list(losers), choices, dry_run=dry_run)
    for name, (old, new) in sorted(answer["changes"].items()):
        click.echo(f"{name}\t{old!r} -> {new!r}")
    for ref_entity, by_field in sorted(answer["references"].items()):
        for field, by_loser in sorted(by_field.items()):
            click.echo(f"{ref_entity}.{field}\t{sum(len(ids) for ids in by_loser.values())} re-pointed")
    if dry_run:
        for conflict in answer["conflicts"]:
            click.echo(f"conflict\t{conflict['field']}: {conflict['message']}")
        click.echo("dry run: nothing was changed")
        return
    click.echo(f"merge {answer['id']}: {entity} {', '.join(map(str, answer['losers']))} merged into "
               f"{entity} {answer['survivor']}")


@records.command("unmerge")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("merge_id", metavar="MERGE_ID")
@pass_install
def records_unmerge(install, tenant_slug, merge_id):
    """Undo merge MERGE_ID: the losers come back, with their references, unless a later
    change would be overwritten (then nothing changes and the conflicts are listed)."""
    answer = install.session(tenant_slug).records.undo_merge(merge_id)
    click.echo(f"merge {answer['id']} undone: {answer['entity']} {', '.join(map(str, answer['losers']))} "
               f"{'is' if len(answer['losers']) == 1 else 'are'} back")
