"""A change of roles and permission sets alone is a change the publisher records: added,
altered and dropped roles and permission sets, without DDL, never destructive."""
from __future__ import annotations

from metadata import Package
from metadata.diff import diff_packages
from tests.conftest import crm_document


def package(**parts) -> Package:
    return Package.from_document({**crm_document(), **parts})


def test_roles_and_permission_sets_are_diffed_by_name():
    old = package(roles=[{"name": "clerk", "entities": {"contact": {"rights": ["read"]}}},
                         {"name": "auditor"}],
                  permission_sets=[{"name": "exporter", "entities": {"contact": {"rights": ["export"]}}}])
    new = package(roles=[{"name": "clerk", "entities": {"contact": {"rights": ["read", "update"]}}},
                         {"name": "adjuster"}])
    changes = diff_packages(old, new)
    assert [(c.kind, c.describe()) for c in changes] == [
        ("drop_role", "drop role auditor"), ("alter_role", "change role clerk"), ("add_role", "add role adjuster"),
        ("drop_permission_set", "drop permission set exporter")]
    assert not any(c.needs_ddl or c.destructive for c in changes)
    assert diff_packages(new, new) == []
    assert [c.kind for c in diff_packages(None, new) if "role" in c.kind] == ["add_role", "add_role"]
