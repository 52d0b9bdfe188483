"""`engine.jsontext.strict_loads`, the one reader of JSON people write (request bodies,
document and mapping files, packs' files, JSON Lines imports): every JSON value it reads
as the json module does, and an object naming a key twice refused, naming the key."""
import json

import pytest
from hypothesis import given, strategies as st

from engine.jsontext import RepeatedKey, TooDeep, TooPrecise, strict_loads

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


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_as_any_writer_prints_it_is_read(value):
    """Python's and JavaScript's shortest form, and the 17 digits C's %.17g, Java and .NET
    may print."""
    for text in (repr(value), format(value, ".17g"), format(value, ".16e")):
        assert strict_loads(text) == value


@pytest.mark.parametrize("text", ["1234567890123456.78", "1234567890123456.7", "99999999.9999999999999",
                                  "3.14159265358979323846", "0.1000000000000000055511151231257827", "1e-400"])
def test_a_number_a_float_would_round_is_refused_naming_it_and_what_to_send(text):
    with pytest.raises(TooPrecise) as refused:
        strict_loads(f'{{"amount": {text}}}')
    assert f'write it as text, "{text}"' in str(refused.value)
