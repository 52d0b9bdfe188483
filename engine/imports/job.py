"""The background job kind "import": a kept import run (`importer.keep`), dry-run or
written, with its progress; a worker that died is resumed from the run's checkpoints. A
written run's failure text holds none of the personal values of the rows it was writing."""
from __future__ import annotations

from engine.errors import Conflict, ValidationFailed
from engine.imports import importer, runs


def check(session, params) -> dict:
    run_id, commit = params.get("run_id"), params.get("commit", False)
    if isinstance(run_id, bool) or not isinstance(run_id, int) or not isinstance(commit, bool):
        raise ValidationFailed("an import job takes a run_id and commit (true or false)",
                               details=[{"field": "params.run_id", "message": "the id of a kept import run"}])
    run = runs.require_owner(runs.get(session.storage, run_id), session.actor, "run it")
    if commit and run["status"] == "planned":  # a kept dry run is committed once its plan is checked
        raise Conflict(f"import run {run_id} is a kept dry run: commit it with POST …/imports/runs/{run_id}/commit, "
                       "which checks that its plan still holds", code="import_run_not_started")
    return {"run_id": run_id, "commit": commit}


def run(session, params, progress) -> dict:
    if not params["commit"]:
        return importer.dry_run_of(session.records, params["run_id"]).to_dict()
    result = importer.resume(session.records, params["run_id"], progress).to_dict()
    result["refused"] = len(result["refused"])  # the rows themselves: GET …/imports/runs/{id}/refused
    return result


def personal_values(session, params) -> set[str]:
    return importer.personal_values(session.records, params["run_id"]) if params["commit"] else set()
