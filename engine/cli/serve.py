"""`loom serve` and `loom demo`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from engine import auth
from engine.cli.common import pass_install

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.example"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader (never in production).")
@pass_install
def serve(install, host, port, debug):
    """Run the web server (for production, run gunicorn 'engine.wsgi:app')."""
    from engine.app import create_app

    install.registry.ensure_ready()
    create_app(install).run(host=host, port=port, debug=debug, use_reloader=debug)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the demo tenant and stop.")
@pass_install
def demo(install, host, port, no_serve):
    """Create the demo tenant (once) with sample metadata, an admin and a token; then serve."""
    from engine.app import create_app
    from metadata import example_path

    if install.registry.get(DEMO_TENANT) is None:
        install.registry.create(DEMO_TENANT, "Demo company")
        session = install.session(DEMO_TENANT)
        session.apply_metadata(json.loads(Path(example_path("crm_minimal")).read_text(encoding="utf-8")))
        auth.create_user(session.storage, DEMO_ADMIN, "admin")
        account = session.records.create("account", {"name": "Demo Retail Ltd", "industry": "retail"})
        session.records.create_many("contact", [
            {"full_name": "Li Lei", "email": "li.lei@example.cn", "tier": "gold",
             "lifetime_value": "12800.00", "account": account["id"]},
            {"full_name": "Han Meimei", "email": "han.meimei@example.cn", "tier": "silver",
             "lifetime_value": "5600.50", "account": account["id"]},
            {"full_name": "Wang Fang", "email": "wang.fang@example.cn"},
        ])
        token = auth.create_token(session.storage, DEMO_ADMIN, "demo")
        click.echo(f"demo tenant ready: {DEMO_TENANT}; admin {DEMO_ADMIN}; API token:")
        click.echo(token)
    else:
        click.echo(f"demo tenant exists; make a new token with: loom token create {DEMO_TENANT} {DEMO_ADMIN}")
    if not no_serve:
        click.echo(f"try: curl -H 'Authorization: Bearer <token>' http://{host}:{port}/api/v1/t/{DEMO_TENANT}/records/contact")
        create_app(install).run(host=host, port=port)
