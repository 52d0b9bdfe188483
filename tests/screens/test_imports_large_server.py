"""The import screen with a file over the in-request limit (`LOOM_IMPORT_IN_REQUEST_KB`,
1 KB here), on both backends: its dry run and the check of its plan at commit are run
by the "import" job, not inside the request — the progress page polls it, then shows the
report (or the refusal) — and a file under the limit is still planned at once."""
from __future__ import annotations

import io
import re

import pytest

from engine import background
from engine.app import create_app
from engine.imports import runs
from tenants import Settings
from tests.conftest import crm_document, drop_prefixed_schemas, make_settings
from tests.screens.conftest import ScreenClient, with_passwords

BOSS = "boss@acme.example"
LARGE = ("姓名,邮箱\n" + "".join(f"人{n},person{n}@x.org\n" for n in range(60)) + "坏,bad\n").encode()


@pytest.fixture
def settings(backend, tmp_path):
    base = make_settings(backend, tmp_path)
    yield Settings(data_dir=base.data_dir, database_url=base.database_url, schema_prefix=base.schema_prefix,
                   extra={"LOOM_IMPORT_IN_REQUEST_KB": "1"})
    if base.database_url:
        drop_prefixed_schemas(base.schema_prefix)


@pytest.fixture
def boss(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    with_passwords(install, "acme", {BOSS: "admin"})
    return ScreenClient(create_app(install, {"TESTING": True}), "acme", BOSS)


def upload(boss, data) -> int:
    sent = boss.post("/e/contact/import", data={"file": (io.BytesIO(data), "people.csv")},
                     content_type="multipart/form-data")
    assert sent.status_code == 302, sent.text
    return int(sent.headers["Location"].rstrip("/").split("/")[-1])


def job_of(answer) -> int:
    assert answer.status_code == 302, answer.text
    return int(answer.headers["Location"].split("job=")[1])


PLAN = {"column-0": "full_name", "column-1": "email", "key": "email"}


def test_a_large_file_s_dry_run_and_commit_check_run_as_jobs_with_their_progress(boss, install):
    assert len(LARGE) > 1024
    run_id = upload(boss, LARGE)
    job_id = job_of(boss.post(f"/e/contact/import/{run_id}/plan", data=PLAN))
    waiting = boss.get(f"/e/contact/import/{run_id}?job={job_id}").text
    assert 'role="progressbar"' in waiting and 'aria-label="Rows planned"' in waiting
    assert "Nothing is written yet." in waiting and 'hx-trigger="every 1s"' in waiting
    assert runs.get(install.session("acme").storage, run_id)["totals"] is None  # nothing planned yet
    background.execute(install.session("acme"), job_id)  # the worker
    polled = boss.hx("GET", f"/e/contact/import/{run_id}/progress?job={job_id}")
    assert polled.headers["HX-Redirect"] == f"/t/acme/e/contact/import/{run_id}?job={job_id}"
    report = boss.get(f"/e/contact/import/{run_id}?job={job_id}").text
    assert "Dry run: nothing written yet" in report and re.search(r"<dt>To create</dt><dd>60</dd>", report)
    assert "Column 邮箱: &#39;bad&#39; is not a valid e-mail" in report
    revisited = boss.get(f"/e/contact/import/{run_id}").text  # without its job: the totals, not planned again
    assert re.search(r"<dt>To create</dt><dd>60</dd>", revisited) and "are listed when it has run" in revisited

    install.session("acme").records.create("contact", {"full_name": "早", "email": "person0@x.org"})
    refused = job_of(boss.post(f"/e/contact/import/{run_id}/commit"))
    assert 'aria-label="Rows planned"' in boss.get(f"/e/contact/import/{run_id}?job={refused}").text
    background.execute(install.session("acme"), refused)
    page = boss.get(f"/e/contact/import/{run_id}?job={refused}").text
    assert 'role="alert"' in page and "no longer holds" in page
    assert runs.get(install.session("acme").storage, run_id)["status"] == "planned"
    assert len(install.session("acme").records.list("contact")["items"]) == 1

    again = job_of(boss.post(f"/e/contact/import/{run_id}/plan", data=PLAN))
    background.execute(install.session("acme"), again)
    committed = job_of(boss.post(f"/e/contact/import/{run_id}/commit"))
    background.execute(install.session("acme"), committed)
    done = boss.hx("GET", f"/e/contact/import/{run_id}/progress?job={committed}").text
    assert "Every row is accounted for." in done and re.search(r"<dt>Created</dt><dd>59</dd>", done)
    assert re.search(r"<dt>Updated</dt><dd>1</dd>", done) and re.search(r"<dt>Refused</dt><dd>1</dd>", done)
    assert len(install.session("acme").records.list("contact", [("limit", "100")])["items"]) == 60


def test_a_small_file_is_still_planned_inside_the_request(boss):
    run_id = upload(boss, "姓名,邮箱\n张伟,zw@x.org\n".encode())
    planned = boss.post(f"/e/contact/import/{run_id}/plan", data=PLAN)
    assert planned.status_code == 200 and "Dry run: nothing written yet" in planned.text
    assert boss.post(f"/e/contact/import/{run_id}/commit").status_code == 302


OTHER = {"column-0": "full_name", "column-1": "-"}  # the e-mails left out, no key: every row a new contact


def test_an_older_dry_run_s_job_is_not_shown_as_the_run_s_plan(boss, install):
    """Planned with one mapping (job A), then another (job B): going back to A's page
    shows the run's plan (B's), never A's rows under B's "Import these rows"."""
    run_id = upload(boss, LARGE)
    first = job_of(boss.post(f"/e/contact/import/{run_id}/plan", data=PLAN))
    background.execute(install.session("acme"), first)
    second = job_of(boss.post(f"/e/contact/import/{run_id}/plan", data=OTHER))
    background.execute(install.session("acme"), second)
    shown = boss.get(f"/e/contact/import/{run_id}?job={second}").text
    assert re.search(r"<dt>To create</dt><dd>61</dd>", shown) and "is not a valid e-mail" not in shown
    back = boss.get(f"/e/contact/import/{run_id}?job={first}").text
    assert "is not a valid e-mail" not in back and "<dt>To create</dt><dd>60</dd>" not in back
    assert re.search(r"<dt>To create</dt><dd>61</dd>", back)  # the run's own plan, as it stands
    assert selects_email(back) == "-"


def test_the_older_mapping_s_job_running_last_plans_the_run_as_it_is_now(boss, install):
    """Job A (queued with the first mapping) runs after job B: it plans the run's options
    as they are then (B's), says so, and the commit writes B's rows."""
    session = install.session("acme")
    run_id = upload(boss, LARGE)
    first = job_of(boss.post(f"/e/contact/import/{run_id}/plan", data=PLAN))
    second = job_of(boss.post(f"/e/contact/import/{run_id}/plan", data=OTHER))
    background.execute(session, second)
    background.execute(session, first)
    assert runs.get(session.storage, run_id)["totals"]["created"] == 61
    assert re.search(r"<dt>To create</dt><dd>61</dd>", boss.get(f"/e/contact/import/{run_id}?job={first}").text)
    committed = job_of(boss.post(f"/e/contact/import/{run_id}/commit"))
    background.execute(session, committed)
    done = boss.hx("GET", f"/e/contact/import/{run_id}/progress?job={committed}").text
    assert "Every row is accounted for." in done and re.search(r"<dt>Created</dt><dd>61</dd>", done)
    items = session.records.list("contact", [("limit", "100")])["items"]
    assert len(items) == 61 and all(item["email"] is None for item in items)


def selects_email(page: str) -> str:
    """The field the mapping form has chosen for the e-mail column."""
    select = re.search(r'<select id="column-1" name="column-1">(.*?)</select>', page, re.S).group(1)
    return re.search(r'<option value="([^"]*)" selected', select).group(1)
