"""docs/privacy.md's examples, run as written: its metadata documents are valid (or
invalid at the paths it says), and its requests answer as documented, in order, against
a tenant with its document applied."""
from __future__ import annotations

import json

import pytest

from metadata import check_package
from tests.conftest import token_for
from tests.test_docs import blocks, run_http_examples


@pytest.mark.parametrize("args,body", blocks("privacy.md", "doc-example", "json"))
def test_privacy_metadata_examples(args, body):
    verdict, *paths = args.split()
    problems = check_package(json.loads(body))
    if verdict == "valid":
        assert problems == []
    else:
        assert sorted({p.path for p in problems}) == sorted(paths)


def test_privacy_requests_run_in_order(install, client):
    install.registry.create("acme")
    [(_, document)] = [b for b in blocks("privacy.md", "doc-example", "json") if b[0] == "valid"]
    install.session("acme").apply_metadata(json.loads(document))
    token = token_for(install, "acme", "admin@acme.example", "admin")
    examples = blocks("privacy.md", "http", "http")
    assert len(examples) >= 10
    answers = list(run_http_examples(client, token, examples))
    erased = next(a.get_json() for a in answers if a.is_json and "erased" in (a.get_json() or {}))
    kept = {r["entity"]: r for r in erased["records"]}
    assert kept["invoice"]["kept_for"]["en"].startswith("Accounting law") and kept["consent"]["kept_as_evidence"]
    record = install.session("acme").records.get("party", 1)
    assert record["name"] == "erased-party-1" and record["email"] is None and record["city"] == "Shanghai"
