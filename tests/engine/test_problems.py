"""One problem type: a bad metadata document gives the same problems — JSON path, code and
message — from the validator (`load_package`), the CLI (`loom metadata validate`, on
stderr) and the API (`PUT /metadata`, in the error's details)."""
from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.errors import ValidationFailed
from metadata.errors import MetadataInvalid, Problem
from metadata.validation import load_package
from tests.conftest import token_for

BAD = json.loads((Path(__file__).resolve().parents[2] / "examples/quickstart/invalid.json").read_text())
CLI_LINE = re.compile(r"^  (\S+): (.*) \[([a-z_]+)\]$")


def validator_problems() -> list[tuple]:
    with pytest.raises(MetadataInvalid) as refused:
        load_package(BAD)
    return [(p.path, p.code, p.message) for p in refused.value.problems]


def test_a_bad_document_gives_the_same_problems_in_the_validator_the_cli_and_the_api(
        install, acme, client, tmp_path):
    expected = validator_problems()
    assert {path for path, _, _ in expected} >= {"/entities/0/fields/0/type", "/entities/0/fields/1/to"}

    bad_file = tmp_path / "invalid.json"
    bad_file.write_text(json.dumps(BAD))
    ran = CliRunner().invoke(cli, ["metadata", "validate", str(bad_file)], obj=install)
    assert ran.exit_code == 1
    printed = [CLI_LINE.match(line).groups() for line in ran.stderr.splitlines() if CLI_LINE.match(line)]
    assert [(path if path != "/" else "", code, message) for path, message, code in printed] == expected

    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    answer = client.put("/api/v1/t/acme/metadata", json=BAD, headers=admin)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_metadata"
    assert [(d["field"], d["code"], d["message"]) for d in error["details"]] == expected


def test_a_document_file_naming_a_key_twice_is_refused_by_the_cli_and_nothing_is_applied(install, acme, tmp_path):
    before = acme.metadata().version
    twice = tmp_path / "twice.json"
    twice.write_text('{"entities": [{"name": "lead", "fields": [{"name": "a", "type": "string"}],'
                     ' "fields": [{"name": "b", "type": "string"}]}]}', encoding="utf-8")
    for args in (["metadata", "validate", str(twice)], ["metadata", "apply", "acme", str(twice)]):
        ran = CliRunner().invoke(cli, args, obj=install)
        assert ran.exit_code == 1 and "Traceback" not in ran.output
        assert f"{twice} names the key 'fields' twice in one object: which value is meant?" in ran.stderr
    assert acme.metadata().version == before and acme.metadata().entity("lead") is None


def test_an_error_holds_problems_and_details_without_a_code_take_the_errors():
    refused = ValidationFailed("invalid contact record", details=[
        {"field": "email", "message": "not an e-mail address"}, ("tier", "not a tier"),
        Problem("/entities/0", "unknown_type", "no such type", {"count": 2})])
    assert refused.problems == [Problem("email", "validation_failed", "not an e-mail address"),
                                Problem("tier", "validation_failed", "not a tier"),
                                Problem("/entities/0", "unknown_type", "no such type")]
    assert refused.to_dict()["error"]["details"][2] == {
        "field": "/entities/0", "code": "unknown_type", "message": "no such type", "count": 2}
    assert str(refused).splitlines()[1] == "  email: not an e-mail address [validation_failed]"


def test_a_problem_is_read_only_and_pickles_with_its_details():
    problem = Problem("/a", "bad", "is bad", {"count": 1})
    with pytest.raises(TypeError):
        problem.details["count"] = 2
    again = pickle.loads(pickle.dumps(MetadataInvalid([problem]))).problems[0]
    assert (again, dict(again.details)) == (problem, {"count": 1})
