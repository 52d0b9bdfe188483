"""The import screen, for users with an entity's import right: upload a file (kept as a
planned import run), see the suggested column mapping and change it (or pick a saved
one, or save it by name), choose the key and the duplicate action, run the dry run and
read its report, then "Import these rows": the kept run is committed as a background job
(`engine.imports.kept`: refused when the records changed so its plan no longer holds),
its progress polled by htmx, ending with the reconciliation and the refused-rows file.
Every decision is the engine's (`engine.imports`); this only shows it."""
from __future__ import annotations

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui import duplicates
from admin_ui.formats import moment
from admin_ui.list_state import list_entity
from admin_ui.view import screen_view
from admin_ui.web import screens
from engine import background
from engine.errors import Conflict, LoomError
from engine.imports import importer, kept, mapping as mappings, runs
from engine.imports.planning import ON_DUPLICATE, Options
from workflows.imports_api import CONTENT_TYPES
from workflows.api import queue_job

SHOWN_ROWS = 500  # a dry run's rows on the page; the totals count them all
NOT_MAPPED = "-"  # the select's value for a column left out


def _importable(entity: str) -> dict:
    found = list_entity(entity)
    if not g.session.records.permissions.may(entity, "import"):
        abort(403, description=_("You may not import %(entity)s.", entity=found["plural_label"] or found["label"]))
    return found


def _run(found: dict, run_id: int) -> dict:
    run = runs.require_owner(runs.get(g.session.storage, run_id), g.session.actor)
    if run["entity"] != found["name"]:
        abort(404, description=_("There is no such import."))
    return run


@screens.get("/import")
def imports_home():
    """The data tools' entry: the entities the user may import into."""
    may = g.session.records.permissions.may
    entities = [e for e in screen_view()["entities"] if not e.get("hidden") and may(e["name"], "import")]
    return render_template("screens/imports/home.html", title=_("Import data"), entities=entities)


@screens.get("/e/<entity>/import")
def import_start(entity):
    found = _importable(entity)
    return _start_page(found)


def _start_page(found, status=200, refusal=None):
    return render_template("screens/imports/start.html", title=_("Import %(entity)s", entity=_label(found)),
                           entity=found, nav_entity=found["name"], refusal=refusal,
                           saved=mappings.names_for(g.session.storage, found["name"])), status


def _label(found) -> str:
    return found["plural_label"] or found["label"] or found["name"]


@screens.post("/e/<entity>/import")
def import_upload(entity):
    """The file, kept as a planned run with the suggested (or the saved) mapping."""
    found = _importable(entity)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _start_page(found, 400, _("Choose a file to import (CSV, XLSX or JSON Lines)."))
    source = importer.Source(upload.filename, upload.read())
    try:
        run_id = importer.keep(g.session.records, entity, source, request.form.get("mapping") or None, Options(),
                               "planned")
    except LoomError as exc:
        return _start_page(found, exc.status, exc.message)
    return redirect(url_for("screens.import_run", entity=entity, run_id=run_id))


@screens.get("/e/<entity>/import/<int:run_id>")
def import_run(entity, run_id):
    found = _importable(entity)
    run = _run(found, run_id)
    if run["status"] != "planned":
        return _progress_page(found, run, request.args.get("job", type=int))
    report = None
    if (run["totals"] or {}).get("plan"):  # its dry run, shown again as it stands now
        report = _report(found, importer.dry_run_of(g.session.records, run["id"], record=False))
    return _run_page(found, run, report)


@screens.post("/e/<entity>/import/<int:run_id>/plan")
def import_plan(entity, run_id):
    """The mapping, key and duplicate action chosen, then the dry run."""
    found = _importable(entity)
    run = _run(found, run_id)
    form = request.form
    header = list(run["options"]["mapping"])
    chosen = {column: (form.get(f"column-{i}") or NOT_MAPPED) for i, column in enumerate(header)}
    given = {c: (None if f == NOT_MAPPED else f) for c, f in chosen.items()}
    if form.get("saved"):
        given = form["saved"]
    try:
        run = kept.change(g.session.records, run["id"], given, form.get("key") or None,
                          form.get("on_duplicate") or None)
        if form.get("save_as", "").strip():
            mappings.save(g.session.storage, form["save_as"].strip(), entity, run["options"]["mapping"],
                          g.session.actor.email if g.session.actor else None)
        result = importer.dry_run_of(g.session.records, run["id"])
    except LoomError as exc:
        return _run_page(found, run, None, exc.status, refusal=exc.message, problems=exc.details, chosen=chosen)
    return _run_page(found, runs.get(g.session.storage, run["id"]), _report(found, result))


