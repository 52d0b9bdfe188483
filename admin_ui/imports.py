"""The import screen, for users with an entity's import right: upload a file (kept as a
planned import run), see the suggested column mapping and change it (or pick a saved
one, or save it by name), choose the key and the duplicate action, run the dry run and
read its report, then "Import these rows": the kept run is committed as a background job
(`engine.imports.kept`: refused when the records changed so its plan no longer holds),
its progress polled by htmx, ending with the reconciliation and the refused-rows file.
A file too large to plan inside a request (`importer.in_request`, as for the API) has its
dry run, and the check of its plan at commit, run by the job too: the same progress
page, then the report (or the refusal). Every decision is the engine's
(`engine.imports`); this only shows it."""
from __future__ import annotations

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui import duplicates
from admin_ui.formats import moment
from admin_ui.i18n import language_of_request
from admin_ui.list_state import list_entity
from admin_ui.problems import translated
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
ENDED = ("done", "failed")


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


def _in_request(run) -> bool:
    """Whether the run's file is small enough to plan inside a request."""
    return importer.in_request(g.session.install.settings, len(run["source"] or b""))


def _job(run, job_id):
    """The import job `job_id` of `run` the user may follow, or None; None too for a dry
    run's job planned with other options than the run has now (an older dry run: its rows
    are not what "Import these rows" would commit)."""
    if job_id is None:
        return None
    try:
        job = background.visible(g.session, job_id)
    except LoomError:
        return None
    result = job.get("result") or {}
    if job["kind"] != "import" or result.get("run_id", run["id"]) != run["id"]:
        return None
    if result.get("committed") is False and result.get("planned_with") != kept.plan_options(run["options"]):
        return None
    return job


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


# The text encodings the upload form offers ("": UTF-8, else GB18030, as `engine.imports` reads).
ENCODINGS = ("", "utf-8", "gb18030", "big5", "cp1252")


def _encoding_names() -> dict:
    return {"": _("Automatic: UTF-8, else GB18030 (Excel in Chinese)"), "utf-8": "UTF-8",
            "gb18030": _("GB18030 (simplified Chinese)"), "big5": _("Big5 (traditional Chinese)"),
            "cp1252": _("Windows-1252 (Western European)")}


def _start_page(found, status=200, refusal=None, encoding=""):
    return render_template("screens/imports/start.html", title=_("Import %(entity)s", entity=_label(found)),
                           entity=found, nav_entity=found["name"], refusal=refusal, encodings=_encoding_names(),
                           encoding=encoding, saved=mappings.names_for(g.session.storage, found["name"])), status


def _label(found) -> str:
    return found["plural_label"] or found["label"] or found["name"]


@screens.post("/e/<entity>/import")
def import_upload(entity):
    """The file, kept as a planned run with the suggested (or the saved) mapping."""
    found = _importable(entity)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _start_page(found, 400, _("Choose a file to import (CSV, XLSX or JSON Lines)."))
    encoding = request.form.get("encoding", "")
    if encoding not in ENCODINGS:
        return _start_page(found, 400, _("Choose one of the text encodings offered."))
    source = importer.Source(upload.filename, upload.read(), encoding=encoding or None)
    try:
        run_id = importer.keep(g.session.records, entity, source, request.form.get("mapping") or None, Options(),
                               "planned")
    except LoomError as exc:
        if any(d.get("field") == "encoding" for d in exc.details or ()):  # the file's text is not as chosen
            return _start_page(found, exc.status, _("The file's text cannot be read in this encoding: choose the "
                                                    "encoding it was saved in below."), encoding)
        return _start_page(found, exc.status, exc.message, encoding)
    return redirect(url_for("screens.import_run", entity=entity, run_id=run_id))


