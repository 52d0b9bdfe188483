"""GET /metadata/app on SQLite and PostgreSQL: what a member's screens read — entities,
fields, layouts with labels, workflows — in every language or in one, hidden fields left
out, engine internals left out, revalidated by ETag."""
import pytest
from openapi_spec_validator import validate

from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from plugins.crm_core import plugin as crm_plugin
from tests.conftest import token_for

TICKETS = {
    "entities": [{"name": "ticket", "label": {"en": "Ticket", "zh-CN": "工单"}, "fields": [
        {"name": "title", "type": "string", "required": True, "max_length": 80, "label": {"en": "Title", "zh-CN": "标题"}},
        {"name": "status", "type": "choice", "default": "open", "options": [
            {"value": "open", "label": {"en": "Open", "zh-CN": "待处理"}}, {"value": "closed", "label": "Closed"}]},
        {"name": "secret", "type": "string", "hidden": True},
        {"name": "serial", "type": "string", "readonly": True, "pii": True},
    ], "sharing": {"default": "none"}}],
    "workflows": [{"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "open",
                   "label": {"en": "Ticket flow", "zh-CN": "工单流程"},
                   "states": [{"name": "open", "category": "open", "label": {"en": "Open", "zh-CN": "待处理"}},
                              {"name": "closed", "category": "done"}],
                   "transitions": [
                       {"name": "close", "from": ["open"], "to": "closed", "comment": "required",
                        "guard": {"field": "title", "op": "exists"}},
                       {"name": "reopen", "from": "*", "to": "open", "roles": ["admin"]}]}],
    "layouts": [
        {"name": "ticket_form", "entity": "ticket", "kind": "form", "label": {"en": "Ticket", "zh-CN": "工单"},
         "sections": [{"name": "main", "fields": ["title", "secret", "serial"]}]},
        {"name": "ticket_list", "entity": "ticket", "kind": "list", "columns": ["title", "secret", "created_at"]}],
}
APP = "/api/v1/t/desk/metadata/app"


@pytest.fixture
def desk(install):
    install.registry.create("desk")
    install.session("desk").apply_metadata(TICKETS)
    return install.session("desk")


def bearer(install, slug, email, role="member"):
    return {"Authorization": f"Bearer {token_for(install, slug, email, role)}"}


@pytest.fixture
def member(install, desk):
    return bearer(install, "desk", "member@desk.example")


def test_a_member_reads_every_entity_with_its_visible_fields_in_every_language(client, member, desk):
    response = client.get(APP, headers=member)
    assert response.status_code == 200
    view = response.get_json()
    assert view["version"] == desk.metadata().version and view["role"] == "member" and view["language"] is None
    (ticket,) = view["entities"]
    assert ticket["label"] == {"en": "Ticket", "zh-CN": "工单"} and ticket["workflow"] == "ticket_flow"
    assert [f["name"] for f in ticket["fields"]] == ["title", "status", "serial"]
    title, status, serial = ticket["fields"]
    assert title == {"name": "title", "type": "string", "base_type": "string", "label": {"en": "Title", "zh-CN": "标题"},
                     "help": None, "required": True, "readonly": False, "unique": False, "max_length": 80}
    assert status["choices"] == [{"value": "open", "label": {"en": "Open", "zh-CN": "待处理"}},
                                 {"value": "closed", "label": {"en": "Closed"}}]
    assert status["default"] == "open" and serial["readonly"] is True
    assert "pii" not in serial and "sharing" not in ticket and "secret" not in str(view["entities"])


def test_layouts_carry_the_label_of_each_field_and_leave_hidden_ones_out(client, member):
    layouts = {item["name"]: item for item in client.get(f"{APP}?lang=zh-CN", headers=member).get_json()["layouts"]}
    form = layouts["ticket_form"]
    assert form["label"] == "工单"
    assert form["sections"] == [{"name": "main", "label": "Main", "columns": 1, "fields": [
        {"name": "title", "label": "标题"}, {"name": "serial", "label": "Serial"}]}]
    assert layouts["ticket_list"]["columns"] == [{"name": "title", "label": "标题"},
                                                 {"name": "created_at", "label": "创建时间"}]


def test_workflows_show_states_and_transitions_but_not_guards_or_actions(client, member, install):
    (flow,) = client.get(APP, headers=member).get_json()["workflows"]
    assert flow["states"] == [{"name": "open", "label": {"en": "Open", "zh-CN": "待处理"}, "category": "open", "final": False},
                              {"name": "closed", "label": {"en": "Closed"}, "category": "done", "final": True}]
    close, reopen = flow["transitions"]
    assert close == {"name": "close", "label": {"en": "Close"}, "from": ["open"], "to": "closed", "roles": [],
                     "allowed": True, "requires": [], "comment": "required"}
    assert reopen["from"] == "*" and reopen["roles"] == ["admin"] and reopen["allowed"] is False
    admin = bearer(install, "desk", "admin@desk.example", "admin")
    (flow,) = client.get(APP, headers=admin).get_json()["workflows"]
    assert flow["transitions"][1]["allowed"] is True


