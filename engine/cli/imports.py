"""`loom import` and `loom export`: a file into an entity's records (a dry run unless
--commit) and an entity's records into a file that imports back."""
from __future__ import annotations

import os
import shlex
import sys

import click

from engine.cli.common import echo_json, pass_install, read_json_file
from engine.errors import LoomError, ValidationFailed
from engine.heap import settled
from engine.imports import importer, kept, mapping as mappings, retention as import_retention, runs
from engine.imports.exporting import export_file
from engine.imports.planning import ON_DUPLICATE, Options
from engine.imports.reading import FORMATS, format_of
from engine.imports.report import problems_text


class _Bar:
    """The import's progress as a click progress bar on stderr."""

    def __init__(self):
        self.bar = None

    def total(self, n: int) -> None:
        self.bar = click.progressbar(length=n, label="importing", file=sys.stderr)
        self.bar.__enter__()

    def advance(self, k: int = 1) -> None:
        self.bar.update(k)

    def close(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


def _mapping(value):
    """--mapping: a JSON file of {column: field}, or the name of a saved mapping."""
    if value is None:
        return None
    if os.path.isfile(value):
        return read_json_file(value)
    if not mappings.NAME.fullmatch(value):  # a file's path, by its looks
        raise LoomError(f"there is no file {value} (nor is it a saved mapping's name)", code="file_error")
    return value


def _read(path: str, limit: int) -> bytes:
    """The file at `path`, refused when larger than the upload limit (LOOM_MAX_UPLOAD_MB)."""
    try:
        if os.path.getsize(path) > limit:
            raise ValidationFailed(f"{path} is larger than the upload limit of {limit // 1024 // 1024} MB "
                                   "(LOOM_MAX_UPLOAD_MB)", code="too_large",
                                   details=[{"field": "file", "message": f"at most {limit} bytes"}])
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise LoomError(f"cannot read {path}: {exc.strerror}", code="file_error") from None


def _writable(path: str | None, what: str = "the refused rows are", name: str = "--refused") -> None:
    """Refuse, before anything is done, a file that would be written over another (the
    imported one included) or cannot be written at all: `what` it holds, the `name` that
    gives it."""
    if path is None:
        return
    if not path.strip():
        raise ValidationFailed(f"{name} wants a file name", code="bad_file_name",
                               details=[{"field": name.lstrip("-").lower(), "message": "must be a file name"}])
    if os.path.lexists(path):
        raise LoomError(f"{path} exists: {what} never written over a file; remove it or give "
                        f"{name} a new file name", code="file_exists")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise LoomError(f"cannot write {path}: there is no folder {folder}", code="file_error")
    if not os.access(folder, os.W_OK):
        raise LoomError(f"cannot write {path}: the folder {folder} is not writable", code="file_error")


def _write(path: str, data: bytes) -> None:
    try:
        fh = open(path, "xb")  # checked before the import (`_writable`): never written over
    except OSError as exc:
        raise LoomError(f"cannot write {path}: {exc.strerror}", code="file_error") from None
    try:
        with fh:
            fh.write(data)
    except OSError as exc:  # the disk full…: no half-written file left to be taken for the whole
        os.unlink(path)
        raise LoomError(f"cannot write {path}: {exc.strerror}", code="file_error") from None


def _refused_path(path: str) -> str:
    """FILE.refused.<ext> beside FILE, or FILE.refused-2.<ext>… when that exists (an earlier
    run's, perhaps being fixed: never written over)."""
    stem, ext = os.path.splitext(path)
    for number in range(1, 1000):
        candidate = f"{stem}.refused{'' if number == 1 else f'-{number}'}{ext}"
        if not os.path.lexists(candidate):
            return candidate
    return f"{stem}.refused{ext}"  # refused by `_writable`, saying it exists


@click.command("import")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("entity")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--mapping", "mapping_given", metavar="NAME|FILE", help="A saved mapping's name or a JSON file "
              "of {column: field} (default: suggested from the header).")
