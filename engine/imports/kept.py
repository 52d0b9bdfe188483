"""Committing a kept dry run later, without uploading the file again: the run (status
planned) keeps its file, mapping and options, and the digest of the plan its dry run
showed. The commit plans the file again first: if any row's action, record, problems or
duplicates changed (the records changed since), it is refused with a 409 and nothing is
written — run the dry run again, read it, and commit that. Otherwise the run becomes
running (once) and is written by the "import" job, which plans each chunk again as it
writes it."""
from __future__ import annotations

from engine.errors import Conflict
from engine.imports import importer, report, runs
from engine.imports.planning import Options


def _planned(service, run_id, to: str) -> dict:
    run = runs.require_owner(runs.get(service.storage, run_id), service.actor, to)
    if run["status"] != "planned":
        raise Conflict(f"import run {run['id']} is {run['status']}, not a kept dry run: only a planned run "
                       f"can be changed or committed", code="import_run_not_planned")
    return run


def change(service, run_id, given_mapping, key: str | None, on_duplicate: str | None) -> dict:
    """A kept dry run's new mapping, key and duplicate action, checked; its earlier dry run
    no longer counts (run it again before committing)."""
    run = _planned(service, run_id, "change it")
    given = run["options"]
    source = importer.Source(run["filename"], runs.source_of(run), given["format"], given["encoding"],
                             given["sheet"])
    columns = importer.mapping_for(service, run["entity"], source, given_mapping,
                                   Options(key, on_duplicate, given["chunk_size"]))
    options = {**given, "mapping": columns, "key": key, "on_duplicate": on_duplicate}
    if not runs.set_options(service.storage, run["id"], options):
        raise Conflict(f"import run {run['id']} was committed already", code="import_run_not_planned")
    return {**run, "options": options, "totals": None}


def plan_options(options: dict) -> dict:
    """The options of a run that decide its plan (what a dry run's result says it planned
    with: a result planned with others is not the run's plan)."""
    return {name: options.get(name) for name in ("mapping", "key", "on_duplicate")}


def ready(service, run_id) -> dict:
    """The kept run `run_id`, if it is a planned run with a dry run (its plan not checked:
    `check_commit` does that); Conflict otherwise."""
    run = _planned(service, run_id, "commit it")
    if not (run["totals"] or {}).get("plan"):
        raise Conflict(f"import run {run['id']} has no dry run yet: run it first", code="import_not_dry_run")
    return run


def check_commit(service, run_id) -> dict:
    """The kept run `run_id`, checked and marked running; Conflict when it is not a
    planned run with a dry run, or its plan no longer holds."""
    run = ready(service, run_id)
    shown = run["totals"]["plan"]
    now = importer.dry_run_of(service, run["id"], record=False)
    if report.plan_digest(now.rows) != shown:
        raise Conflict(f"the plan of import run {run['id']} no longer holds: the records changed since its dry "
                       "run; run its dry run again, read it and commit that", code="import_plan_changed",
                       details=[{"field": "totals", "message": ", ".join(
                           f"{name} {now.totals[name]}" for name in ("created", "updated", "skipped", "refused"))}])
    if not runs.start(service.storage, run["id"], run):
        raise Conflict(f"import run {run['id']} was committed or changed while its plan was checked: read "
                       "it again", code="import_run_not_planned")
    return run
