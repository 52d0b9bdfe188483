"""Importing a file into an entity, for the CLI, the API and the background job: the dry
run (the default: every row's plan and the totals, nothing written), the real run (a
run row keeping the file, then the chunks) and the resume of a run that stopped."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

from engine.errors import Conflict, LoomError
from engine.background import NoProgress, Superseded
from engine.imports import mapping as mappings, report, runs
from engine.imports.planning import Options, Planner
from engine.imports.reading import check_sheet, format_of, read_table
from engine.imports.writing import write_all
from engine.privacy.error_text import personal_values as pii_values, safe_text

IN_REQUEST_KB = 256  # default of LOOM_IMPORT_IN_REQUEST_KB


def in_request(settings, size: int) -> bool:
    """Whether the dry run of a file of `size` bytes runs inside the request that asks for
    it (the API's answer, the screen's page), not as a background job: up to
    `LOOM_IMPORT_IN_REQUEST_KB` kilobytes (default 256; a value that is not a whole number
    counts as the default)."""
    text = str(settings.extra.get("LOOM_IMPORT_IN_REQUEST_KB", "")).strip()
    limit = int(text) if text.isascii() and text.isdigit() else IN_REQUEST_KB
    return size <= limit * 1024


@dataclass(frozen=True)
class Source:
    """A file to import and how to read it."""

    filename: str
    data: bytes
    format: str | None = None  # None: by the file name's extension
    encoding: str | None = None  # None: UTF-8 (with or without BOM), else GB18030 unless it reads as Western
    sheet: str | None = None  # XLSX: None is the first sheet


@dataclass
class Result:
    """What an import did (or, in a dry run, would do)."""

    entity: str
    mapping: dict
    unmapped: list
    totals: dict
    rows: list = dataclass_field(default_factory=list)  # RowPlan of every row (a dry run)
    refused: list = dataclass_field(default_factory=list)  # [{"row", "problems"}]
    run_id: int | None = None
    options: dict | None = None  # a kept run's options the dry run planned with (not in to_dict)
    committed: bool = False
    refused_file: bytes | None = None

    def to_dict(self) -> dict:
        out = {"entity": self.entity, "committed": self.committed, "mapping": self.mapping,
               "unmapped": self.unmapped, "totals": self.totals}
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.rows:
            out["rows"] = [r.to_dict() for r in self.rows]
        else:
            out["refused"] = self.refused
        return out


def _planner(service, entity: str, source: Source, given_mapping, options: Options):
    fmt = format_of(source.filename, source.format)
    check_sheet(fmt, source.sheet)
    table = read_table(source.data, fmt, source.encoding, source.sheet)
    entity_model, _table, _shape = service._entity(entity)
    columns = mappings.resolve(service.storage, entity_model, table.header, given_mapping)
    return table, columns, Planner(service, entity, table, columns, options)


def mapping_for(service, entity: str, source: Source, given_mapping, options: Options) -> dict:
    """The mapping `given_mapping` (None: suggested; a saved name; {column: field}) makes
    for the file, checked with the options."""
    return _planner(service, entity, source, given_mapping, options)[1]


def dry_run(service, entity: str, source: Source, given_mapping=None, options: Options = Options(),
            progress=None) -> Result:
    """Every row's plan and the totals; nothing is written."""
    table, columns, planner = _planner(service, entity, source, given_mapping, options)
    progress = progress or NoProgress()
    progress.total(len(table.rows))
    rows = []
    size = options.chunk_size
    for start in range(0, len(table.rows), size):
        stop = min(len(table.rows), start + size)
        rows += planner.plan(start, stop)
        progress.advance(stop - start)
    outcome = {"created": sum(r.action == "create" for r in rows), "updated": sum(r.action == "update" for r in rows),
               "skipped": sum(r.action == "skip" for r in rows),
               "refused": [{"row": r.row, "problems": r.problems} for r in rows if r.action == "refuse"]}
    return Result(entity, columns, planner.unmapped, report.totals(len(table.rows), [outcome]), rows,
                  outcome["refused"], refused_file=report.refused_file(table, outcome["refused"]))


def keep(service, entity: str, source: Source, given_mapping=None, options: Options = Options(),
         status: str = "running") -> int:
    """A run row holding the file, its mapping (resolved now) and the options, checked
    first; its id. `commit` and the background job start from it."""
    _table, columns, _planner_ = _planner(service, entity, source, given_mapping, options)
    run_options = {"format": format_of(source.filename, source.format), "encoding": source.encoding,
                   "sheet": source.sheet, "mapping": columns, "key": options.key,
                   "on_duplicate": options.on_duplicate, "chunk_size": options.chunk_size}
    return runs.create(service.storage, entity, source.filename, source.data, run_options, service.actor_email,
                       status, service.actor_id)


