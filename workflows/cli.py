"""`loom worker`, `loom jobs` and `loom rules` (added to the CLI by the core plugin)."""
from __future__ import annotations

import json
import sys

import click

from engine.cli.common import echo_json, pass_install, read_json_file
from engine.heap import settled
from workflows import outbox
from workflows.notify.service import say_email_is_off
from workflows.runtime import runtime_of
from workflows.simulate import simulate


@click.command()
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@click.option("--once", is_flag=True, help="Handle everything due in every tenant, then exit.")
@pass_install
def worker(install, workers, once):
    """Run the job queue: outbox events, automation rules, SLA timers and schedules."""
    runtime = runtime_of(install)
    if once:
        summary = runtime.jobs.tick()
        if summary is None:
            click.echo("another tick of this install is still running: it handles what is due; "
                       "this run skipped", err=True)
            return
        echo_json(summary)
        failed = sorted(slug for slug, result in summary.items() if "error" in result)
        if failed:
            click.echo(f"error: the run failed for {', '.join(failed)} (see the summary)", err=True)
            sys.exit(1)
        return
    click.echo(f"loom worker: {workers} threads, queue {'redis' if install.settings.redis_url else 'sqlite'}")
    say_email_is_off(install)
    with settled():  # a long-lived process: its start-up heap out of the full collections
        runtime.jobs.consumer(workers).run()


@click.group()
def jobs():
    """Inspect and replay events that failed every attempt (the dead-letter list)."""


@jobs.command("failed")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def jobs_failed(install, tenant_slug, as_json):
    """List TENANT's events that failed every attempt, with their last error."""
    rows = outbox.failed(install.session(tenant_slug).storage)
    if as_json:
        echo_json([{k: rows_value(v) for k, v in r.items() if k != "payload"} for r in rows])
        return
    if not rows:
        click.echo("no failed events")
    for row in rows:
        error = (row["last_error"] or "").splitlines()[-1:] or [""]
        click.echo(f"{row['id']}\t{row['event']}\t{row['entity']} {row['record_id']}\t"
                   f"{row['attempts']} attempts\t{error[0]}")


def rows_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


@jobs.command("retry")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--id", "ids", multiple=True, type=click.IntRange(1, 2**63 - 1), help="An event id (repeatable).")
@click.option("--all", "everything", is_flag=True, help="Every failed event.")
@pass_install
def jobs_retry(install, tenant_slug, ids, everything):
    """Queue TENANT's failed events again with fresh attempts."""
    if bool(ids) == everything:
        raise click.UsageError("give --id N (repeatable) or --all")
    count = outbox.retry(install.session(tenant_slug).storage, None if everything else ids)
    if ids and not count:
        raise click.ClickException(f"no failed event of {tenant_slug} has the id "
                                   f"{', '.join(map(str, sorted(set(ids))))}: nothing was queued")
    runtime_of(install).jobs.enqueue_drain(tenant_slug)
    asked = f" of the {len(set(ids))} named (the others are not failed events)" if ids and count < len(set(ids)) else ""
    click.echo(f"queued {count} event(s) again{asked}")


@click.group()
def rules():
    """Work with business rules."""


@rules.command("simulate")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("draft", type=click.Path(dir_okay=False))
@click.option("--since", default="30d", show_default=True, help="How far back to replay (e.g. 12h, 30d).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_install
def rules_simulate(install, tenant_slug, draft, since, as_json):
    """Replay TENANT's recorded events through the DRAFT rule sets: no side effects."""
    report = simulate(install.session(tenant_slug), read_json_file(draft), since)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"replayed {report['events']} events from the last {since}: "
               f"{report['firings']} firing(s); nothing was changed")
    for name, count in sorted(report["per_rule"].items()):
        click.echo(f"  {name}: {count}")
    for item in report["items"][:50]:
        changes = "; ".join(f"{w['field']}: {w['from']!r} -> {w['to']!r}" if w["action"] == "set_field"
                            else w["action"] for w in item["would"])
        click.echo(f"  event {item['event_id']} {item['entity']} {item['record_id']}: {item['rule']} would {changes}")