@click.option("--save-mapping", metavar="NAME", help="Save the mapping used under NAME.")
@click.option("--key", metavar="FIELD", help="Upsert on this natural key: a row whose key exists updates it.")
@click.option("--on-duplicate", type=click.Choice(ON_DUPLICATE),
              help="What a duplicate rule's match does (default: the rule's action).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: by the file name.")
@click.option("--encoding", help="CSV/JSONL text encoding (default: UTF-8, else GB18030).")
@click.option("--sheet", help="XLSX: the sheet to read (default: the first).")
@click.option("--chunk-size", type=int, default=1000, show_default=True, help="Rows written per transaction.")
@click.option("--commit", is_flag=True, help="Write (without it: a dry run that writes nothing).")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Finish run RUN_ID that stopped (same FILE).")
@click.option("--refused", "refused_path", metavar="FILE", help="Where to write the refused rows, a new "
              "file (default with --commit: FILE.refused.<ext> beside FILE).")
@click.option("--keep", is_flag=True, help="Keep the dry run (its file and plan) to commit later with "
              "`loom import-commit` without the file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_install
def import_command(install, tenant_slug, entity, path, mapping_given, save_mapping, key, on_duplicate, fmt,
                   encoding, sheet, chunk_size, commit, resume_id, refused_path, keep, as_json):
    """Import FILE (CSV, XLSX or JSON Lines) into ENTITY of TENANT: a dry run reporting
    every row, unless --commit."""
    service = install.session(tenant_slug).records
    data = _read(path, install.settings.max_upload_bytes)
    if resume_id is not None:
        run = runs.get(service.storage, resume_id)
        if run["source"] != data or run["entity"] != entity:
            raise ValidationFailed(f"run {resume_id} imported another file or entity: resume it with its own",
                                   code="bad_import_resume")
    if refused_path is None and (commit or resume_id is not None):
        refused_path = _refused_path(path)
    _writable(refused_path)
    if save_mapping is not None:
        mappings.check_name(save_mapping, service.storage, entity)
    source = importer.Source(os.path.basename(path), data, fmt, encoding, sheet)
    options = Options(key, on_duplicate, chunk_size)
    bar = _Bar()
    try:
        with settled():  # chunk after chunk: the start-up heap out of the full collections
            if resume_id is not None:
                result = _written(service, run["id"], bar, as_json,
                                  _again(tenant_slug, entity, path, f"--resume {run['id']}"))
            elif commit:
                run_id = importer.keep(service, entity, source, _mapping(mapping_given), options)
                result = _written(service, run_id, bar, as_json, _again(tenant_slug, entity, path,
                                                                        f"--resume {run_id}"))
            elif keep:
                result = importer.dry_run_of(service, importer.keep(service, entity, source, _mapping(mapping_given),
                                                                     options, "planned"))
            else:
                result = importer.dry_run(service, entity, source, _mapping(mapping_given), options)
    finally:
        bar.close()
    if save_mapping:
        mappings.save(service.storage, save_mapping, entity, result.mapping)
    _report(result, refused_path, as_json, save_mapping)


def _report(result, refused_path, as_json, save_mapping=None) -> None:
    """The result, and the refused rows written to `refused_path` (when there are any):
    the result is shown even when that file then cannot be written."""
    written = refused_path if result.totals["refused"] and refused_path else None
    failed = None
    if written:
        try:
            _write(written, result.refused_file)
        except LoomError as exc:
            written, failed = None, exc
    if as_json:
        echo_json(result.to_dict())
    else:
        _print(result, written, save_mapping)
    if failed is not None:
        raise failed


def _print(result, refused_path, save_mapping) -> None:
    for column, field in result.mapping.items():
        click.echo(f"column {column} -> {field}" if field else f"column {column} (unmapped)")
    for row in result.rows:
        line = f"row {row.row}\t{row.action}"
        if row.record_id is not None:
            line += f"\trecord {row.record_id}"
        if row.action == "update" and row.data:
            line += "\tchanges " + ", ".join(row.data)  # the fields it changes, not their values
        if row.reason:
            line += f"\t{row.reason}"
        if row.problems:
            line += "\t" + problems_text(row.problems)
        for match in row.duplicates:
            line += f"\tduplicate of {match['record_id']} ({match['rule']}, {match['score']}: " \
                    f"{'; '.join(match['reasons'])})"
        click.echo(line)
    if result.committed:
        for refused in result.refused:
            click.echo(f"row {refused['row']}\trefuse\t{problems_text(refused['problems'])}")
    totals = result.totals
    verb = f"imported (run {result.run_id})" if result.committed else "dry run, nothing written" + (
        f" (kept as run {result.run_id}: loom import-commit TENANT {result.run_id})" if result.run_id else "")
    click.echo(f"{verb}: read {totals['read']}, created {totals['created']}, updated {totals['updated']}, "
               f"skipped {totals['skipped']}, refused {totals['refused']}")
    if refused_path:
        click.echo(f"refused rows written to {refused_path}")
    if save_mapping:
        click.echo(f"mapping saved as {save_mapping}")


@click.command("import-commit")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("run_id", metavar="RUN_ID")
@click.option("--refused", "refused_path", metavar="FILE", help="Where to write the refused rows (a new file).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_install
def import_commit_command(install, tenant_slug, run_id, refused_path, as_json):
    """Commit the kept dry run RUN_ID of TENANT (`loom import --keep`) without its file:
    refused when the records changed so that its plan no longer holds."""
    service = install.session(tenant_slug).records
    _writable(refused_path)
    run = runs.get(service.storage, run_id)
    if run["status"] not in ("failed", "running"):  # a stopped run goes on where it stopped (its status
        run = kept.check_commit(service, run_id)      # stays running when the database went first)
    bar = _Bar()
    try:
        with settled():
            result = _written(service, run["id"], bar, as_json, f"loom import-commit {tenant_slug} {run['id']}")
    finally:
        bar.close()
    _report(result, refused_path, as_json)


def _written(service, run_id: int, bar, as_json: bool, again: str):
    """Run `run_id` written (`importer.resume`); when it stops — an error, the database gone,
    Ctrl-C — the operator is told which run it was and how to finish it (every chunk written
    stays written; the rest is written once)."""
    try:
        return importer.resume(service, run_id, None if as_json else bar)
    except BaseException:
        bar.close()
        if _started(service, run_id):
            click.echo(f"import run {run_id} stopped; finish it with: {again}", err=True)
        raise


def _again(tenant_slug: str, entity: str, path: str, resume: str) -> str:
    """The command line that finishes a stopped run, quoted as a shell takes it."""
    return " ".join(["loom import", shlex.quote(tenant_slug), shlex.quote(entity), shlex.quote(path), resume])


def _started(service, run_id: int) -> bool:
    """Whether run `run_id` began writing (a kept dry run refused before is not stopped)."""
    try:
        return runs.get(service.storage, run_id)["status"] in ("running", "failed")
    except Exception:  # the database itself is gone: it may have stopped part-way
        return True


@click.command("import-sweep")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--commit", is_flag=True, help="Remove the files (without it: the dry-run report).")
@pass_install
def import_sweep_command(install, tenant_slug, commit):
    """Remove the files of TENANT's import runs finished longer ago than it keeps them
    (import_files_keep_days); the scheduled tick does it every minute. The runs keep their
    summary."""
    storage = install.session(tenant_slug).storage
    done = import_retention.sweep(storage) if commit else import_retention.plan(storage)
    count = done["removed"] if commit else done["due"]
    listed = ", ".join(str(i) for i in done["runs"])
    verb = "removed the files of" if commit else "dry run: would remove the files of"
    click.echo(f"{verb} {count} import run(s) finished over {done['keep_days']} days ago"
               + (f": {listed}" if listed else ""))


@click.command("export")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("entity")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: by the file name.")
@click.option("--mapping", "mapping_given", metavar="NAME|FILE", help="Columns as this mapping names them.")
@pass_install
def export_command(install, tenant_slug, entity, path, fmt, mapping_given):
    """Write every ENTITY record of TENANT to FILE (CSV, XLSX or JSON Lines)."""
    service = install.session(tenant_slug).records
    _writable(path, "an export is", "FILE")
    data = export_file(service, entity, format_of(path, fmt), _mapping(mapping_given))
    _write(path, data)
    click.echo(f"exported {entity} to {path}")

