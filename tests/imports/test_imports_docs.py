"""The import examples of docs/cli.md and docs/api.md, run as written (SQLite): the CLI
lines in order in a folder holding the documented file, the first one's output as
documented; the API's curl forms and requests in order."""
from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from tenants import Settings
from tests.conftest import token_for
from tests.test_docs import blocks, run_http_examples

PARTY = json.loads((Path(__file__).parents[2] / "plugins/crm_core/entities/party.json").read_text("utf-8"))


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path, extra={"LOOM_JOBS_IMMEDIATE": "1"})


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata({"entities": [PARTY]})
    return install.session("acme")


def documented_file(name: str) -> bytes:
    [(args, body)] = [b for b in blocks(name, "import-file", "text")]
    return args, body.encode("utf-8")


def test_the_cli_examples_run_as_written(install, acme, tmp_path, monkeypatch):
    filename, data = documented_file("cli.md")
    (tmp_path / filename).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    [(_, commands)] = blocks("cli.md", "import-cli", "bash")
    [(_, printed)] = blocks("cli.md", "import-cli-output", "text")
    outputs = []
    for line in commands.strip().splitlines():
        result = CliRunner().invoke(cli, shlex.split(line)[1:], obj=install)
        assert result.exit_code == 0, (line, result.output)
        outputs.append(result.output)
    assert outputs[0] == printed
    assert (tmp_path / "people.refused.csv").exists()
    assert "skipped 2" in outputs[-1]


def test_the_api_examples_run_as_written(install, acme, client):
    filename, data = documented_file("cli.md")
    token = token_for(install, "acme", "admin@acme.example", "admin")
    for status, block in blocks("api.md", "import-curl", "bash"):
        fields = dict(f.split("=", 1) for f in re.findall(r"-F (\S+)", block))
        path = "/api/v1" + block.split("/api/v1", 1)[1].split()[0]
        assert fields.pop("file") == "@" + filename
        answer = client.post(path, data={"file": (io.BytesIO(data), filename), **fields},
                             headers={"Authorization": f"Bearer {token}"}, content_type="multipart/form-data")
        assert answer.status_code == int(status), answer.get_json()
    newest = client.get("/api/v1/t/acme/jobs", headers={"Authorization": f"Bearer {token}"}).get_json()["items"][0]
    job = client.get(f"/api/v1/t/acme/jobs/{newest['id']}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert job["result"]["totals"] == {"read": 3, "created": 2, "updated": 0, "skipped": 0, "refused": 1,
                                       "balanced": True}
    [refused] = list(run_http_examples(client, token, blocks("api.md", "import-http", "http")))
    assert "王芳" in refused.data.decode("utf-8-sig")
