"""Tenants: the registry in the system database, each tenant's isolated storage,
provisioning and removal.

Imports only `metadata` (see DESIGN.md); nothing here knows about HTTP.
"""
from tenants.settings import Settings
from tenants.storage import Storage, TenantStorage, raise_open_file_limit
from tenants.registry import Registry, Tenant, TenantError

__all__ = ["Settings", "Storage", "TenantStorage", "Registry", "Tenant", "TenantError",
           "raise_open_file_limit"]
