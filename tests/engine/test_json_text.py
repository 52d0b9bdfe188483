"""The API's JSON: Chinese text as it is; a value holding an unpaired surrogate (stored
before writes refused it, or by a plugin) still answers, escaped, never a 500."""
from __future__ import annotations

import json

from hypothesis import given, strategies as st

from engine.api.json_text import JsonText
from engine.app import create_app


def test_a_response_holding_a_lone_surrogate_is_sent_escaped_and_reads_back_as_the_same_value(install):
    app = create_app(install, {"TESTING": True})

    @app.get("/echo")
    def echo():
        return {"name": "张伟", "reason": "a\ud800b"}

    answer = app.test_client().get("/echo")
    assert answer.status_code == 200 and b"\\ud800" in answer.data
    assert json.loads(answer.data) == {"name": "张伟", "reason": "a\ud800b"}


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=10))
def test_every_value_is_written_as_json_that_reads_back_as_it_and_carries_in_utf8(value):
    from flask import Flask
    text = JsonText(Flask("t")).dumps(value)
    assert json.loads(text) == value
    text.encode("utf-8")  # a surrogate would fail here: the response could not be sent
    usual = json.dumps(value, ensure_ascii=False)
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in usual):
        assert text == usual  # the usual text, unescaped
