"""The examples in docs/ are run as written."""
import json
import re
import types
from pathlib import Path

import click
import pytest

from engine.cli import cli
from engine.errors import Conflict, ValidationFailed
from engine.events import RecordEvent
from engine.plugins import Plugins
from metadata import check_package
from tests.conftest import token_for

DOCS = Path(__file__).resolve().parent.parent / "docs"


def blocks(name: str, marker: str, language: str):
    """(marker arguments, block text) for each code block announced by `<!-- marker ... -->`."""
    text = (DOCS / name).read_text(encoding="utf-8")
    pattern = rf"<!-- {marker}:?(.*?)-->\s*```{language}\n(.*?)```"
    return [(args.strip(), body) for args, body in re.findall(pattern, text, re.S)]


@pytest.mark.parametrize("args,body", blocks("metadata.md", "doc-example", "json"))
def test_metadata_examples(args, body):
    verdict, *paths = args.split()
    problems = check_package(json.loads(body))
    if verdict == "valid":
        assert problems == []
    else:
        assert sorted({p.path for p in problems}) == sorted(paths)


def parse_http(block: str):
    head, _, body = block.partition("\n\n")
    lines = head.strip().splitlines()
    method, path = lines[0].split(" ", 1)
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return method, path, headers, body.strip()


def run_http_examples(client, token, examples):
    """Send each documented request in order as `token`; each answers its documented status."""
    for status, block in examples:
        method, path, headers, body = parse_http(block)
        response = client.open(path, method=method, data=body or None,
                               headers={"Authorization": f"Bearer {token}", **headers},
                               content_type="application/json")
        assert response.status_code == int(status), (block, response.get_json())
        yield response


def test_api_examples_run_in_order(install, client):
    install.registry.create("acme")
    session = install.session("acme")
    session.apply_metadata(json.loads((DOCS.parent / "metadata/examples/crm_minimal.json").read_text()))
    token = token_for(install, "acme", "admin@acme.example", "admin")
    examples = blocks("api.md", "http", "http")
    assert len(examples) >= 15
    for response in run_http_examples(client, token, examples):
        assert response.is_json


def documented_commands() -> set:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    return {" ".join(m.split()[:3]) for m in re.findall(r"`(loom [a-z-]+(?: [a-z-]+)?)", text)}


def all_commands(group=cli, prefix="loom") -> set:
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= all_commands(command, f"{prefix} {name}")
        else:
            found.add(f"{prefix} {name}")
    return found


def test_designer_draft_examples_run_in_order(install, client):
    install.registry.create("acme")
    token = token_for(install, "acme", "admin@acme.example", "admin")
    examples = blocks("designer.md", "http", "http")
    assert len(examples) >= 8
    list(run_http_examples(client, token, examples))
    history = install.session("acme").metadata_history()
    assert [r["applied_by"] for r in history] == ["admin@acme.example"] * 3


def test_cli_reference_lists_every_command():
    documented = documented_commands()
    missing = sorted(c for c in all_commands() if c not in documented)
    assert missing == []


def load_example_plugin() -> types.ModuleType:
    (source,) = [body for _, body in blocks("plugins.md", "example-plugin", "python")]
    module = types.ModuleType("garage")
    exec(compile(source, "docs/plugins.md", "exec"), module.__dict__)
    return module


@pytest.fixture
def plugins():
    return Plugins(extra_plugins=[load_example_plugin()], load_entry_points=False)


def test_example_plugin_works_for_enabled_tenants_only(install, plugins):
    install.registry.create("garage-co", plugins=["garage"])
    install.registry.create("bakery")
    (package,) = install.plugins.metadata_packages(["garage"])
    garage = install.session("garage-co")
    garage.apply_metadata(package["document"])
    car = garage.records.create("vehicle", {"vin": "1m8gdm9axkp042788", "under_warranty": True})
    assert car["vin"] == "1M8GDM9AXKP042788"
    with pytest.raises(ValidationFailed):
        garage.records.create("vehicle", {"vin": "1M8GDM9AXKP042789"})
    with pytest.raises(Conflict):
        garage.records.delete("vehicle", car["id"])
    assert garage.records.get("vehicle", car["id"])["id"] == car["id"]

    with pytest.raises(ValidationFailed):
        install.session("bakery").apply_metadata(package["document"])

    from engine.app import create_app

    client = create_app(install, {"TESTING": True}).test_client()
    assert client.get("/garage/t/garage-co/status").get_json() == {"tenant": "garage-co", "garage": "open"}
    assert client.get("/garage/t/bakery/status").status_code == 404
    commands = [c.name for name, cs in install.plugins.per_plugin("loom_cli_commands") if name == "garage"
                for c in cs]
    assert commands == ["garage-hello"]


def json_blocks(name: str) -> list:
    text = (DOCS / name).read_text(encoding="utf-8")
    return [json.loads(body) for body in re.findall(r"```json\n(.*?)```", text, re.S)]


