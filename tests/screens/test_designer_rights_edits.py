"""The rights matrix's edits (admin_ui.designer.edits_roles), as plain functions over any
ticking of the matrix and any field settings: what is saved reads back as ticked, in the
format's order; an entity with nothing ticked and no field settings is left out; the
document given is never changed; and every result passes the role checks."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admin_ui.designer import edits_roles
from admin_ui.designer.edits import EditRefused
from engine.records.permissions import RIGHTS
from metadata.role_checks import role_problems
from tests.conftest import crm_document

ENTITIES = ("account", "contact")
CONTACT_FIELDS = ("full_name", "email", "phone", "tier")
ACCESS = st.sampled_from([None, "edit", "read", "none"])


def with_role(kind="roles") -> dict:
    return edits_roles.add_role(crm_document(), kind, "clerk", {"en": "Clerk"})


@settings(max_examples=40, deadline=None)
@given(ticked=st.fixed_dictionaries({e: st.lists(st.sampled_from(RIGHTS), unique=True) for e in ENTITIES}),
       fields=st.fixed_dictionaries({f: ACCESS for f in CONTACT_FIELDS}), other=ACCESS,
       kind=st.sampled_from(edits_roles.KINDS))
def test_what_the_matrix_saves_reads_back_as_ticked(ticked, fields, other, kind):
    document = with_role(kind)
    before = repr(document)
    out = edits_roles.set_rights(document, kind, "clerk", ticked, {"unmask": ["contact"], "export_pii": []})
    out = edits_roles.set_field_access(out, kind, "clerk", "contact", fields, other)
    assert repr(document) == before
    role = edits_roles.role_of(out, kind, "clerk")
    named = {f: a for f, a in fields.items() if a is not None}
    for entity in ENTITIES:
        entry = role["entities"].get(entity)
        extra = entity == "contact" and (named or other not in (None, "edit"))
        if not ticked[entity] and not extra:
            assert entry is None
            continue
        assert entry["rights"] == [r for r in RIGHTS if r in ticked[entity]]
        if entity == "contact":
            assert entry.get("fields", {}) == named and entry.get("other_fields", "edit") == (other or "edit")
    assert role["unmask"] == ["contact"] and "export_pii" not in role
    assert role_problems(out) == []


def test_what_the_draft_lacks_is_refused_and_a_role_is_removed_whole():
    document = with_role()
    with pytest.raises(EditRefused):
        edits_roles.set_rights(document, "roles", "nobody", {"contact": ["read"]})
    with pytest.raises(EditRefused):
        edits_roles.set_rights(document, "roles", "clerk", {"invoice": ["read"]})
    with pytest.raises(EditRefused):
        edits_roles.set_field_access(document, "roles", "clerk", "contact", {"email": "secret"}, None)
    with pytest.raises(EditRefused):
        edits_roles.add_role(document, "teams", "x", None)
    assert "roles" not in edits_roles.remove_role(document, "roles", "clerk")
