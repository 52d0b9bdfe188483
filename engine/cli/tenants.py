"""`loom tenant`, `loom user` and `loom token`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine import auth, backup, mfa, passwords, people
from engine.cli.common import echo_json, pass_install
from engine.imports import retention as import_retention
from engine.whole import whole_number


@click.group()
def tenant():
    """Create, list, update, set, back up, restore and delete tenants."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", help="Display name (defaults to the slug).")
@click.option("--plugin", "plugins", multiple=True, help="Enable an installed plugin (repeatable).")
@click.option("--pack", "packs", multiple=True, metavar="NAME",
              help="Install an industry pack and the packs it depends on (repeatable).")
@click.option("--demo", is_flag=True, help="Load the demo data of the packs installed.")
@click.option("--language", default="en", show_default=True, metavar="TAG",
              help="The tenant's default language (e.g. zh-CN): its API document describes entities and fields in it.")
@pass_install(data="new")
def tenant_create(install, slug, name, plugins, packs, demo, language):
    """Create tenant SLUG with its own isolated storage, optionally with industry packs."""
    from engine.cli.packs import print_install
    from engine.packs.service import PackService

    unknown = sorted(set(plugins) - set(install.plugins.names()))
    if unknown:
        raise click.UsageError(f"no installed plugin named {', '.join(unknown)}")
    service = PackService(install)
    offered = service.catalog()
    missing = sorted(set(packs) - set(offered))
    if missing:
        raise click.UsageError(f"no installed pack named {', '.join(missing)} "
                               f"(installed: {', '.join(sorted(offered)) or 'none'})")
    if demo and not packs:
        raise click.UsageError("--demo loads the demo data of packs: name them with --pack")
    created = install.registry.create(slug, name, plugins, language=language)
    try:
        reports = []
        for pack_name in packs:
            if pack_name not in {p.name for p in service.installed(slug)}:  # a dependency of an earlier one
                reports.append(service.install(slug, pack_name, demo=demo))
    except BaseException:
        install.registry.discard(slug)  # a tenant half set up is worse than none
        install.cache.forget(slug)
        raise
    click.echo(f"created tenant {created.slug} ({created.name})")
    for report in reports:
        print_install(report)


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def tenant_list(install, as_json):
    """List the tenants of this install."""
    tenants = install.registry.list()
    if as_json:
        echo_json([{"slug": t.slug, "name": t.name, "status": t.status, "plugins": list(t.plugins),
                    "language": t.language, "created_at": t.created_at.isoformat()} for t in tenants])
        return
    if not tenants:
        click.echo("no tenants")
    for t in tenants:
        click.echo(f"{t.slug}\t{t.name}\t{t.status}\tlanguage: {t.language}\tplugins: {', '.join(t.plugins) or '-'}")


@tenant.command("update")
@click.argument("slug")
@click.option("--language", required=True, metavar="TAG", help="The tenant's default language, e.g. zh-CN.")
@pass_install
def tenant_update(install, slug, language):
    """Change tenant SLUG's settings: its default language."""
    changed = install.registry.set_language(slug, language)
    click.echo(f"tenant {changed.slug}: language {changed.language}")


TENANT_SETTINGS = ("mfa_required_roles", "import_files_keep_days")


@tenant.command("set")
@click.argument("slug")
@click.argument("setting", type=click.Choice(TENANT_SETTINGS))
@click.argument("value")
@pass_install
def tenant_set(install, slug, setting, value):
    """Change a setting of tenant SLUG: mfa_required_roles (e.g. `admin`,
    `admin,member` or `none`): users of those roles enrol TOTP at their next sign-in;
    import_files_keep_days (1 to 3650, default 30): how long finished import runs keep
    their files."""
    session = install.session(slug)
    if setting == "import_files_keep_days":
        days = import_retention.set_keep_days(session.storage, value)
        click.echo(f"tenant {slug}: finished import runs keep their files {days} days")
        return
    chosen = mfa.set_required_roles(session.storage, value,
                                    [role["name"] for role in session.metadata().package.roles])
    click.echo(f"tenant {slug}: two-step sign-in required of {', '.join(chosen) or 'no role'}")


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


@tenant.command("backup")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@pass_install
def tenant_backup(install, slug, file):
    """Back SLUG up to FILE (a zip): every table, consistent at one point in time."""
    install.registry.require(slug)
    if not file.strip():
        raise click.UsageError("FILE must be a file name")
    if Path(file).exists():
        raise click.UsageError(f"{file} exists: choose a new file name (a backup never overwrites one)")
    folder = Path(file).parent
    if not folder.is_dir():
        raise click.UsageError(f"cannot write {file}: there is no folder {folder}")
    try:
        manifest = backup.backup(install.registry, slug, file)
    except FileExistsError:
        raise click.ClickException(f"{file}.partial exists: another backup may be writing it; remove it if "
                                   "none is") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc.strerror or exc}") from None
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(f"backed up {slug}: {len(manifest['tables'])} tables, {rows} rows, to {file}")


@tenant.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "as_slug", metavar="NEW", help="Restore into a new tenant of this slug "
                                                      "(default: the slug the backup was taken from).")
@pass_install(data="new")
def tenant_restore(install, file, as_slug):
    """Restore a backup FILE into a new tenant, checking every table's rows against it."""
    try:
        restored = backup.restore(install, file, as_slug)
    except backup.BackupFailed as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"restored {restored.slug}: {restored.tables} tables, {restored.rows} rows, every checksum equal")


@click.group()
def user():
    """Manage a tenant's users."""


