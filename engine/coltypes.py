"""Column types that keep values exact on every backend.

SQLite has no exact decimal and no time zones: decimals are stored as integers scaled
by 10**scale (exact, and they still sort and compare correctly in SQL), datetimes as
naive UTC. PostgreSQL gets NUMERIC and TIMESTAMPTZ.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")
SQLITE_EXACT_DIGITS = 18


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

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite" and self.precision <= SQLITE_EXACT_DIGITS:
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _scaled(self, dialect) -> bool:
        return dialect.name == "sqlite" and self.precision <= SQLITE_EXACT_DIGITS

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        if self._scaled(dialect):
            return int((value * self._factor).to_integral_value())
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if self._scaled(dialect):
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