def test_the_documented_record_event_is_the_one_shape():
    documented = json_blocks("workflows.md")[3]
    assert RecordEvent.from_dict(documented).to_dict() == documented


def test_workflow_doc_examples_apply_together(install):
    workflow, ruleset, template, _event = json_blocks("workflows.md")
    document = {"entities": [
        {"name": "service_request", "fields": [
            {"name": "subject", "type": "string"}, {"name": "ticket_no", "type": "string"},
            {"name": "assignee_id", "type": "integer"},
            {"name": "priority", "type": "choice", "options": ["normal", "high", "blocked"]},
            {"name": "status", "type": "choice", "options": ["new", "in_progress", "resolved", "cancelled"]}]},
        {"name": "contact", "fields": [
            {"name": "lifetime_value", "type": "decimal"},
            {"name": "tier", "type": "choice", "options": ["regular", "gold"]}]}],
        "workflows": [workflow], "rulesets": [ruleset], "templates": [template]}
    install.registry.create("docs")
    assert install.session("docs").apply_metadata(document).version == 1


def test_the_service_example_applies(install):
    install.registry.create("svc")
    example = json.loads((DOCS.parent / "examples/service/service.json").read_text(encoding="utf-8"))
    assert install.session("svc").apply_metadata(example).applied


EXAMPLE_PACK = DOCS.parent / "examples" / "loom-pack-example" / "loom_pack_example"


def test_the_documented_pack_manifest_is_the_example_packs():
    (manifest,) = [json.loads(body) for _, body in blocks("plugins.md", "example-pack-manifest", "json")]
    assert manifest == json.loads((EXAMPLE_PACK / "pack.json").read_text(encoding="utf-8"))


def test_the_documented_hook_snippets_are_the_example_packs_code():
    """The short snippets of plugins.md quote the example pack; keep them in step."""
    plugin = (EXAMPLE_PACK / "plugin.py").read_text(encoding="utf-8")
    for line in ('PACK = Pack.from_directory(Path(__file__).parent)',
                 '"extend_renewal": ActionSpec(run=extend_renewal, check=check_extend,'):
        assert line in plugin
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    for body in re.findall(r"```python\n(.*?)```", text, re.S):
        compile(body, "docs/plugins.md", "exec")


