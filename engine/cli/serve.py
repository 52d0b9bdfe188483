"""`loom serve` and `loom demo`."""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import click

from engine import auth, passwords
from engine.app import create_app
from engine.cli.common import pass_install
from engine.packs.service import PackService
from engine.warm import warm
from metadata import example_path

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.example"
DEMO_CLERK = "clerk@shop.example"     # the pack's demo sales clerk, who owns its demo records
DEMO_MEMBER = "member@demo.example"   # made when the pack's clerk is not there
DEMO_PACK = "retail_loyalty"


def _example_tenant(session) -> None:
    session.apply_metadata(json.loads(Path(example_path("crm_minimal")).read_text(encoding="utf-8")))
    account = session.records.create("account", {"name": "Demo Retail Ltd", "industry": "retail"})
    session.records.create_many("contact", [
        {"full_name": "Li Lei", "email": "li.lei@example.cn", "tier": "gold",
         "lifetime_value": "12800.00", "account": account["id"]},
        {"full_name": "Han Meimei", "email": "han.meimei@example.cn", "tier": "silver",
         "lifetime_value": "5600.50", "account": account["id"]},
        {"full_name": "Wang Fang", "email": "wang.fang@example.cn"},
    ])


def _demo_member(storage) -> str:
    """The member a newcomer signs in as to see what sharing hides: the pack's sales clerk,
    or a member made once (an install without the built-in packs)."""
    emails = {user.email for user in auth.list_users(storage)}
    if DEMO_CLERK in emails:
        return DEMO_CLERK
    if DEMO_MEMBER not in emails:
        auth.create_user(storage, DEMO_MEMBER, "member", display_name="Xu Ming")
    return DEMO_MEMBER


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader (never in production).")
@pass_install(data="new")
def serve(install, host, port, debug):
    """Run the development web server (one process; not for production).

    For production, install the server extra and run gunicorn with the same LOOM_* settings:

    \b
        pip install 'loom-crm[server]'
        gunicorn -w 4 -b 127.0.0.1:8000 'engine.wsgi:app'
    """

    install.registry.ensure_ready()
    app = create_app(install)
    warm(app)  # the first request costs what the next ones do
    app.run(host=host, port=port, debug=debug, use_reloader=debug)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Set up the demo tenant and stop.")
@pass_install(data="new")
def demo(install, host, port, no_serve):
    """Create the demo tenant (once) — the retail loyalty pack with its demo data, an admin
    and a token — give the admin and a member new passwords for the screens, then serve."""
    packs = PackService(install)
    with_pack = DEMO_PACK in packs.catalog()
    if install.registry.get(DEMO_TENANT) is None:
        install.registry.create(DEMO_TENANT, "Demo company")
        try:
            if with_pack:  # the retail loyalty CRM with its demo members, points and rewards
                packs.install(DEMO_TENANT, DEMO_PACK, demo=True)
            else:          # an install without the built-in packs: the example document
                _example_tenant(install.session(DEMO_TENANT))
        except BaseException:
            install.registry.discard(DEMO_TENANT)
            raise
        session = install.session(DEMO_TENANT)
        auth.create_user(session.storage, DEMO_ADMIN, "admin")
        token = auth.create_token(session.storage, DEMO_ADMIN, "demo")
        click.echo(f"demo tenant ready: {DEMO_TENANT}; admin {DEMO_ADMIN}; API token:")
        click.echo(token)
    else:
        click.echo(f"demo tenant exists; make a new token with: loom token create {DEMO_TENANT} {DEMO_ADMIN}")
    storage = install.session(DEMO_TENANT).storage
    member = _demo_member(storage)
    for email, role in ((DEMO_ADMIN, "admin"), (member, "member")):
        password = secrets.token_urlsafe(9)  # a new one each run: only its hash is kept
        passwords.set_password(storage, email, password)
        click.echo(f"screens: sign in at http://{host}:{port}/t/{DEMO_TENANT}/ "
                   f"as {email} with the password {password}" + ("" if role == "admin" else
                                                                  " (a member: it changes only what sharing gives it, and has no Designer)"))
    if not no_serve:
        entity = "membership" if with_pack else "contact"
        click.echo(f"try: curl -H 'Authorization: Bearer <token>' "
                   f"http://{host}:{port}/api/v1/t/{DEMO_TENANT}/records/{entity}")
        app = create_app(install)
        warm(app)
        app.run(host=host, port=port)
