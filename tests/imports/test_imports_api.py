"""The import API, on SQLite and PostgreSQL: a small dry run answered at once, a real
run as a background job of kind "import" followed through `/jobs/{id}`, its run and its
refused-rows file; bad requests are refused with what is wrong and nothing is written."""
from __future__ import annotations

import io

import pytest

from tenants import Settings
from tests.conftest import crm_document, drop_prefixed_schemas, make_settings, token_for

BASE = "/api/v1/t/acme"
CSV = "姓名,邮箱,电话\n张伟,zw@x.org,138 0013 8001\n李,bad,1\n".encode("gb18030")


@pytest.fixture
def settings(backend, tmp_path):
    base = make_settings(backend, tmp_path)
    settings = Settings(data_dir=base.data_dir, database_url=base.database_url,
                        schema_prefix=base.schema_prefix, extra={"LOOM_JOBS_IMMEDIATE": "1"})
    yield settings
    if settings.database_url:
        drop_prefixed_schemas(settings.schema_prefix)


@pytest.fixture
def call(install, client):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    tokens = {role: token_for(install, "acme", f"{role}@acme.test", role) for role in ("admin", "member")}

    def call(method, path, who="admin", **kwargs):
        return client.open(BASE + path, method=method, headers={"Authorization": f"Bearer {tokens[who]}"},
                           **kwargs)
    return call


def upload(data=CSV, name="people.csv", **fields):
    return {"data": {"file": (io.BytesIO(data), name), **fields}, "content_type": "multipart/form-data"}


def test_a_dry_run_answers_at_once_and_a_real_run_is_a_job_with_its_refused_rows(call):
    dry = call("POST", "/imports/contact", **upload(key="email"))
    assert dry.status_code == 200, dry.get_json()
    body = dry.get_json()
    assert body["committed"] is False and body["totals"]["refused"] == 1
    assert [r["action"] for r in body["rows"]] == ["create", "refuse"]
    assert body["rows"][1]["problems"][0] == {"column": "邮箱", "field": "email", "code": "not_email",
                                              "message": "'bad' is not a valid e-mail address"}
    assert call("GET", "/records/contact").get_json()["items"] == []
    started = call("POST", "/imports/contact", **upload(key="email", commit="true", save_mapping="people"))
    assert started.status_code == 202, started.get_json()
    job = call("GET", f"/jobs/{started.get_json()['id']}").get_json()
    assert job["status"] == "done" and job["kind"] == "import" and job["done"] == job["total"] == 2
    assert job["result"]["totals"] == {"read": 2, "created": 1, "updated": 0, "skipped": 0, "refused": 1,
                                       "balanced": True}
    run_id = job["result"]["run_id"]
    run = call("GET", f"/imports/runs/{run_id}").get_json()
    assert run["status"] == "done" and run["filename"] == "people.csv"
    refused = call("GET", f"/imports/runs/{run_id}/refused")
    assert refused.status_code == 200 and refused.data.decode("utf-8-sig").splitlines()[1].startswith("李,bad,1,")
    assert call("GET", f"/imports/runs/{run_id}", who="member").status_code == 403
    again = call("POST", "/imports/contact", **upload(mapping="people", key="email"))
    assert again.get_json()["totals"]["skipped"] == 1


@pytest.mark.parametrize("request_kwargs, field", [
    (lambda: {"json": {"file": "x"}}, "file"),
    (lambda: upload(commit="maybe"), "commit"),
    (lambda: upload(key="nope"), "key"),
    (lambda: upload(mapping="{not json"), "mapping"),
    (lambda: upload(mapping="[1]"), "mapping"),
    (lambda: upload(mapping='{"a":' + "[" * 50_000), "mapping"),
    (lambda: upload(mapping='{"full_name": "full_name", "full_name": "email"}'), "mapping"),
    (lambda: upload(commit="true", save_mapping="bad name"), "save_mapping"),
    (lambda: upload(sheet="Sheet1"), "sheet"),
    (lambda: upload(chunk_size="lots"), "chunk_size"),
    (lambda: upload(b"", "empty.csv"), "file"),
    (lambda: upload(other="x"), "other"),
    (lambda: {"data": {"file": [(io.BytesIO(CSV), "a.csv"), (io.BytesIO(CSV), "b.csv")]},
              "content_type": "multipart/form-data"}, "file"),
    (lambda: upload(commit=["false", "true"]), "commit"),
    (lambda: upload(key=["email", "full_name"]), "key"),
])
def test_a_bad_import_request_is_refused_with_what_is_wrong(call, request_kwargs, field):
    answer = call("POST", "/imports/contact", **request_kwargs())
    assert answer.status_code == 400, answer.get_json()
    assert field in [d["field"] for d in answer.get_json()["error"]["details"]]
    assert call("GET", "/jobs").get_json()["items"] == []


def test_a_member_without_the_import_right_and_a_missing_entity_are_refused(call):
    assert call("POST", "/imports/nope", **upload()).status_code == 404
    assert call("GET", "/imports/runs/99").status_code == 404


def test_json_lines_the_reader_refuses_or_rows_it_refuses_are_answered_never_a_500(call):
    rows = '{"full_name": "Good"}\n{"full_name": "S\\ud800x"}\n{"full_name": {"a": 1}}\n'.encode()
    dry = call("POST", "/imports/contact", **upload(rows, "people.jsonl"))
    assert dry.status_code == 200, dry.get_json()
    assert [r["action"] for r in dry.get_json()["rows"]] == ["create", "refuse", "refuse"]
    started = call("POST", "/imports/contact", **upload(rows, "people.jsonl", commit="true"))
    job = call("GET", f"/jobs/{started.get_json()['id']}").get_json()
    assert job["status"] == "done" and job["result"]["totals"]["refused"] == 2, job
    refused = call("GET", f"/imports/runs/{job['result']['run_id']}/refused")
    assert refused.status_code == 200 and b'"S\\ud800x"' in refused.data  # escaped, as the file had it
    deep = call("POST", "/imports/contact", **upload(b'{"full_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                                     "deep.jsonl"))
    assert deep.status_code == 400 and "nested too deeply" in deep.get_json()["error"]["message"]
