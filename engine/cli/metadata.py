"""`loom metadata`: validate, apply, show, history and roll back a tenant's metadata."""
from __future__ import annotations

import click

from engine.cli.common import echo_json, pass_install, read_json_file
from engine.errors import LoomError
from engine.migration import parse_document
from engine.migration.states import parse_state_map
from engine.words import counted


@click.group()
def metadata():
    """Define a tenant's entities and change them safely."""


def _print_result(result, as_json):
    if as_json:
        echo_json(result.to_dict())
        return
    if result.dry_run:
        click.echo(f"dry run against version {result.previous_version}: nothing was changed")
    elif not result.applied:
        click.echo(f"no changes: the tenant is already at this document (version {result.version})")
        return
    else:
        click.echo(f"applied version {result.version} (was {result.previous_version})")
    for change in (result.plan or {}).get("changes") or result.changes:
        marker = "" if change["ddl"] else "  (no DDL)"
        click.echo(f"  {change['description']}{marker}{_touches(change)}")
    for move in result.moves:
        click.echo(f"  moved {counted(move['records'], 'record')} of {move['entity']} "
                   f"from {move['from']!r} to {move['to']!r}")
    for archive in result.archives:
        verb = "restored" if archive["kind"].startswith("restored") else "archived"
        click.echo(f"  {verb} {counted(archive['rows'], 'row')}: {archive['table']}")
    if result.plan:
        _print_plan(result.plan)


def _touches(change) -> str:
    """What a planned change touches, e.g. `  [destructive: 2 values in 3 rows]`."""
    if "rows" not in change or not change["rows"]:
        return ""
    held = f"{counted(change['values'], 'value')} in " if change["values"] else ""
    return f"  [{'destructive: ' if change['destructive'] else ''}{held}{counted(change['rows'], 'row')}]"


def _print_plan(plan) -> None:
    for check in plan["checks"]:
        if not check["passed"]:
            click.echo(f"  check {check['field']} fails: {check['message']}")
    affected = plan["affected"]
    if affected["workflows"] or affected["rulesets"]:
        click.echo(f"  affects workflows: {', '.join(affected['workflows']) or 'none'}; "
                   f"rule sets: {', '.join(affected['rulesets']) or 'none'}")
    for refused in plan["refused"]:
        click.echo(f"  would be refused: {refused['message']}")


@metadata.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def metadata_validate(file):
    """Check FILE without applying it: every problem with its JSON path."""
    package = parse_document(read_json_file(file))
    click.echo(f"valid: {len(package.entities)} entities")


@metadata.command("apply")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--package", "package_name", help="Apply a package a plugin contributes instead of a file.")
@click.option("--allow-drop", is_flag=True, help="Archive and drop fields/entities the document omits.")
@click.option("--dry-run", is_flag=True, help="Show the changes and checks; change nothing.")
@click.option("--map-state", "map_state", multiple=True, metavar="ENTITY.OLD=NEW",
              help="Move records out of a workflow state the document removes (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_install
def metadata_apply(install, tenant_slug, file, package_name, allow_drop, dry_run, map_state, as_json):
    """Migrate TENANT's schema to the metadata document FILE."""
    session = install.session(tenant_slug)
    if bool(file) == bool(package_name):
        raise click.UsageError("give either FILE or --package NAME")
    if package_name:
        offered = {p["name"]: p for p in install.plugins.metadata_packages(session.enabled)}
        if package_name not in offered:
            raise LoomError(f"no package {package_name!r} among the plugins enabled for {tenant_slug}"
                            f" (available: {', '.join(sorted(offered)) or 'none'})", code="package_not_found")
        document = offered[package_name]["document"]
    else:
        document = read_json_file(file)
    _print_result(session.apply_metadata(document, allow_drop=allow_drop, dry_run=dry_run,
                                         state_map=_state_map(map_state)), as_json)


@metadata.command("history")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def metadata_history(install, tenant_slug, as_json):
    """List the versions applied to TENANT."""
    rows = install.session(tenant_slug).metadata_history()
    if as_json:
        echo_json([{k: v for k, v in r.items() if k != "document"} for r in rows])
        return
    if not rows:
        click.echo("no metadata applied yet")
    for row in rows:
        entities = len(row["document"].get("entities", []))
        click.echo(f"{row['version']}\t{row['applied_at']:%Y-%m-%d %H:%M:%S}\t{row['action']}\t"
                   f"{entities} entities\t{len(row['changes'])} changes\t{row['applied_by'] or ''}")


@metadata.command("rollback")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("version", type=int)
@click.option("--map-state", "map_state", multiple=True, metavar="ENTITY.OLD=NEW",
              help="Move records out of a workflow state that VERSION does not have (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_install
def metadata_rollback(install, tenant_slug, version, map_state, as_json):
    """Return TENANT's schema and metadata to VERSION (recorded as a new version)."""
    _print_result(install.session(tenant_slug).rollback_metadata(version, _state_map(map_state)), as_json)


def _state_map(pairs) -> dict:
    try:
        return parse_state_map(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map-state") from None


@metadata.command("show")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--layer", type=click.Choice(["effective", "pack", "tenant"]), default="effective",
              show_default=True, help="The packs' base, the tenant's changes, or both combined.")
@pass_install
def metadata_show(install, tenant_slug, layer):
    """Print TENANT's metadata and where each definition comes from."""
    from engine.packs.show import show_layer

    echo_json(show_layer(install.session(tenant_slug), layer))


@metadata.command("packages")
@pass_install(data="none")
def metadata_packages(install):
    """List the metadata packages installed plugins contribute."""
    packages = install.plugins.metadata_packages()
    if not packages:
        click.echo("no packages")
    for package in packages:
        click.echo(f"{package['name']}\t(plugin {package['plugin']})")
