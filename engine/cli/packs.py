"""`loom pack`: the industry packs installed on this install, and installing, upgrading
and removing them per tenant."""
from __future__ import annotations

import sys

import click

from engine.cli.common import echo_json, pass_install, require_existing
from engine.packs.service import PackService, UpgradeConflicts
from engine.words import counted


@click.group()
def pack():
    """Install industry packs for tenants; upgrade them beneath the tenant's changes."""


def _text(label) -> str:
    return (label or {}).get("en") or next(iter((label or {}).values()), "")


@pack.command("list")
@click.option("--tenant", "tenant_slug", metavar="TENANT", help="Also show what TENANT has installed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install(data="none")
def pack_list(install, tenant_slug, as_json):
    """List the packs this install offers (and, with --tenant, which versions it has)."""
    if tenant_slug:
        require_existing(install)
    service = PackService(install)
    offered = service.catalog()
    installed = {p.name: p.version for p in service.installed(tenant_slug)} if tenant_slug else {}
    rows = [{"name": p.name, "version": p.version, "label": p.label, "description": p.description,
             "depends": list(p.depends), **({"installed": installed.get(p.name)} if tenant_slug else {})}
            for p in sorted(offered.values(), key=lambda p: p.name)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no packs installed")
    for row in rows:
        line = f"{row['name']}\t{row['version']}\t{_text(row['label'])}"
        if row["depends"]:
            line += f"\t(depends on {', '.join(row['depends'])})"
        if tenant_slug:
            have = row["installed"]
            line += "\t" + ("not installed" if have is None else f"installed {have}" +
                            (", upgrade available" if have != row["version"] else ""))
        click.echo(line)


@pack.command("install")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("name", metavar="PACK")
@click.option("--demo", is_flag=True, help="Load the pack's demo data too.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_install
def pack_install(install, tenant_slug, name, demo, as_json):
    """Install PACK (and the packs it depends on) for TENANT."""
    report = PackService(install).install(tenant_slug, name, demo=demo)
    if as_json:
        echo_json(report)
        return
    print_install(report)


def print_install(report) -> None:
    for item in report["installed"]:
        click.echo(f"installed {item['name']} {item['version']} for {report['tenant']}")
    click.echo(f"metadata version {report['version']}: {counted(len(report['changes']), 'change')}")
    for name, loaded in report.get("demo", {}).items():
        records = ", ".join(f"{n} {e}" for e, n in sorted(loaded["records"].items()))
        click.echo(f"demo data of {name}: {counted(loaded['users'], 'user')}; {records or 'no records'}")


@pack.command("upgrade")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("name", metavar="PACK")
@click.option("--dry-run", is_flag=True, help="Show the schema diff and the conflicts; change nothing.")
@click.option("--keep-tenant", "keep_tenant", multiple=True, type=int, metavar="ID",
              help="Resolve a conflict for the tenant's change ID (repeatable).")
@click.option("--take-pack", "take_pack", multiple=True, type=int, metavar="ID",
              help="Resolve a conflict by taking the pack's version over change ID (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_install
def pack_upgrade(install, tenant_slug, name, dry_run, keep_tenant, take_pack, as_json):
    """Upgrade TENANT's PACK to the installed version, keeping the tenant's changes on top."""
    try:
        report = PackService(install).upgrade(tenant_slug, name, dry_run=dry_run,
                                              keep_tenant=keep_tenant, take_pack=take_pack)
    except UpgradeConflicts as exc:
        if as_json:
            echo_json(exc.report)
        click.echo(f"error: {exc.message}", err=True)
        if not as_json:
            _print_conflicts(exc.report)
        sys.exit(1)
    if as_json:
        echo_json(report)
        return
    if report.get("up_to_date"):
        click.echo(f"{tenant_slug} already has {name} {report['to']}: nothing to upgrade")
        return
    verb = "would upgrade" if dry_run else "upgraded"
    click.echo(f"{verb} {name} {report['from']} -> {report['to']} for {tenant_slug}"
               + ("" if dry_run else f" (metadata version {report['version']})"))
    for change in report["changes"]:
        click.echo(f"  {change['description']}{'' if change['ddl'] else '  (no DDL)'}")
    if not report["changes"]:
        click.echo("  no schema changes")
    for step in report["steps"]:
        click.echo(f"  data step {step}")
    for archive in report.get("archives", ()):
        click.echo(f"  archived {counted(archive['rows'], 'row')}: {archive['table']}")
    for change in report["absorbed"]:
        click.echo(f"  tenant change {change['id']} ({change['path']}) is now part of the pack")
    for change in report["dropped"]:
        click.echo(f"  tenant change {change['id']} ({change['path']}) given up for the pack's version")
    _print_conflicts(report)


def _print_conflicts(report) -> None:
    conflicts = report["conflicts"]
    if not conflicts:
        return
    click.echo(f"{counted(len(conflicts), 'conflict')} between the tenant's changes and {report['pack']} "
               f"{report['to']}:", err=not report["dry_run"])
    for c in conflicts:
        click.echo(f"  change {c['id']} {c['path']}: {c['message']}", err=not report["dry_run"])
        click.echo(f"    resolve: --keep-tenant {c['id']} (keep the tenant's) or --take-pack {c['id']} "
                   f"(take the pack's)" if c["kind"] != "target_removed" else
                   f"    resolve: --take-pack {c['id']} (the target is gone)", err=not report["dry_run"])


@pack.command("remove")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("name", metavar="PACK")
@click.option("--purge", is_flag=True, help="Also drop the pack's entities (exported and archived first).")
@click.option("--yes", is_flag=True, help="Confirm --purge.")
@click.option("--export-dir", type=click.Path(file_okay=False), default=None,
              help="Where the export goes with --purge (default: LOOM_DATA_DIR/exports).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_install
def pack_remove(install, tenant_slug, name, purge, yes, export_dir, as_json):
    """Remove PACK from TENANT. Its data stays (as the tenant's own entities) unless --purge --yes."""
    if purge and not yes:
        raise click.UsageError(f"--purge drops the data of {name}'s entities; run again with --purge --yes "
                               "(the tenant is exported first)")
    report = PackService(install).remove(tenant_slug, name, purge=purge, export_dir=export_dir)
    if as_json:
        echo_json(report)
        return
    if purge:
        click.echo(f"exported {tenant_slug} to {report['export']}")
    click.echo(f"removed {name} from {tenant_slug} (metadata version {report['version']})")
    for path in report["removed"]:
        click.echo(f"  removed {path}")
    if not purge:
        click.echo("  its entities and their data stay, as the tenant's own")


@pack.command("demo")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("name", metavar="PACK")
@pass_install
def pack_demo(install, tenant_slug, name):
    """Load PACK's demo data into TENANT (once)."""
    loaded = PackService(install).load_demo(tenant_slug, name)
    records = ", ".join(f"{n} {e}" for e, n in sorted(loaded["records"].items()))
    click.echo(f"demo data of {name}: {counted(loaded['users'], 'user')}; {records or 'no records'}")