def _attributes(pairs) -> dict:
    """`--attr agent=12 --attr region=north --attr region=east`: a repeated key makes a
    list; whole numbers become numbers."""
    out: dict = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--attr wants KEY=VALUE, got {pair!r}")
        number = whole_number(raw, lowest=0) if raw.isdigit() else None  # "007" is 7; "-5", " 5" stay text
        value = raw if number is None else number
        key = key.strip()
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


ATTR_HELP = "A sharing attribute KEY=VALUE (repeat a KEY for a list)."


@user.command("create")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@click.option("--role", type=click.Choice(auth.ROLES), default="member", show_default=True)
@click.option("--name", "display_name", help="Display name.")
@click.option("--locale", default="en", show_default=True)
@click.option("--manager", help="The e-mail of the user's manager (an existing user).")
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE", help=ATTR_HELP)
@click.option("--password", "with_password", is_flag=True,
              help="Also set a password for the screens: prompted, or read twice (one per line) "
                   "from standard input when that is not a terminal.")
@pass_install
def user_create(install, tenant_slug, email, role, display_name, locale, manager, attrs, with_password):
    """Create user EMAIL in TENANT."""
    session = install.session(tenant_slug)
    password = _read_password(email) if with_password else None  # refused before anything is created
    created = auth.create_user(session.storage, email, role, display_name, locale,
                               manager=manager, attributes=_attributes(attrs))
    if password is not None:
        passwords.set_password(session.storage, created.email, password)
    click.echo(f"created {created.role} {created.email} in {tenant_slug}"
               + (" with a password" if password is not None else ""))


@user.command("set-password")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@pass_install
def user_set_password(install, tenant_slug, email):
    """Set EMAIL's password in TENANT: prompted twice, or read twice (one per line) from
    standard input when that is not a terminal. Ends the user's signed-in sessions and
    lifts a lock-out."""
    storage = install.session(tenant_slug).storage
    password = _read_password(email)
    passwords.set_password(storage, email, password)
    click.echo(f"password set for {email.strip().lower()} in {tenant_slug}")


def _read_password(email: str) -> str:
    """A new password for `email`, typed twice: at a prompt, or as two lines of standard
    input; refused by the password policy before anything is written."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        try:  # read as bytes: the terminal's encoding may not be UTF-8, or may let bad bytes through
            lines = sys.stdin.buffer.read().decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise click.UsageError("the password on standard input is not UTF-8 text") from None
        if len(lines) < 2:
            raise click.UsageError("give the password twice on standard input, one per line")
        password, again = lines[0], lines[1]
        if password != again:
            raise click.UsageError("the two passwords on standard input differ")
    problem = passwords.password_problem(password, email.strip().lower())
    if problem:
        raise click.UsageError(problem)
    return password


@user.command("update")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@click.option("--role", type=click.Choice(auth.ROLES), default=None)
@click.option("--manager", help="The e-mail of the user's new manager.")
@click.option("--no-manager", is_flag=True, help="Remove the user's manager.")
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE", help=ATTR_HELP)
@click.option("--clear-attr", "clear", multiple=True, metavar="KEY", help="Remove an attribute (repeatable).")
@pass_install
def user_update(install, tenant_slug, email, role, manager, no_manager, attrs, clear):
    """Change EMAIL's role, manager or attributes in TENANT."""
    if manager and no_manager:
        raise click.UsageError("give --manager or --no-manager, not both")
    storage = install.session(tenant_slug).storage
    changed = auth.update_user(storage, email,
                               role=role or auth.UNSET,
                               manager=None if no_manager else (manager or auth.UNSET),
                               attributes=_attributes(attrs), clear=tuple(clear))
    emails = {a.id: a.email for a in auth.list_users(storage)}
    click.echo(f"updated {changed.email} in {tenant_slug}: {_describe(changed, emails)}")


def _describe(actor, emails) -> str:
    manager = emails.get(actor.manager_id, actor.manager_id) if actor.manager_id else "-"
    attributes = json.dumps(actor.attributes, ensure_ascii=False, sort_keys=True) if actor.attributes else "-"
    return f"{actor.role}\tmanager: {manager}\tattributes: {attributes}"


@user.command("list")
@click.argument("tenant_slug", metavar="TENANT")
@pass_install
def user_list(install, tenant_slug):
    """List TENANT's users with their roles, managers and attributes."""
    actors = auth.list_users(install.session(tenant_slug).storage)
    emails = {a.id: a.email for a in actors}
    for actor in actors:
        click.echo(f"{actor.email}\t{_describe(actor, emails)}")


@click.group()
def token():
    """Manage API tokens."""


@token.command("create")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("email")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@click.option("--expires", default=None, metavar="LIFETIME",
              help="How long the token is valid: 30d (days) or 12h (hours); default 90d, at most 366d.")
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE",
              help="read-write (default), read, records:<entity>:read or records:<entity>:write (repeatable).")
@pass_install
def token_create(install, tenant_slug, email, label, expires, scopes):
    """Print a new API token for EMAIL in TENANT (shown once; stored hashed)."""
    session = install.session(tenant_slug)
    entities = [entity.name for entity in session.metadata().package.entities]
    row, secret = people.new_token(session.storage, email, label, expires, list(scopes) or None, entities)
    click.echo(f"token for {row['user']} in {tenant_slug}, scopes {', '.join(row['scopes'])}, "
               f"expires {row['expires_at'].isoformat(timespec='minutes')} (shown once, keep it safe):")
    click.echo(secret)
