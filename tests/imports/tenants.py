"""The tenants the import tests plan against: `acme` with a package applied, as the
system, and a member of it without the system's rights (read-only fields stay read-only,
sharing applies)."""
from __future__ import annotations

from engine.auth import create_user


def acme(install, document: dict):
    """The system's session of a new tenant `acme` with `document` applied."""
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document)
    return session


def member_of(install, system, email: str = "m@acme.example", **attributes):
    """The session of a new member of the tenant of `system` (with `attributes`)."""
    return install.session("acme", create_user(system.storage, email, attributes=attributes or None))