def commit(service, entity: str, source: Source, given_mapping=None, options: Options = Options(),
           progress=None) -> Result:
    """The real run: a run row (the file, the mapping and the options), then every chunk."""
    return resume(service, keep(service, entity, source, given_mapping, options), progress)


def _of_run(service, run):
    given = run["options"]
    table = read_table(runs.source_of(run), given["format"], given["encoding"], given["sheet"])
    options = Options(given["key"], given["on_duplicate"], given["chunk_size"])
    return table, Planner(service, run["entity"], table, given["mapping"], options)


def dry_run_of(service, run_id, record: bool = True, progress=None) -> Result:
    """The dry run of a kept run's file; a planned run keeps its totals and plan digest
    (unless not `record`, or its options changed while it ran: `runs.planned`)."""
    run = runs.get(service.storage, run_id)
    given = run["options"]
    result = dry_run(service, run["entity"], Source(run["filename"], runs.source_of(run), given["format"],
                                                     given["encoding"], given["sheet"]), given["mapping"],
                     Options(given["key"], given["on_duplicate"], given["chunk_size"]), progress)
    result.run_id, result.options = run["id"], given
    if record and run["status"] == "planned":  # kept: its plan, for a commit later (engine.imports.kept)
        runs.planned(service.storage, run["id"], given, {**result.totals, "plan": report.plan_digest(result.rows)})
    return result


def refused_of(service, run_id) -> tuple[str, bytes]:
    """The refused-rows file of a run (its name and bytes), from its checkpoints."""
    run = runs.get(service.storage, run_id)
    given = run["options"]
    table = read_table(runs.source_of(run), given["format"], given["encoding"], given["sheet"])
    refused = [r for _, o in sorted(runs.committed(service.storage, run["id"]).items()) for r in o["refused"]]
    stem = run["filename"].rsplit(".", 1)[0]
    return f"{stem}.refused.{given['format']}", report.refused_file(table, refused)


def resume(service, run_id, progress=None) -> Result:
    """Write the chunks of run `run_id` that have no checkpoint yet (all of them for a new
    run), then its reconciliation. A finished run is reported as it finished."""
    run = runs.get(service.storage, run_id)
    if run["status"] == "planned":  # a kept dry run is written once its plan is checked (`kept.check_commit`)
        raise Conflict(f"import run {run['id']} is a kept dry run: commit it with `loom import-commit` (or POST "
                       f"…/imports/runs/{run['id']}/commit), which checks that its plan still holds",
                       code="import_run_not_started")
    given = run["options"]
    table, planner = _of_run(service, run)
    try:
        done = write_all(service, planner, run["id"], progress)
    except Superseded:  # another worker took the job over: it owns the run now
        raise
    except KeyboardInterrupt:  # stopped by its operator: resumable, as after a crash
        runs.finish(service.storage, run["id"], "failed", {"error": "the run was interrupted"})
        raise
    except Exception as exc:  # a refused chunk or a crash: the run stays resumable
        # a refusal's own message, without the personal values of the rows it was writing; anything
        # else (a database error's text holds SQL and values) is named only by its kind
        message = safe_text(exc.message, _stopped_values(service, run, table)) if isinstance(exc, LoomError) else (
            f"the run stopped on an internal error ({type(exc).__name__}); it is in the server log")
        runs.finish(service.storage, run["id"], "failed", {"error": message})
        raise
    outcomes = [done[chunk] for chunk in sorted(done)]
    totals = report.totals(len(table.rows), outcomes)
    refused = [r for o in outcomes for r in o["refused"]]
    runs.finish(service.storage, run["id"], "done", totals)
    return Result(run["entity"], given["mapping"], planner.unmapped, totals, refused=refused, run_id=run["id"],
                  committed=True, refused_file=report.refused_file(table, refused))


def personal_values(service, run_id) -> set[str]:
    """The personal values of the rows run `run_id` was writing when it stopped: what its
    failure's text must not carry."""
    run = runs.get(service.storage, run_id)
    given = run["options"]
    return _stopped_values(service, run, read_table(runs.source_of(run), given["format"], given["encoding"],
                                                    given["sheet"]))


def _stopped_values(service, run, table) -> set[str]:
    """The values of the PII fields in the rows of the run's first chunk without a checkpoint."""
    size, done = run["options"]["chunk_size"], runs.committed(service.storage, run["id"])
    chunk = next(c for c in range(len(done) + 1) if c not in done)
    columns = [(i, field) for i, column in enumerate(table.header)
               if isinstance(field := run["options"]["mapping"].get(column), str)]
    records = [{field: row[i] for i, field in columns if i < len(row)}
               for row in table.rows[chunk * size:(chunk + 1) * size]]
    return pii_values(service.metadata.entity(run["entity"]), *records)