@screens.get("/e/<entity>/import/<int:run_id>")
def import_run(entity, run_id):
    found = _importable(entity)
    run = _run(found, run_id)
    job = _job(run, request.args.get("job", type=int))
    if run["status"] != "planned" or (job is not None and job["status"] not in ENDED):
        return _progress_page(found, run, job)
    if job is not None and job["status"] == "failed":  # its dry run, or the check of its plan, refused
        return _run_page(found, run, None, refusal=_("The job stopped: %(error)s", error=job["error"]))
    report = None
    if job is not None and job["result"]:  # the dry run the job made
        report = _report(found, job["result"])
    elif (run["totals"] or {}).get("plan"):  # its dry run, shown again as it stands now (or its totals)
        report = _report(found, importer.dry_run_of(g.session.records, run["id"], record=False).to_dict()
                         if _in_request(run) else {"totals": run["totals"]})
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
        if form.get("save_as", "").strip():  # before the run changes: a name it cannot take changes nothing
            mappings.check_name(form["save_as"].strip(), g.session.storage, entity)
        run = kept.change(g.session.records, run["id"], given, form.get("key") or None,
                          form.get("on_duplicate") or None)
        if form.get("save_as", "").strip():
            mappings.save(g.session.storage, form["save_as"].strip(), entity, run["options"]["mapping"],
                          g.session.actor.email if g.session.actor else None)
        if not _in_request(run):
            job = queue_job(g.session, "import", {"run_id": run["id"], "commit": False})
            return redirect(url_for("screens.import_run", entity=entity, run_id=run["id"], job=job["id"]))
        result = importer.dry_run_of(g.session.records, run["id"])
    except LoomError as exc:
        return _run_page(found, run, None, exc.status, refusal=exc.message, problems=exc.details, chosen=chosen)
    return _run_page(found, runs.get(g.session.storage, run["id"]), _report(found, result.to_dict()))


@screens.post("/e/<entity>/import/<int:run_id>/commit")
def import_commit(entity, run_id):
    found = _importable(entity)
    run = _run(found, run_id)
    if not _in_request(run):  # the job checks the plan first
        kept.ready(g.session.records, run["id"])
        job = queue_job(g.session, "import", {"run_id": run["id"], "commit": True, "check": True})
        return redirect(url_for("screens.import_run", entity=entity, run_id=run["id"], job=job["id"]))
    try:
        kept.check_commit(g.session.records, run["id"])
    except Conflict as exc:
        if exc.code != "import_plan_changed":
            raise
        report = _report(found, importer.dry_run_of(g.session.records, run["id"]).to_dict())  # the new plan
        return _run_page(found, run, report, 409, refusal=_(
            "The records changed since the dry run, so its plan no longer holds. Here is the dry run again: "
            "read it, then import these rows."))
    job = queue_job(g.session, "import", {"run_id": run["id"], "commit": True})
    return redirect(url_for("screens.import_run", entity=entity, run_id=run["id"], job=job["id"]))


@screens.get("/e/<entity>/import/<int:run_id>/progress")
def import_progress(entity, run_id):
    """The progress fragment htmx polls until the run ends (a dry run's job: then its page)."""
    found = _importable(entity)
    run = _run(found, run_id)
    job_id = request.args.get("job", type=int)
    progress = _progress(found, run, _job(run, job_id))
    if progress["planning"] and progress["finished"]:
        return "", 200, {"HX-Redirect": url_for("screens.import_run", entity=entity, run_id=run["id"], job=job_id)}
    return render_template("screens/imports/_progress.html", **progress)


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


def _report(found, result: dict) -> dict:
    """A dry run's report (`Result.to_dict`) as the page shows it: each row's problems in the
    user's language — the screens' words for their codes and details (`problems.translated`)
    in any language but English, whose engine messages also quote the cell's value (no input
    beside them shows it, as a form's does); without its rows (a large file's, revisited
    without its job), its totals alone."""
    rows = result.get("rows", [])
    worded = language_of_request() != "en"  # English: the engine's own words, which quote the cell's value
    shown = [{**r, "problems": [{**p, "message": translated(p["code"], p["message"], p)}
                                for p in r.get("problems", [])] if worded else r.get("problems", []),
              "duplicates": duplicates.shown(found, r["duplicates"]) if r.get("duplicates") else [],
              "url": url_for("screens.record_page", entity=found["name"], record_id=r["record_id"])
              if r.get("record_id") else None} for r in rows[:SHOWN_ROWS]]
    return {"totals": result["totals"], "rows": shown, "more": max(0, len(rows) - SHOWN_ROWS),
            "unmapped": result.get("unmapped", []), "listed": "rows" in result or "refused" in result}


def _progress(found, run, job) -> dict:
    """A run's progress: a planned run's while its job plans it, else its writing."""
    planning = run["status"] == "planned"
    ended = job is None or job["status"] in ENDED
    finished = ended and (planning or run["status"] in ENDED)
    return {"entity": found, "run": run, "job": job, "finished": finished, "planning": planning,
            "totals": run["totals"] or {}, "when": moment(run["finished_at"]) if run["finished_at"] else None,
            "poll": url_for("screens.import_progress", entity=found["name"], run_id=run["id"],
                            job=job["id"] if job else None)}


def _progress_page(found, run, job):
    return render_template("screens/imports/progress.html", title=_("Import %(entity)s", entity=_label(found)),
                           nav_entity=found["name"], **_progress(found, run, job))
