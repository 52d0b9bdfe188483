"""The permissions matrix, on SQLite and PostgreSQL: for each role every pack ships, every
entity × action and every field through the API, against an oracle read from the role
document itself. Requests name a record that does not exist or a field that does not, so
an allowed action answers `record_not_found` or a validation problem and a refused one
`permission_denied` (404 `entity_not_found` for an entity the role does not name): the
matrix changes no data."""
from __future__ import annotations

import pytest

from engine.app import create_app
from engine.auth import create_token, create_user, list_users
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from engine.records.dump import SYSTEM_FIELDS

PACKS = ["insurance_agents", "automotive_dealers", "retail_loyalty"]
NOPE = 2**40  # no record has this id


def oracle(role: dict, entity: str, field: str | None = None):
    entry = (role.get("entities") or {}).get(entity, {})
    if field is None:
        return set(entry.get("rights", ()))
    return entry.get("fields", {}).get(field, entry.get("other_fields", "edit"))


@pytest.mark.parametrize("pack", PACKS)
def test_every_pack_role_gets_exactly_its_rights_on_every_entity_and_field(settings, pack):
    install = Install(settings, Plugins())  # the built-in packs, from their entry points
    try:
        run_matrix(install, create_app(install, {"TESTING": True}).test_client(), pack)
    finally:
        install.dispose()


def run_matrix(install, client, pack):
    install.registry.create("acme", "Acme")
    PackService(install).install("acme", pack, demo=True)
    session = install.session("acme")
    package = session.metadata().package
    assert package.roles, f"{pack} ships no roles"
    create_user(session.storage, "admin@acme.test", "admin")
    admin_id = next(a.id for a in list_users(session.storage) if a.email == "admin@acme.test")
    for role in package.roles:
        email = f"{role['name']}@acme.test"
        create_user(session.storage, email, roles=[role["name"]])
        head = {"Authorization": f"Bearer {create_token(session.storage, email)}"}
        for entity in package.entities:
            check_entity(client, head, role, entity, admin_id)


def check_entity(client, head, role, entity, admin_id):
    api, name = "/api/v1/t/acme/records", entity.name
    rights = oracle(role, name)
    where = f"{role['name']} {name}"

    def code(response):
        return (response.get_json() or {}).get("error", {}).get("code") if response.status_code >= 400 else "ok"


    listed = client.get(f"{api}/{name}?limit=1", headers=head)
    if not rights or "read" not in rights:
        assert code(listed) == "entity_not_found", where
    else:
        assert listed.status_code == 200, where
        hidden = {f.name for f in entity.fields if oracle(role, name, f.name) == "none"}
        for item in listed.get_json()["items"]:
            assert set(item) == set(SYSTEM_FIELDS) | {f.name for f in entity.fields} - hidden, where
        for field in sorted(hidden):
            assert code(client.get(f"{api}/{name}?sort={field}", headers=head)) == "bad_query", (where, field)
    refused = "entity_not_found" if not rights else "permission_denied"
    attempts = {
        "create": (client.post(f"{api}/{name}", json={"zz_nope": 1}, headers=head), "validation_failed"),
        "update": (client.patch(f"{api}/{name}/{NOPE}", json={}, headers=head), "record_not_found"),
        "delete": (client.delete(f"{api}/{name}/{NOPE}", headers=head), "record_not_found"),
        "import": (client.post(f"{api}/{name}/batch", json={"records": [{"zz_nope": 1}]}, headers=head),
                   "validation_failed"),
        "transfer": (client.post(f"/api/v1/t/acme/users/{admin_id}/transfer",
                                 json={"to": admin_id, "entity": name}, headers=head), "ok"),
    }
    for right, (response, allowed) in attempts.items():
        got = code(response)
        needs = {"import": {"create", "import"}}.get(right, {right})
        if needs <= rights:
            assert got == allowed, (where, right, got)
        elif right == "transfer":
            assert got in ("assign_refused", "entity_not_found"), (where, right, got)
        else:
            assert got == refused, (where, right, got)
    exported = client.get(f"{api}/{name}/export", headers=head)
    exported.get_data()  # a stream: read it while its request is the current one
    exported.close()
    expected = 200 if {"read", "export"} <= rights else 404 if "read" not in rights else 403
    assert exported.status_code == expected, (where, "export")
    if "update" in rights:
        for field in entity.fields:
            response = client.patch(f"{api}/{name}/{NOPE}", json={field.name: None}, headers=head)
            details = response.get_json()["error"].get("details") or [{}]
            got = "unknown_field" if details[0].get("message") == "Unknown field." else code(response)
            want = {"none": {"unknown_field"}, "read": {"field_not_editable"}}.get(
                oracle(role, name, field.name), {"record_not_found", "validation_failed"})  # null may be invalid
            assert got in want, (where, field.name, got)
