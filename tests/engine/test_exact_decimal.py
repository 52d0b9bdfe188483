"""`ExactDecimal` binds every value the decimal field types accept exactly: through the
type's own bind and result processing for each dialect (SQLite's scaled integers and
sortable text, PostgreSQL's NUMERIC value) it reads back as the value itself, and the
sortable text sorts as the numbers do. (Stored and read through real databases: the
record tests of decimal and currency fields on both backends.)"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy.dialects.postgresql as postgresql
import sqlalchemy.dialects.sqlite as sqlite
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.coltypes import ExactDecimal

DIALECTS = (sqlite.dialect(), postgresql.dialect())
KINDS = [(18, 2), (10, 0), (12, 4), (30, 10), (38, 6)]  # scaled, scaled, scaled, text, text on SQLite


@st.composite
def fitting(draw):
    """(precision, scale, a value of at most precision - scale digits and scale places)."""
    precision, scale = draw(st.sampled_from(KINDS))
    digits = draw(st.integers(-(10 ** precision - 1), 10 ** precision - 1))
    value = Decimal(digits).scaleb(-scale)
    given = draw(st.sampled_from(["decimal", "text", "int"])) if scale == 0 else draw(
        st.sampled_from(["decimal", "text"]))
    return precision, scale, value, {"decimal": value, "text": str(value), "int": int(value)}[given]


@settings(max_examples=500, deadline=None)
@given(fitting())
def test_a_bound_value_reads_back_as_itself(case):
    precision, scale, value, given_as = case
    column = ExactDecimal(precision, scale)
    for dialect in DIALECTS:
        stored = column.process_bind_param(given_as, dialect)
        assert column.process_result_value(stored, dialect) == value
    sqlite_dialect = DIALECTS[0]  # what SQLAlchemy and bulk_rows run there: the type adapted to the dialect
    bind = column.dialect_impl(sqlite_dialect).bind_processor(sqlite_dialect)
    assert bind(given_as) == column.process_bind_param(given_as, sqlite_dialect)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(10 ** 30 - 1), 10 ** 30 - 1), min_size=2, max_size=8))
def test_sqlite_text_sorts_as_the_numbers(digits):
    column = ExactDecimal(30, 10)
    values = [Decimal(d).scaleb(-10) for d in digits]
    texts = [column.process_bind_param(v, DIALECTS[0]) for v in values]
    assert [v for _, v in sorted(zip(texts, values))] == sorted(values)
