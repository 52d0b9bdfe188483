"""JSON as Loom writes it (API responses, exports, refused-rows files): Chinese text as it
is; a value holding an unpaired surrogate (stored before writes refused it, or by a plugin)
still written whole, escaped: never a 500 nor a file cut short."""
from __future__ import annotations

import json

from hypothesis import given, strategies as st

from engine.api.json_provider import JsonText
from engine.app import create_app
from engine.imports.report import _jsonl_line
from engine.records.export import as_csv, as_jsonl


def test_a_response_holding_a_lone_surrogate_is_sent_escaped_and_reads_back_as_the_same_value(install):
    app = create_app(install, {"TESTING": True})

    @app.get("/echo")
    def echo():
        return {"name": "张伟", "reason": "a\ud800b"}

    answer = app.test_client().get("/echo")
    assert answer.status_code == 200 and b"\\ud800" in answer.data
    assert json.loads(answer.data) == {"name": "张伟", "reason": "a\ud800b"}


TEXT = st.text(alphabet=st.characters(categories=["Cs", "L", "Nd", "Zs"]), max_size=6)  # Cs: lone surrogates


@given(st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=10))
def test_every_value_is_written_as_json_that_reads_back_as_it_and_carries_in_utf8(value):
    from flask import Flask
    text = JsonText(Flask("t")).dumps(value)
    assert json.loads(text) == value
    text.encode("utf-8")  # a lone surrogate would fail here: the response could not be sent
    usual = json.dumps(value, ensure_ascii=False)
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in usual):
        assert text == usual  # the usual text, unescaped


def test_an_export_and_a_refused_rows_file_holding_a_lone_surrogate_are_written_whole():
    records = [{"id": 1, "notes": {"k": "a\ud800b"}}, {"id": 2, "notes": {"k": "张伟"}}]
    lines = b"".join(part.encode("utf-8") for part in as_jsonl(records)).decode().splitlines()
    assert [json.loads(line) for line in lines] == records and "张伟" in lines[1]  # unescaped where it can be
    csv_text = "".join(as_csv(records, ["id", "notes"]))
    csv_text.encode("utf-8")
    assert '"{""k"":""a\\ud800b""}"' in csv_text
    assert json.loads(_jsonl_line({"name": "a\ud800"})) == {"name": "a\ud800"}
