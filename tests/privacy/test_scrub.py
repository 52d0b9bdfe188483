"""The rewriting an erasure applies to Loom's JSON and text columns, for any JSON: no
erased value survives, under an erased field's name nothing survives, and what held no
erased value is unchanged."""
from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from engine.privacy.scrub import ERASED, pseudonym, replace_json, replace_text, _replace_keyed

SECRETS = ["huang@customer.example", "+86 138 0000 2000", "黄晓明"]
leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                 st.sampled_from(SECRETS), st.builds(lambda a, s, b: a + s + b, st.text(max_size=5),
                                                     st.sampled_from(SECRETS), st.text(max_size=5)))
documents = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["email", "name", "city", "record", "changes"]),
                                                 inner, max_size=4)), max_leaves=20)


def _clean(text: str) -> str:
    return text.replace(ERASED, "")


@settings(max_examples=200, deadline=None)
@given(documents)
def test_no_erased_value_survives_in_any_json(document):
    out = json.dumps(replace_json(document, set(SECRETS)), ensure_ascii=False)
    assert not any(s in _clean(out) for s in SECRETS)


@settings(max_examples=200, deadline=None)
@given(documents)
def test_everything_under_an_erased_field_is_blanked_and_the_rest_kept(document):
    out = replace_json({"email": document, "city": "Shanghai"}, set(), keys=frozenset({"email"}))
    assert out["city"] == "Shanghai"
    flat = json.dumps(out["email"], ensure_ascii=False)
    assert not any(s in flat for s in SECRETS)
    if not any(s in json.dumps(document, ensure_ascii=False) for s in SECRETS):
        assert replace_json(document, set(SECRETS)) == document


@given(st.text(max_size=30))
def test_text_and_keys(text):
    assert SECRETS[0] not in _clean(replace_text(text + SECRETS[0].upper().lower(), set(SECRETS)))
    key = f"evt-1|notify:email:{SECRETS[0]}"
    assert _replace_keyed(key, {SECRETS[0]}) == f"evt-1|notify:email:{pseudonym(SECRETS[0])}"
