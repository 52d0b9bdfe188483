"""`engine.whole.whole_number`, the one reader of a typed whole number: ASCII digits that fit
a 64-bit column, never "²" or "١" (digits to `str.isdigit()`), never thousands of digits."""
import pytest
from hypothesis import given, strategies as st

from engine.whole import INT64, whole_number


@given(st.integers(-INT64 - 1, INT64))
def test_every_64_bit_number_reads_back_as_written(number):
    assert whole_number(str(number)) == number == whole_number(number)


@pytest.mark.parametrize("text", ["²", "١٢", "１２", "1_000", "1.0", "", " ", "+5", "5\n", "\u30005", "9" * 20,
                                  "9" * 5000, True, None, 2**63, -(2**63) - 1, 1.0])
def test_anything_else_is_no_whole_number(text):
    assert whole_number(text) is None


def test_bounds_are_inclusive():
    assert [whole_number(t, 1, 3) for t in ("0", "1", "3", "4")] == [None, 1, 3, None]
