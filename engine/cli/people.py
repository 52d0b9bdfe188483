"""`loom user deactivate|reactivate` and `loom token list|revoke`: the operator's side of
what the designer's people page does, through the same `engine.people` rules."""
from __future__ import annotations

import click

from engine import mfa, people
from engine.cli.common import pass_install
from engine.cli.tenants import token, user
from engine.errors import NotFound
from engine.timefmt import iso_utc


def _person(storage, email):
    email = (email or "").strip().lower()
    found = next((p for p in people.people(storage) if p.email == email), None)
    if found is None:
        raise NotFound(f"no user {email} in tenant {storage.slug}", code="user_not_found")
    return found


@user.command("deactivate")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@pass_install
def user_deactivate(install, tenant_slug, email):
    """Deactivate EMAIL in TENANT: no sign-in, no token, sessions end (the last admin stays)."""
    storage = install.session(tenant_slug).storage
    changed = people.change(storage, _person(storage, email).id, active=False)
    click.echo(f"deactivated {changed.email} in {tenant_slug}")


@user.command("reactivate")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@pass_install
def user_reactivate(install, tenant_slug, email):
    """Let a deactivated EMAIL of TENANT sign in and use their tokens again."""
    storage = install.session(tenant_slug).storage
    changed = people.change(storage, _person(storage, email).id, active=True)
    click.echo(f"reactivated {changed.email} in {tenant_slug}")


@user.command("reset-mfa")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@pass_install
def user_reset_mfa(install, tenant_slug, email):
    """Forget EMAIL's authenticator, recovery codes and security keys (a lost phone or key):
    they enrol again at their next sign-in when their role requires it."""
    storage = install.session(tenant_slug).storage
    found = _person(storage, email)
    mfa.remove(storage, found.id)
    click.echo(f"two-step sign-in reset for {found.email} in {tenant_slug}")


@token.command("list")
@click.argument("tenant_slug", metavar="TENANT")
@pass_install
def token_list(install, tenant_slug):
    """List TENANT's tokens, newest first: id, user, label, scopes, created, expiry, last use, revoked."""
    for row in people.tokens(install.session(tenant_slug).storage):
        click.echo("\t".join([str(row["id"]), row["user"], row["label"] or "-", ",".join(row["scopes"]),
                              iso_utc(row["created_at"]),
                              f"expires {iso_utc(row['expires_at'])}" if row["expires_at"] else "no expiry",
                              f"used {iso_utc(row['last_used_at'])}" if row["last_used_at"] else "never used",
                              f"revoked {iso_utc(row['revoked_at'])}" if row["revoked_at"] else "active"]))


@token.command("revoke")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("token_id", type=int)
@pass_install
def token_revoke(install, tenant_slug, token_id):
    """Revoke token TOKEN_ID of TENANT (see `loom token list`): refused from the next request on."""
    row = people.revoke(install.session(tenant_slug).storage, token_id)
    click.echo(f"revoked token {row['id']} ({row['label'] or 'no label'}) of {row['user']} in {tenant_slug}")


@user.command("roles")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@click.option("--role", "roles", multiple=True, metavar="NAME", help="A role of the tenant's metadata (repeatable).")
@click.option("--permission-set", "sets", multiple=True, metavar="NAME",
              help="A permission set of the tenant's metadata (repeatable).")
@pass_install
def user_roles(install, tenant_slug, email, roles, sets):
    """Set the tenant roles and permission sets EMAIL holds in TENANT, replacing them (none:
    the built-in role only)."""
    session = install.session(tenant_slug)
    changed = people.change(session.storage, _person(session.storage, email).id, roles=list(roles),
                            permission_sets=list(sets), package=session.metadata().package)
    click.echo(f"{changed.email} in {tenant_slug}: {changed.role}; roles: {', '.join(changed.roles) or '-'}; "
               f"permission sets: {', '.join(changed.permission_sets) or '-'}")
