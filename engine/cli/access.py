"""`loom access-log` (who read, searched, exported or unmasked personal data, and sign-ins)
and `loom audit verify` (the tamper evidence of the audit and access logs)."""
from __future__ import annotations

import json
import sys

import click

from engine import people
from engine.cli.common import echo_json, pass_install
from engine.errors import NotFound
from engine.records.access_log import access_page
from engine.records.audit_log import AuditQuery
from engine.records.chain import seal_and_verify


@click.command("access-log")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--user", "user", metavar="EMAIL|ID", help="Only this user's accesses.")
@click.option("--entity", metavar="NAME", help="Only records of this entity.")
@click.option("--record", metavar="ID", help="Only this record's accesses (with --entity to be exact).")
@click.option("--since", metavar="DATE|TIME", help="From this date or time (ISO 8601, UTC unless it says).")
@click.option("--until", metavar="DATE|TIME", help="To this date (the whole day) or time.")
@click.option("--limit", default="50", show_default=True, help="At most this many entries (1 to 200).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def access_log(install, tenant_slug, user, entity, record, since, until, limit, as_json):
    """TENANT's access log, newest first: reads of records holding personal data, searches,
    exports, unmasking (with the reason) and sign-ins."""
    storage = install.session(tenant_slug).storage
    args = {"entity": entity, "record": record, "since": since, "until": until, "limit": limit,
            "user": _user_id(storage, user)}
    page = access_page(storage, AuditQuery.parse(args, "access log"))
    if as_json:
        echo_json(page["items"])
        return
    if not page["items"]:
        click.echo("no entries")
    emails = {p.id: p.email for p in people.people(storage)}
    for item in page["items"]:
        who = emails.get(item["actor_id"], item["actor_id"] or "-")
        what = f"{item['entity']} {item['record_id']}" if item["entity"] else "-"
        detail = json.dumps(item["detail"], ensure_ascii=False) if item["detail"] else ""
        click.echo(f"{item['id']}\t{item['at']}\t{who}\t{item['action']}\t{what}\t{detail}".rstrip())


def _user_id(storage, user) -> str | None:
    text = (user or "").strip()
    if not text or text.isdigit():
        return text or None
    found = next((p for p in people.people(storage) if p.email == text.lower()), None)
    if found is None:
        raise NotFound(f"no user {text} in tenant {storage.slug}", code="user_not_found")
    return str(found.id)


@click.group()
def audit():
    """The tamper evidence of the audit log and the access log."""


@audit.command("verify")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def audit_verify(install, tenant_slug, as_json):
    """Seal TENANT's new log rows into their hash chains, then check both chains: prints
    "intact", or the first broken row of each log (exit code 1)."""
    broken = seal_and_verify(install.session(tenant_slug).storage)
    if as_json:
        echo_json({"intact": not broken, "broken": [b.to_dict() for b in broken]})
    elif not broken:
        click.echo("intact")
    for found in broken if not as_json else ():
        click.echo(f"broken: the {found.log} log at row {found.row_id}: {found.reason}")
    if broken:
        sys.exit(1)