@screens.post("/e/<entity>/import/<int:run_id>/commit")
def import_commit(entity, run_id):
    found = _importable(entity)
    run = _run(found, run_id)
    try:
        kept.check_commit(g.session.records, run["id"])
    except Conflict as exc:
        if exc.code != "import_plan_changed":
            raise
        report = _report(found, importer.dry_run_of(g.session.records, run["id"]))  # the new plan, shown
        return _run_page(found, run, report, 409, refusal=_(
            "The records changed since the dry run, so its plan no longer holds. Here is the dry run again: "
            "read it, then import these rows."))
    job = queue_job(g.session, "import", {"run_id": run["id"], "commit": True})
    return redirect(url_for("screens.import_run", entity=entity, run_id=run["id"], job=job["id"]))


@screens.get("/e/<entity>/import/<int:run_id>/progress")
def import_progress(entity, run_id):
    """The progress fragment htmx polls until the run ends."""
    found = _importable(entity)
    run = _run(found, run_id)
    return render_template("screens/imports/_progress.html", **_progress(found, run, request.args.get("job",
                                                                                                      type=int)))


@screens.get("/e/<entity>/import/<int:run_id>/refused")
def import_refused(entity, run_id):
    found = _importable(entity)
    run = _run(found, run_id)
    name, data = importer.refused_of(g.session.records, run["id"])
    response = Response(data, content_type=CONTENT_TYPES[run["options"]["format"]])
    response.headers["Content-Disposition"] = f'attachment; filename="refused.{run["options"]["format"]}"'
    return response


def _fields(found) -> list[dict]:
    return [{"name": f["name"], "label": f.get("label") or f["name"]} for f in found["fields"]
            if not (f.get("readonly") or f.get("system"))]


def _run_page(found, run, report, status=200, **context):
    mapping = run["options"]["mapping"]
    chosen = context.pop("chosen", None) or {c: (f or NOT_MAPPED) for c, f in mapping.items()}
    return render_template(
        "screens/imports/run.html", title=_("Import %(entity)s", entity=_label(found)), entity=found,
        nav_entity=found["name"], run=run, columns=list(enumerate(chosen.items())), fields=_fields(found),
        not_mapped=NOT_MAPPED, key=run["options"]["key"], on_duplicate=run["options"]["on_duplicate"],
        duplicate_actions=ON_DUPLICATE, saved=mappings.names_for(g.session.storage, found["name"]),
        report=report, uploaded=moment(run["created_at"]), **context), status


def _report(found, result) -> dict:
    rows = [{**r.to_dict(), "duplicates": duplicates.shown(found, r.duplicates) if r.duplicates else [],
             "url": url_for("screens.record_page", entity=found["name"], record_id=r.record_id)
             if r.record_id else None} for r in result.rows[:SHOWN_ROWS]]
    return {"totals": result.totals, "rows": rows, "more": max(0, len(result.rows) - SHOWN_ROWS),
            "unmapped": result.unmapped}


def _progress(found, run, job_id) -> dict:
    job = None
    if job_id is not None:
        try:
            job = background.visible(g.session, job_id)
        except LoomError:
            job = None
    finished = run["status"] in ("done", "failed") and (job is None or job["status"] in ("done", "failed"))
    return {"entity": found, "run": run, "job": job, "finished": finished, "totals": run["totals"] or {},
            "when": moment(run["finished_at"]) if run["finished_at"] else None,
            "poll": url_for("screens.import_progress", entity=found["name"], run_id=run["id"], job=job_id)}


def _progress_page(found, run, job_id):
    return render_template("screens/imports/progress.html", title=_("Import %(entity)s", entity=_label(found)),
                           nav_entity=found["name"], **_progress(found, run, job_id))