def test_every_hook_is_documented_with_its_signature():
    import inspect

    from engine import hookspecs

    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    hooks = [name for name, f in vars(hookspecs).items() if name.startswith("loom_") and callable(f)]
    assert "loom_openapi_paths" in hooks
    for name in hooks:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}({params})`" in text, name


def load_doc_module(marker: str, name: str) -> types.ModuleType:
    (source,) = [body for _, body in blocks("plugins.md", marker, "python")]
    module = types.ModuleType(name)
    exec(compile(source, "docs/plugins.md", "exec"), module.__dict__)
    return module


@pytest.fixture
def ledger_client(settings):
    """An install whose only plugin is the ledger of plugins.md, taken from the doc alone."""
    from engine.app import create_app
    from engine.install import Install

    plugin = load_doc_module("example-ledger-plugin", "ledger")
    install = Install(settings, Plugins(extra_plugins=[plugin], load_entry_points=False))
    install.registry.create("shop", plugins=["ledger"])
    (metadata,) = [json.loads(body) for _, body in blocks("plugins.md", "example-ledger-metadata", "json")]
    install.session("shop").apply_metadata(metadata)
    token = token_for(install, "shop", "clerk@shop.example")
    client = create_app(install, {"TESTING": True}).test_client()
    yield client, {"Authorization": f"Bearer {token}"}
    install.dispose()


def test_a_plugin_written_from_the_docs_alone_keeps_its_ledger(ledger_client):
    client, auth = ledger_client
    base = "/api/v1/t/shop/records"
    card = client.post(f"{base}/card", json={"holder": "Ann"}, headers=auth).get_json()
    earned = client.post(f"{base}/entry", json={"card": card["id"], "points": 10}, headers=auth)
    assert earned.status_code == 201
    assert earned.get_json()["booked_at"] is not None          # set by the hook's returned values
    refused = client.post(f"{base}/entry", json={"card": card["id"], "points": -15}, headers=auth)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "insufficient_points"
    assert client.get(f"{base}/card/{card['id']}", headers=auth).get_json()["balance"] == 10
    assert len(client.get(f"{base}/entry", headers=auth).get_json()["items"]) == 1

    (created,) = client.get(f"{base}/entry/{earned.get_json()['id']}/history", headers=auth).get_json()["items"]
    assert created["changes"]["booked_at"] == [None, earned.get_json()["booked_at"]]
    moves = client.get(f"{base}/card/{card['id']}/history", headers=auth).get_json()["items"]
    assert [m["changes"].get("balance") for m in moves][-1] == [0, 10]

    changed = client.patch(f"{base}/entry/{earned.get_json()['id']}", json={"points": 3}, headers=auth)
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "ledger_immutable"


def test_the_plugin_docs_import_only_the_plugin_api():
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    plugin_code = [body for body in re.findall(r"```python\n(.*?)```", text, re.S) if "hookimpl" in body]
    imports = {line.split()[1] for body in plugin_code for line in body.splitlines()
               if line.startswith(("from engine", "from tenants", "from metadata", "from workflows"))}
    assert imports == {"engine.plugin_api"}


def test_the_hook_snippets_run_as_written():
    """Each short hook snippet of plugins.md, run: its hook called as Loom calls it."""
    import logging

    from engine.plugin_api import ActionSpec, RecordEvent, hookimpl
    from metadata import load_package

    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    snippets = [body for body in re.findall(r"```python\n(.*?)```", text, re.S)
                if "@hookimpl" in body and "LOOM_PLUGIN_NAME" not in body and "Blueprint" not in body]
    namespace = {"hookimpl": hookimpl, "log": logging.getLogger("docs"),
                 "extend_renewal": lambda context, params: {}, "check_extend": lambda params: []}
    for body in snippets:
        exec(compile(body, "docs/plugins.md", "exec"), namespace)
    package = load_package({"entities": [{"name": "subscription", "fields": [
        {"name": "party", "type": "integer"}]}]})
    assert namespace["loom_check_metadata"](package, {}, None)[0]["code"] == "plan_missing"
    assert "/subscriptions/due" in namespace["loom_openapi_paths"](package)
    assert isinstance(namespace["loom_actions"]()["extend_renewal"], ActionSpec)
    event = RecordEvent("acme", "subscription", "created", 1, {"party": 7})
    assert namespace["loom_record_after_commit"](event, None) is None


def test_the_services_example_numbers_assigns_opens_and_tells_once_per_event(settings):
    """The action of plugins.md's counters, people and workflow services, from the doc
    alone: run twice for one event (a retried job), it changes nothing the second time."""
    from engine.auth import create_user
    from engine.install import Install
    from engine.plugin_api import PluginSession
    from workflows.notify import inapp

    plugin = load_doc_module("example-services-plugin", "desk")
    install = Install(settings, Plugins(extra_plugins=[plugin], load_entry_points=False))
    install.registry.create("desk", plugins=["desk"])
    (metadata,) = [json.loads(body) for _, body in blocks("plugins.md", "example-services-metadata", "json")]
    session = install.session("desk")
    session.apply_metadata(metadata)
    boss = create_user(session.storage, "boss@desk.example", "admin", locale="zh-CN")
    ann, bob = (create_user(session.storage, f"{n}@desk.example") for n in ("ann", "bob"))
    desk = PluginSession(session)

    def open_ticket(ticket_id, key):
        return desk.run_action("open_ticket", "ticket", session.records.get("ticket", ticket_id), {}, effect_key=key)

    first = session.records.create("ticket", {"subject": "printer jam"})["id"]
    assert open_ticket(first, "evt-1") == {"number": "T-00001", "assignee_id": ann.id, "state": "open", "told": 1}
    assert open_ticket(first, "evt-1") == {"number": "T-00001", "assignee_id": ann.id, "state": "open", "told": 0}
    second = session.records.create("ticket", {"subject": "no toner"})["id"]
    assert open_ticket(second, "evt-2") == {"number": "T-00002", "assignee_id": bob.id, "state": "open", "told": 1}
    assert session.records.get("ticket", first)["version"] == 4   # created, numbered, assigned, opened
    assert [n["title"] for n in inapp.list_for(session.storage, boss.id)] == ["工单 T-00002 已受理", "工单 T-00001 已受理"]
    install.dispose()


def test_an_action_that_declares_its_parameters_gets_a_form(settings):
    """The stamp action of plugins.md, from the doc alone: the tenant's registry keeps its
    parameters, the designer's form reads them back into its params, and its check
    judges them."""
    from werkzeug.datastructures import MultiDict

    from admin_ui.designer import action_forms
    from engine.install import Install

    plugin = load_doc_module("example-action-params", "stamps")
    install = Install(settings, Plugins(extra_plugins=[plugin], load_entry_points=False))
    install.registry.create("post-office", plugins=["stamps"])
    spec = install.session("post-office").actions()["stamp"]
    install.dispose()
    assert [(p.name, p.kind, p.required) for p in action_forms.params_of(spec)] == [
        ("colour", "choice", True), ("copies", "integer", False), ("urgent", "bool", False)]
    form = MultiDict({"a0-colour": "red", "a0-copies": "3", "a0-urgent": "on"})
    params, problems = action_forms.params_from_form(spec, form, "a0", {}, "/p")
    assert problems == [] and params == {"colour": "red", "copies": 3, "urgent": True}
    assert spec.check(params) == []
    assert spec.check({"colour": "green"}) == ["stamp: colour must be one of red, blue"]
    refused, problems = action_forms.params_from_form(spec, MultiDict({"a0-copies": "three"}), "a0", {}, "/p")
    assert [p["field"] for p in problems] == ["/p/copies"]
