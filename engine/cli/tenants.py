"""`loom tenant`, `loom user` and `loom token`."""
from __future__ import annotations

import click

from engine import auth
from engine.cli.common import echo_json, pass_install


@click.group()
def tenant():
    """Create, list and delete tenants."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", help="Display name (defaults to the slug).")
@click.option("--plugin", "plugins", multiple=True, help="Enable an installed plugin (repeatable).")
@pass_install
def tenant_create(install, slug, name, plugins):
    """Create tenant SLUG with its own isolated storage."""
    unknown = sorted(set(plugins) - set(install.plugins.names()))
    if unknown:
        raise click.UsageError(f"no installed plugin named {', '.join(unknown)}")
    created = install.registry.create(slug, name, plugins)
    click.echo(f"created tenant {created.slug} ({created.name})")


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def tenant_list(install, as_json):
    """List the tenants of this install."""
    tenants = install.registry.list()
    if as_json:
        echo_json([{"slug": t.slug, "name": t.name, "status": t.status, "plugins": list(t.plugins),
                    "created_at": t.created_at.isoformat()} for t in tenants])
        return
    if not tenants:
        click.echo("no tenants")
    for t in tenants:
        click.echo(f"{t.slug}\t{t.name}\t{t.status}\tplugins: {', '.join(t.plugins) or '-'}")


@tenant.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm: the tenant's storage is dropped after the export.")
@click.option("--export-dir", type=click.Path(file_okay=False), default=None,
              help="Where the export goes (default: LOOM_DATA_DIR/exports).")
@pass_install
def tenant_delete(install, slug, yes, export_dir):
    """Export all of SLUG's data to a JSON file, then delete the tenant."""
    install.registry.require(slug)
    if not yes:
        raise click.UsageError(f"deleting {slug} drops all its data; run again with --yes "
                               "(an export is written first)")
    path = install.registry.delete(slug, export_dir or install.settings.data_dir / "exports")
    install.cache.forget(slug)
    click.echo(f"exported {slug} to {path}")
    click.echo(f"deleted tenant {slug}")


@click.group()
def user():
    """Manage a tenant's users."""


@user.command("create")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@click.option("--role", type=click.Choice(auth.ROLES), default="member", show_default=True)
@click.option("--name", "display_name", help="Display name.")
@click.option("--locale", default="en", show_default=True)
@pass_install
def user_create(install, tenant_slug, email, role, display_name, locale):
    """Create user EMAIL in TENANT."""
    session = install.session(tenant_slug)
    created = auth.create_user(session.storage, email, role, display_name, locale)
    click.echo(f"created {created.role} {created.email} in {tenant_slug}")


@user.command("list")
@click.argument("tenant_slug", metavar="TENANT")
@pass_install
def user_list(install, tenant_slug):
    """List TENANT's users."""
    for actor in auth.list_users(install.session(tenant_slug).storage):
        click.echo(f"{actor.email}\t{actor.role}")


@click.group()
def token():
    """Manage API tokens."""


@token.command("create")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@click.option("--label", help="What the token is for.")
@pass_install
def token_create(install, tenant_slug, email, label):
    """Print a new API token for EMAIL in TENANT (shown once; stored hashed)."""
    secret = auth.create_token(install.session(tenant_slug).storage, email, label)
    click.echo(f"token for {email.strip().lower()} in {tenant_slug} (shown once, keep it safe):")
    click.echo(secret)
