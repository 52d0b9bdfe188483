"""`loom keys`: the master key and the tenants' data keys of encryption at rest."""
from __future__ import annotations

import click

from engine.cli.common import echo_json, pass_install
from engine.crypto.keyring import key_rows
from engine.crypto.master import new_master_key_text, read_master_key_file
from engine.crypto.rotation import BATCH, rewrap, rotate


@click.group()
def keys():
    """Encryption at rest: make a master key, rotate a tenant's data key, rewrap data keys."""


@keys.command("generate")
def keys_generate():
    """Print a new random master key (base64), for LOOM_MASTER_KEY or LOOM_MASTER_KEY_FILE."""
    click.echo(new_master_key_text())


@keys.command("list")
@click.argument("slug")
@pass_install
def keys_list(install, slug):
    """SLUG's data keys: number, state and the master key that wraps each (never the keys)."""
    storage = install.session(slug).storage
    with storage.connect() as conn:
        rows = key_rows(conn, storage.schema)
    echo_json([{"key": f"k{r['seq']}", "state": r["state"], "master_id": r["master_id"],
                "created_at": r["created_at"].isoformat()} for r in rows])


@keys.command("rotate")
@click.argument("slug")
@click.option("--batch", default=BATCH, show_default=True, type=click.IntRange(1, 100_000),
              help="Records re-encrypted per transaction.")
@pass_install
def keys_rotate(install, slug, batch):
    """Give SLUG a new data key and re-encrypt its stored values with it, in batches. Run it
    again after an interruption: it carries on with the same new key."""
    session = install.session(slug)
    result = rotate(session.storage, session.metadata().package, batch)
    verb = "resumed the rotation to" if result.resumed else "rotated to"
    skipped = f" ({result.skipped} changed meanwhile by a write, left as written)" if result.skipped else ""
    click.echo(f"{slug}: {verb} data key k{result.key}; {result.values} values re-encrypted{skipped}")


@keys.command("rewrap")
@click.argument("slugs", nargs=-1)
@click.option("--new-master", "new_master", required=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="A file holding the new master key (base64); the current one comes from "
                   "LOOM_MASTER_KEY or LOOM_MASTER_KEY_FILE.")
@pass_install
def keys_rewrap(install, slugs, new_master):
    """Wrap the data keys of SLUGS (default: every tenant) with the master key in FILE. Then
    point LOOM_MASTER_KEY or LOOM_MASTER_KEY_FILE at it and restart the servers."""
    master = read_master_key_file(new_master, "--new-master")
    for slug in slugs or [t.slug for t in install.registry.list()]:
        count = rewrap(install.session(slug).storage, master)
        click.echo(f"{slug}: {count} data keys rewrapped under master key {master.id}")
