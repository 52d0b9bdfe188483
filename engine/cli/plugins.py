"""`loom plugin`: which plugins are installed, and which tenants use them."""
from __future__ import annotations

import click

from engine.cli.common import pass_install
from engine.packs.service import PackService


@click.group()
def plugin():
    """List installed plugins; enable or disable them per tenant."""


@plugin.command("list")
@pass_install(data="none")
def plugin_list(install):
    """List the plugins installed on this install."""
    names = install.plugins.names()
    click.echo("\n".join(names) if names else "no plugins installed")
    for name, why in sorted(install.plugins.broken.items()):
        click.echo(f"{name}\tBROKEN, not loaded: {why}")


def _change(install, tenant_slug, name, enable):
    if name not in install.plugins.names():
        raise click.UsageError(f"no installed plugin named {name}")
    tenant = install.registry.require(tenant_slug)
    if not enable and name in {pack.name for pack in PackService(install).installed(tenant_slug)}:
        raise click.ClickException(f"{name}'s pack is installed for {tenant_slug}, and its metadata needs the "
                                   f"plugin: remove the pack first (loom pack remove {tenant_slug} {name})")
    plugins = set(tenant.plugins) | {name} if enable else set(tenant.plugins) - {name}
    install.registry.set_plugins(tenant_slug, plugins)
    install.cache.forget(tenant_slug)
    click.echo(f"{'enabled' if enable else 'disabled'} {name} for {tenant_slug}")


@plugin.command("enable")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("name")
@pass_install
def plugin_enable(install, tenant_slug, name):
    """Let plugin NAME act for TENANT."""
    _change(install, tenant_slug, name, True)


@plugin.command("disable")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("name")
@pass_install
def plugin_disable(install, tenant_slug, name):
    """Stop plugin NAME acting for TENANT."""
    _change(install, tenant_slug, name, False)