def test_the_etag_names_the_metadata_version_and_a_match_is_a_304(client, member, desk):
    first = client.get(APP, headers=member)
    etag = first.headers["ETag"]
    again = client.get(APP, headers={**member, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get(f"{APP}?lang=zh-CN", headers={**member, "If-None-Match": etag}).status_code == 200
    changed = {**TICKETS, "entities": [{**TICKETS["entities"][0], "label": {"en": "Case", "zh-CN": "案件"}}]}
    desk.apply_metadata(changed)
    moved = client.get(APP, headers={**member, "If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert moved.get_json()["entities"][0]["label"] == {"en": "Case", "zh-CN": "案件"}


@pytest.mark.parametrize("query, field", [("lang=Chinese!", "lang"), ("lang=", "lang"), ("language=zh", "language")])
def test_a_bad_query_is_a_400_naming_it(client, member, query, field):
    response = client.get(f"{APP}?{query}", headers=member)
    assert response.status_code == 400
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]


@pytest.fixture
def shop(settings):
    """Tenant `shop` with the crm_core pack, whose labels have zh-CN texts."""
    install = Install(settings, Plugins(load_entry_points=False, extra_plugins=[crm_plugin]))
    install.registry.create("shop")
    PackService(install).install("shop", "crm_core")
    yield install
    install.dispose()


def test_a_member_of_a_pack_tenant_reads_zh_cn_labels_and_not_the_full_document(shop):
    from engine.app import create_app

    client = create_app(shop, {"TESTING": True}).test_client()
    member = bearer(shop, "shop", "li@shop.example")
    view = client.get("/api/v1/t/shop/metadata/app?lang=zh-CN", headers=member).get_json()
    entities = {e["name"]: e for e in view["entities"]}
    assert entities["contact"]["label"] == "联系人" and view["language"] == "zh-CN"
    assert {f["name"]: f["label"] for f in entities["contact"]["fields"]}["organisation"] == "所属单位"
    form = next(layout for layout in view["layouts"] if layout["name"] == "contact_form")
    assert form["sections"][0]["label"] == "联系人" and form["sections"][0]["fields"][0] == {
        "name": "organisation", "label": "所属单位"}
    lead = next(w for w in view["workflows"] if w["entity"] == "lead")
    assert lead["states"][0]["label"] == "新建"
    refused = client.get("/api/v1/t/shop/metadata", headers=member)
    assert refused.status_code == 403 and refused.get_json()["error"] == {
        "code": "admin_only", "message": "only a tenant admin may read the full metadata document; "
                                         "members read GET /api/v1/t/shop/metadata/app"}
    spec = client.get("/api/v1/t/shop/openapi.json", headers=member).get_json()
    validate(spec)
    assert set(spec["paths"]["/metadata/app"]["get"]["responses"]) >= {"200", "304", "400"}


def test_a_tenant_without_metadata_has_an_empty_view(install, client):
    install.registry.create("blank")
    response = client.get("/api/v1/t/blank/metadata/app", headers=bearer(install, "blank", "m@blank.example"))
    assert response.status_code == 200 and response.get_json() == {
        "version": 0, "role": "member", "language": None, "entities": [], "layouts": [], "workflows": []}


def test_the_view_carries_field_conditions_section_conditions_and_tabs_in_the_language():
    from engine.app_view import app_view
    from metadata import load_package

    kind = {"field": "kind", "op": "eq", "value": "firm"}
    package = load_package({
        "entities": [{"name": "party", "fields": [
            {"name": "kind", "type": "choice", "options": ["person", "firm"]},
            {"name": "industry", "type": "string", "visible_if": kind, "required_if": kind},
            {"name": "notes", "type": "text"}]}],
        "layouts": [{"name": "party_form", "entity": "party", "kind": "form",
                     "tabs": [{"name": "profile", "label": {"en": "Profile", "zh-CN": "资料"},
                               "sections": ["main", "firm"]}],
                     "sections": [{"name": "main", "fields": ["kind", "notes"]},
                                  {"name": "firm", "visible_if": kind, "fields": ["industry"]}]}]})
    view = app_view(package, 1, "member", "zh-CN")
    fields = {f["name"]: f for f in view["entities"][0]["fields"]}
    assert fields["industry"]["visible_if"] == kind and fields["industry"]["required_if"] == kind
    assert "visible_if" not in fields["notes"] and "required_if" not in fields["notes"]
    [form] = view["layouts"]
    assert form["tabs"] == [{"name": "profile", "label": "资料", "sections": ["main", "firm"]}]
    assert form["sections"][1]["visible_if"] == kind
