"""The background job kind "import": a kept import run (`importer.keep`), dry-run or
written, with its progress; a worker that died is resumed from the run's checkpoints.
`check` commits a kept dry run: its plan is checked first (`kept.check_commit`, in the
job, as a large file's is slow), the job failing with the refusal when it no longer
holds. A dry run's result names the options it planned with (`planned_with`: mapping,
key, duplicate action). A written run's failure text holds none of the personal values of the rows it was
writing."""
from __future__ import annotations

from engine.errors import Conflict, ValidationFailed
from engine.imports import importer, kept, runs


def check(session, params) -> dict:
    run_id, commit, checked = params.get("run_id"), params.get("commit", False), params.get("check", False)
    if isinstance(run_id, bool) or not isinstance(run_id, int) or not isinstance(commit, bool) \
            or not isinstance(checked, bool) or (checked and not commit):
        raise ValidationFailed("an import job takes a run_id, commit (true or false) and, to commit a kept dry "
                               "run, check: true",
                               details=[{"field": "params.run_id", "message": "the id of a kept import run"}])
    run = runs.require_owner(runs.get(session.storage, run_id), session.actor, "run it")
    if commit and run["status"] == "done":  # written once: its result is kept, never written again
        raise Conflict(f"import run {run_id} is done: it was written already; its result is at "
                       f"GET …/imports/runs/{run_id}", code="import_run_done")
    if commit and not checked and run["status"] == "planned":  # a kept dry run is committed once its plan is checked
        raise Conflict(f"import run {run_id} is a kept dry run: commit it with POST …/imports/runs/{run_id}/commit, "
                       "which checks that its plan still holds", code="import_run_not_started")
    return {"run_id": run_id, "commit": commit, "check": checked}


def run(session, params, progress) -> dict:
    if not params["commit"]:  # the result says which options it planned with (the screen shows only the run's)
        result = importer.dry_run_of(session.records, params["run_id"], progress=progress)
        return {**result.to_dict(), "planned_with": kept.plan_options(result.options)}
    if params.get("check") and (runs.get(session.storage, params["run_id"])["status"] == "planned"
                                or not progress.resumed):  # resumed, the job finds the run it started
        kept.check_commit(session.records, params["run_id"])
    result = importer.resume(session.records, params["run_id"], progress).to_dict()
    result["refused"] = len(result["refused"])  # the rows themselves: GET …/imports/runs/{id}/refused
    return result


def personal_values(session, params) -> set[str]:
    return importer.personal_values(session.records, params["run_id"]) if params["commit"] else set()
