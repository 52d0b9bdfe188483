"""`engine.jsontext.strict_loads`, the one reader of JSON people write (request bodies,
document and mapping files, packs' files, JSON Lines imports): every JSON value it reads
as the json module does, and an object naming a key twice refused, naming the key."""
import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from engine.jsontext import RepeatedKey, TooDeep, strict_loads

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(VALUES)
def test_every_json_value_reads_back_as_written(value):
    assert strict_loads(json.dumps(value)) == value


@given(st.dictionaries(st.text(max_size=5), VALUES, min_size=1, max_size=4), st.data())
def test_an_object_naming_a_key_twice_is_refused_naming_it_at_any_depth(value, data):
    key = data.draw(st.sampled_from(sorted(value)))
    again = data.draw(VALUES)
    text = json.dumps(value)[:-1] + f", {json.dumps(key)}: {json.dumps(again)}}}"
    nested = data.draw(st.sampled_from(["{}", '{{"outer": {}}}', "[1, {}]"])).format(text)
    with pytest.raises(RepeatedKey) as refused:
        strict_loads(nested)
    assert refused.value.key == key and isinstance(refused.value, ValueError)


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "1e999", '{"a": -Infinity}'])
def test_what_no_database_stores_is_refused(text):
    with pytest.raises(ValueError):
        strict_loads(text)


def test_nesting_too_deep_for_the_reader_is_refused_as_such():
    with pytest.raises(TooDeep):
        strict_loads("[" * 100_000 + "]" * 100_000)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_number_is_read_only_when_no_digit_of_it_is_lost(number):
    text = str(number) if "E" not in str(number) else f"{number:e}"
    try:
        value = strict_loads(text)
    except ValueError as exc:
        assert "has more digits than a JSON number keeps exactly" in str(exc) or "too large" in str(exc)
        assert Decimal(repr(float(text))) != Decimal(text) or not math.isfinite(float(text))
    else:
        assert Decimal(repr(value)) == Decimal(text)
