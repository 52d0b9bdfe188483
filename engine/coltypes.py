"""Column types that keep values exact on every backend.

SQLite has no exact decimal, no time zones and gives a column named JSON numeric
affinity: decimals are stored as integers scaled by 10**scale (exact, and they still sort
and compare correctly in SQL) or, beyond 18 digits, as order-preserving text; datetimes
as naive UTC; JSON as text. PostgreSQL gets NUMERIC, TIMESTAMPTZ and JSONB.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Context, Decimal, localcontext

from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
SQLITE_EXACT_DIGITS = 18
WIDE = 80  # decimal context digits: enough for NUMERIC(38, s) arithmetic without rounding
_WIDE = Context(prec=WIDE)  # that context, for binding values without entering it each time


def _scaled(value, factor: Decimal) -> int:
    """`value` (a Decimal, or what makes one) times `factor`, as a whole number, in the wide
    context: an exact decimal as SQLite stores it."""
    number = value if value.__class__ is Decimal else Decimal(value)
    return int(_WIDE.to_integral_value(_WIDE.multiply(number, factor)))


class SQLiteJSON(TypeDecorator):
    """JSON kept as TEXT on SQLite, so numbers and strings come back exactly as stored."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


JSON_TYPE = JSON(none_as_null=True).with_variant(SQLiteJSON(), "sqlite").with_variant(
    JSONB(none_as_null=True), "postgresql")


class ExactDecimal(TypeDecorator):
    """NUMERIC(p, s) on PostgreSQL; a scaled BIGINT on SQLite when p <= 18."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int):
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._factor = Decimal(10) ** scale
        self._quantum = Decimal(1).scaleb(-scale)

    def _storage(self, dialect) -> str:
        if dialect.name != "sqlite":
            return "numeric"
        return "scaled" if self.precision <= SQLITE_EXACT_DIGITS else "text"

    def load_dialect_impl(self, dialect):
        storage = self._storage(dialect)
        if storage == "scaled":
            return dialect.type_descriptor(BigInteger())
        if storage == "text":
            return dialect.type_descriptor(String(self.precision + 1))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        storage = self._storage(dialect)
        value = value if value.__class__ is Decimal else Decimal(value)
        if storage == "numeric":
            return value
        scaled = _scaled(value, self._factor)
        if storage == "scaled":
            return scaled
        # Text that sorts like the number: a sign digit, then fixed-width digits
        # (negatives as their complement to 10**precision).
        if scaled >= 0:
            return "1" + str(scaled).zfill(self.precision)
        return "0" + str(10 ** self.precision + scaled).zfill(self.precision)

    def bind_processor(self, dialect):
        """`process_bind_param` as one closure for SQLite's scaled integers, the common
        case (a batch binds a value per row): the same arithmetic without the storage
        lookup and the type decorator's frames."""
        if self._storage(dialect) != "scaled" or self.load_dialect_impl(dialect).bind_processor(dialect):
            return super().bind_processor(dialect)
        factor = self._factor

        def process(value):
            return None if value is None else _scaled(value, factor)
        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        storage = self._storage(dialect)
        with localcontext() as ctx:
            ctx.prec = WIDE
            if storage == "text":
                digits = int(value[1:])
                scaled = digits if value[0] == "1" else digits - 10 ** self.precision
                return (Decimal(scaled) / self._factor).quantize(self._quantum)
            if storage == "scaled":
                return (Decimal(int(value)) / self._factor).quantize(self._quantum)
            return Decimal(value).quantize(self._quantum)

    def process_literal_param(self, value, dialect):
        return str(self.process_bind_param(value, dialect))

    @property
    def python_type(self):
        return Decimal


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    @property
    def python_type(self):
        return datetime
