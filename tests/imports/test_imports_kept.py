"""Issue 12/13 imports, on SQLite and PostgreSQL: a kept dry run committed later without
uploading again (a 409 when its plan no longer holds), the one upload limit (a 413 JSON
problem), runs owned by user id (revision 0020 migrates the e-mail owners) and the
retention of finished runs' files by the scheduled tick."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from engine.imports import importer, kept, retention
from engine.imports import runs as kept_runs
from engine.install import Install
from engine.plugins import Plugins
from engine.systables import loom_table
from tenants import Settings, migrations
from tests.conftest import crm_document, drop_prefixed_schemas, make_settings, token_for

BASE = "/api/v1/t/acme"
CSV = "姓名,邮箱,电话\n张伟,zw@x.org,138 0013 8001\n李,bad,1\n".encode()


@pytest.fixture
def settings(backend, tmp_path):
    base = make_settings(backend, tmp_path)
    settings = Settings(data_dir=base.data_dir, database_url=base.database_url, schema_prefix=base.schema_prefix,
                        max_upload_mb=1, extra={"LOOM_JOBS_IMMEDIATE": "1"})
    yield settings
    if settings.database_url:
        drop_prefixed_schemas(settings.schema_prefix)


@pytest.fixture
def call(install, client):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    tokens = {who: token_for(install, "acme", f"{who}@acme.test", role)
              for who, role in (("admin", "admin"), ("other", "admin"), ("member", "member"))}

    def call(method, path, who="admin", **kwargs):
        return client.open(BASE + path, method=method, headers={"Authorization": f"Bearer {tokens[who]}"},
                           **kwargs)
    return call


def upload(data=CSV, name="people.csv", **fields):
    return {"data": {"file": (io.BytesIO(data), name), **fields}, "content_type": "multipart/form-data"}


def contacts(call):
    return call("GET", "/records/contact").get_json()["items"]


def test_a_kept_dry_run_is_committed_later_without_the_file_and_only_once(call):
    dry = call("POST", "/imports/contact", **upload(key="email", keep="true"))
    assert dry.status_code == 200, dry.get_json()
    run_id = dry.get_json()["run_id"]
    assert dry.get_json()["totals"]["created"] == 1 and contacts(call) == []
    assert call("GET", f"/imports/runs/{run_id}").get_json()["status"] == "planned"
    started = call("POST", f"/imports/runs/{run_id}/commit")
    assert started.status_code == 202, started.get_json()
    job = call("GET", f"/jobs/{started.get_json()['id']}").get_json()
    assert job["status"] == "done" and job["result"]["totals"]["created"] == 1
    assert [c["email"] for c in contacts(call)] == ["zw@x.org"]
    again = call("POST", f"/imports/runs/{run_id}/commit")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "import_run_not_planned"
    finished = call("GET", f"/imports/runs/{run_id}").get_json()
    as_job = call("POST", "/jobs", json={"kind": "import", "params": {"run_id": run_id, "commit": True}})
    assert as_job.status_code == 409 and as_job.get_json()["error"]["code"] == "import_run_done"
    assert call("GET", f"/imports/runs/{run_id}").get_json() == finished  # its finish is as it was
    assert len(contacts(call)) == 1


def test_a_kept_dry_run_is_not_committed_through_the_jobs_api_past_its_plan_check(call):
    """POST …/jobs {"kind": "import", commit: true} on a kept (planned) run is refused: only
    …/imports/runs/{id}/commit commits it, after checking its plan still holds."""
    run_id = call("POST", "/imports/contact", **upload(key="email", keep="true")).get_json()["run_id"]
    call("POST", "/records/contact", json={"full_name": "Other", "email": "zw@x.org"})
    refused = call("POST", "/jobs", json={"kind": "import", "params": {"run_id": run_id, "commit": True}})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "import_run_not_started"
    assert [c["full_name"] for c in contacts(call)] == ["Other"]
    assert call("GET", f"/imports/runs/{run_id}").get_json()["status"] == "planned"


def test_a_kept_run_changed_after_its_plan_was_read_is_not_started(install, call):
    """The start compares the run's options and dry-run plan with the ones checked: a new
    mapping saved in between (its dry run forgotten) leaves the run planned."""
    from engine.imports import runs
    run_id = call("POST", "/imports/contact", **upload(key="email", keep="true")).get_json()["run_id"]
    storage = install.session("acme").storage
    checked = runs.get(storage, run_id)
    assert runs.set_options(storage, run_id, {**checked["options"], "on_duplicate": "skip"})
    assert runs.start(storage, run_id, checked) is False
    assert runs.get(storage, run_id)["status"] == "planned"
    assert runs.start(storage, run_id, runs.get(storage, run_id)) is True  # as it is now: started


def test_a_dry_run_whose_run_changed_while_it_ran_keeps_no_plan(install, call):
    """The mapping changes while a dry run plans the old one: its plan is dropped (the run
    keeps no plan, so its commit asks for a dry run), never stored under the new options;
    the dry run of the run as it is now is kept and committed."""
    run_id = call("POST", "/imports/contact", **upload(key="email", keep="true")).get_json()["run_id"]
    session = install.session("acme")
    storage = session.storage
    other = {**kept_runs.get(storage, run_id)["options"], "on_duplicate": "skip"}

    class ChangedMeanwhile:
        def total(self, count):
            pass

        def advance(self, count):
            assert kept_runs.set_options(storage, run_id, other)

    importer.dry_run_of(session.records, run_id, progress=ChangedMeanwhile())
    assert kept_runs.get(storage, run_id)["totals"] is None
    refused = call("POST", f"/imports/runs/{run_id}/commit")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "import_not_dry_run"
    result = importer.dry_run_of(session.records, run_id)
    assert kept.plan_options(result.options) == kept.plan_options(other)
    assert kept_runs.get(storage, run_id)["totals"]["plan"]
    assert call("POST", f"/imports/runs/{run_id}/commit").status_code == 202
    assert [c["full_name"] for c in contacts(call)] == ["张伟"]


def test_a_kept_dry_run_whose_plan_no_longer_holds_is_refused_and_writes_nothing(call):
    run_id = call("POST", "/imports/contact", **upload(key="email", keep="true")).get_json()["run_id"]
    made = call("POST", "/records/contact", json={"full_name": "张伟", "email": "zw@x.org"})
    assert made.status_code == 201, made.get_json()
    refused = call("POST", f"/imports/runs/{run_id}/commit")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "import_plan_changed"
    assert "updated 1" in refused.get_json()["error"]["details"][0]["message"]
    assert len(contacts(call)) == 1 and call("GET", f"/imports/runs/{run_id}").get_json()["status"] == "planned"
    # the dry run again (the job of the kept run), then the commit holds
    planned = call("POST", "/jobs", json={"kind": "import", "params": {"run_id": run_id, "commit": False}})
    assert planned.status_code == 202, planned.get_json()
    assert call("POST", f"/imports/runs/{run_id}/commit").status_code == 202
    assert len(contacts(call)) == 1


def test_a_run_belongs_to_its_creator_by_id_not_by_email(call, install):
    run_id = call("POST", "/imports/contact", **upload(keep="true")).get_json()["run_id"]
    storage = install.session("acme").storage
    runs = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:  # the e-mail another user's: the owner is still who made it
        conn.execute(runs.update().values(created_by="member@acme.test"))
    assert call("GET", f"/imports/runs/{run_id}", who="member").status_code == 403
    assert call("POST", f"/imports/runs/{run_id}/commit", who="member").status_code == 403
    assert call("GET", f"/imports/runs/{run_id}").status_code == 200


def test_an_upload_over_the_one_limit_is_a_413_problem_and_keeps_nothing(call):
    big = b"name\n" + b"x" * (1024 * 1024 + 10) + b"\n"
    answer = call("POST", "/imports/contact", **upload(big, keep="true"))
    assert answer.status_code == 413
    error = answer.get_json()["error"]
    assert error["code"] == "too_large" and "1 MB" in error["message"] and "LOOM_MAX_UPLOAD_MB" in error["message"]
    assert call("GET", "/jobs").get_json()["items"] == []


def test_the_upload_limit_is_one_setting_read_from_the_environment():
    assert Settings.from_env({}).max_upload_mb == 64
    assert Settings.from_env({"LOOM_MAX_UPLOAD_MB": "200"}).max_upload_bytes == 200 * 1024 * 1024
    with pytest.raises(ValueError, match="LOOM_MAX_UPLOAD_MB"):
        Settings.from_env({"LOOM_MAX_UPLOAD_MB": "lots"})
    with pytest.raises(ValueError, match="LOOM_MAX_UPLOAD_MB"):
        Settings(max_upload_mb=0)


def _later(days):
    return datetime.now(timezone.utc) + timedelta(days=days)


def test_retention_removes_finished_runs_files_and_the_refused_rows_then_say_so(call, install):
    started = call("POST", "/imports/contact", **upload(key="email", commit="true")).get_json()
    done_id = call("GET", f"/jobs/{started['id']}").get_json()["result"]["run_id"]
    kept_id = call("POST", "/imports/contact", **upload(keep="true")).get_json()["run_id"]
    storage = install.session("acme").storage
    assert retention.keep_days(storage) == 30
    assert retention.plan(storage, _later(29))["due"] == 0
    report = retention.plan(storage, _later(31))
    assert report == {"keep_days": 30, "due": 2, "runs": [done_id, kept_id]}
    assert call("GET", f"/imports/runs/{done_id}/refused").status_code == 200  # the report removed nothing
    assert retention.sweep(storage, _later(31))["removed"] == 2
    run = call("GET", f"/imports/runs/{done_id}").get_json()
    assert run["file_kept"] is False and run["file_removed_at"] and run["totals"]["created"] == 1
    gone = call("GET", f"/imports/runs/{done_id}/refused")
    assert gone.status_code == 409 and gone.get_json()["error"]["code"] == "import_file_expired"
    assert "retention" in gone.get_json()["error"]["message"]
    assert call("POST", f"/imports/runs/{kept_id}/commit").status_code == 409
    assert retention.sweep(storage, _later(400))["removed"] == 0


def test_the_tenant_sets_the_period_and_a_running_run_keeps_its_file(call, install):
    storage = install.session("acme").storage
    for bad in ("0", "lots", "-3", "9999"):
        with pytest.raises(Exception) as refused:
            retention.set_keep_days(storage, bad)
        assert getattr(refused.value, "code", None) == "bad_setting"
    assert retention.set_keep_days(storage, "2") == 2
    run_id = call("POST", "/imports/contact", **upload(keep="true")).get_json()["run_id"]
    runs = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        conn.execute(runs.update().values(status="running"))
    assert retention.sweep(storage, _later(3))["removed"] == 0
    with storage.begin() as conn:
        conn.execute(runs.update().values(status="planned"))
    assert retention.sweep(storage, _later(3)) == {"keep_days": 2, "removed": 1, "runs": [run_id]}


def test_the_tick_sweeps_the_import_files(call, install, monkeypatch):
    from workflows.runtime import runtime_of

    call("POST", "/imports/contact", **upload(keep="true"))
    storage = install.session("acme").storage
    runs = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        conn.execute(runs.update().values(created_at=_later(-40)))
    summary = runtime_of(install).jobs.tick()
    assert summary["acme"]["import_files"] == 1


def _back_to(storage, revision):
    with storage.migration() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrations.HERE / "tenant"))
        config.attributes["connection"] = conn
        config.attributes["schema"] = storage.schema
        command.downgrade(config, revision)


def test_revision_0020_gives_existing_runs_their_creator_by_id(settings):
    old = Install(settings, Plugins(load_entry_points=False))
    old.registry.create("acme", "Acme")
    session = old.session("acme")
    token_for(old, "acme", "Maker@acme.test", "member")
    storage = session.storage
    _back_to(storage, "0018")
    old_runs = sa.table("loom_import_runs", *(sa.column(c) for c in ("entity", "filename", "options", "status",
                                                                      "created_by", "created_at")),
                        sa.column("source", sa.LargeBinary), schema=storage.schema)
    with storage.begin() as conn:
        for who in ("maker@acme.test", "gone@acme.test"):
            conn.execute(old_runs.insert().values(entity="contact", filename="a.csv", source=b"x", options="{}",
                                                  status="done", created_by=who, created_at=datetime.now(timezone.utc)))
    old.dispose()
    new = Install(settings, Plugins(load_entry_points=False))
    storage = new.session("acme").storage
    runs = loom_table(storage.schema, "loom_import_runs")
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        maker = conn.execute(select(users.c.id).where(users.c.email == "maker@acme.test")).scalar()
        owners = conn.execute(select(runs.c.created_by, runs.c.created_by_id).order_by(runs.c.id)).all()
    assert [tuple(o) for o in owners] == [("maker@acme.test", maker), ("gone@acme.test", None)]
    new.dispose()


def cli_run(install, *args):
    from click.testing import CliRunner

    from engine.cli import cli
    return CliRunner().invoke(cli, list(args), obj=install)


def test_the_cli_keeps_a_dry_run_commits_it_later_sweeps_and_refuses_a_big_file(call, install, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(CSV)
    kept = cli_run(install, "import", "acme", "contact", str(path), "--key", "email", "--keep")
    assert kept.exit_code == 0, kept.output
    run_id = int(kept.output.split("kept as run ")[1].split(":")[0])
    assert f"loom import-commit TENANT {run_id}" in kept.output and contacts(call) == []
    refused = tmp_path / "refused.csv"
    done = cli_run(install, "import-commit", "acme", str(run_id), "--refused", str(refused))
    assert done.exit_code == 0, done.output
    assert f"imported (run {run_id})" in done.output and refused.exists() and len(contacts(call)) == 1
    again = cli_run(install, "import-commit", "acme", str(run_id))
    assert again.exit_code == 1 and "not a kept dry run" in again.output
    assert cli_run(install, "tenant", "set", "acme", "import_files_keep_days", "0").exit_code == 1
    assert cli_run(install, "tenant", "set", "acme", "import_files_keep_days", "7").exit_code == 0
    assert retention.keep_days(install.session("acme").storage) == 7
    report = cli_run(install, "import-sweep", "acme")
    assert report.exit_code == 0 and "dry run: would remove the files of 0 import run(s)" in report.output
    big = tmp_path / "big.csv"
    big.write_bytes(b"name\n" + b"x" * (1024 * 1024 + 1))
    too_big = cli_run(install, "import", "acme", "contact", str(big))
    assert too_big.exit_code == 1 and "larger than the upload limit of 1 MB" in too_big.output
