"""How record values reach durable-rules: normalize, and normalizer (chosen once per field kind)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.rules.conditions import normalize, normalizer

KINDS = ("number", "moment", "bool", "string", "list", "any")
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
           | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: format(d, "f"))
           | st.integers(-2 ** 60, 2 ** 60).map(str) | st.dates().map(lambda d: d.isoformat())
           | st.datetimes().map(lambda d: d.isoformat()) | st.sampled_from(["", "\ud800", "退款", "1.5.2", "+3"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=2)
                      | st.fixed_dictionaries({"amount": inner, "currency": st.just("EUR")}), max_leaves=4)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), values)
def test_the_normalizer_of_a_kind_reads_values_as_normalize_does(kind, raw):
    got, expected = normalizer(kind)(raw), normalize(kind, raw)
    assert got == expected or (got != got and expected != expected)
    assert type(got) is type(expected)


@pytest.mark.parametrize("kind, raw, expected", [
    ("number", "12", 12), ("number", "-0.50", -0.5), ("number", "+3", 3), ("number", "1e5", None),
    ("number", str(2 ** 53), float(2 ** 53)), ("number", "1" * 400 + ".0", None), ("number", True, None),
    ("number", {"amount": "12.50", "currency": "EUR"}, 12.5), ("number", "", None),
    ("string", "abc", "abc"), ("string", "退款", "退款"), ("string", "a\ud800", None), ("string", "", None),
    ("string", 3, None), ("bool", False, False), ("bool", 0, None), ("list", [], None), ("any", 0, 1),
])
def test_values_by_kind(kind, raw, expected):
    assert normalizer(kind)(raw) == expected and normalize(kind, raw) == expected
    assert type(normalizer(kind)(raw)) is type(expected)
