"""metadata.jsoncopy: the JSON copy the layers, models and drafts use instead of
copy.deepcopy — equal to deepcopy's result and sharing nothing mutable with the original —
and the JSON key checks keep their results under (None for what JSON would change)."""
from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from metadata.jsoncopy import json_copy, json_key

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=30)


def containers(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from containers(item)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from containers(item)


@given(JSON)
def test_a_copy_equals_deepcopy_and_shares_no_container(value):
    copied = json_copy(value)
    assert copied == copy.deepcopy(value)
    originals = {id(c) for c in containers(value)}
    assert not originals & {id(c) for c in containers(copied)}


def test_other_values_are_copied_as_deepcopy_copies_them():
    shared = [1, 2]
    value = {"default": Decimal("1.50"), "on": date(2026, 12, 6), "pair": (1, shared), "twice": [shared, shared]}
    copied = json_copy(value)
    assert copied == value
    copied["pair"][1].append(3)
    copied["twice"][0].append(4)
    assert shared == [1, 2]
    assert copied["twice"][1] == [1, 2]  # each place gets its own copy (JSON has no shared parts)


@given(JSON)
def test_the_key_of_json_data_is_its_text_in_its_own_order(value):
    assert json_key(value) == json.dumps(value, ensure_ascii=False)


def test_data_that_json_would_change_has_no_key():
    assert json_key({"options": ("a", "b")}) is None      # a tuple would come back a list
    assert json_key({1: "one"}) is None                   # an int key would come back text
    assert json_key([Decimal("1")]) is None
    assert json_key({"b": 1, "a": [True, None]}) == '{"b": 1, "a": [true, null]}'
