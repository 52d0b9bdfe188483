"""Which columns of a tenant's tables hold given values: the privacy tests' scans of
every table. The tables are reflected at once and each is read in one query (a flag per
column), not one reflection and one query per column."""
from __future__ import annotations

from sqlalchemy import MetaData, Text, case, cast, func, inspect, or_, select


def tenant_tables(conn, schema: str | None) -> list:
    """Every table of the tenant's storage, reflected (no Loom types: values as stored)."""
    meta = MetaData()
    meta.reflect(conn, schema=schema)
    return [meta.tables[f"{schema}.{name}" if schema else name]
            for name in inspect(conn).get_table_names(schema=schema)]


def columns_holding(conn, table, columns, values) -> list[str]:
    """The names of `columns` of `table` where any row's text contains one of `values`."""
    if not columns:
        return []
    flags = [func.max(case((or_(*[cast(column, Text).like(f"%{v}%") for v in values]), 1), else_=0))
             for column in columns]
    row = conn.execute(select(*flags).select_from(table)).one()
    return [column.name for column, hit in zip(columns, row) if hit]
