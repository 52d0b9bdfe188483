"""Loom's own tables in a tenant's storage, looked up by name for that tenant's schema."""
from __future__ import annotations

from tenants.tables import tenant_tables


def loom_table(schema: str | None, name: str):
    return tenant_tables(schema).tables[f"{schema}.{name}" if schema else name]
