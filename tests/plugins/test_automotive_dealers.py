"""The automotive_dealers pack: the `vin` field type (unit tests and a property), the
bundle's shape, and acceptance on real databases (SQLite and PostgreSQL): a tenant made by
`loom tenant create cars --pack automotive_dealers --demo`, then driven through the Flask
API, the job queue and the schedule sweep, with a real SMTP server catching the mail."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings as hsettings, strategies as st

from engine.auth import create_token, create_user
from engine.cli import cli
from engine.install import Install
from engine.packs import Pack
from engine.plugins import Plugins
from metadata import load_package
from metadata.layering import compose
from plugins.automotive_dealers.vin import ALPHABET, check_digit, check_vin, with_check_digit
from tenants import Settings
from tests.conftest import PG_URL, drop_prefixed_schemas, require_postgres
from tests.mail import running_smtp
from workflows.runtime import runtime_of
from workflows.schedules import run_schedules

PACK_DIR = Path(__file__).resolve().parents[2] / "plugins" / "automotive_dealers"
CRM_DIR = PACK_DIR.parent / "crm_core"
LANGUAGES = {"en", "zh-CN"}


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


# -- the vin field type -------------------------------------------------------------------------

@pytest.mark.parametrize("vin", ["1M8GDM9AXKP042788", "11111111111111111", "1HGCM82633A004352",
                                 "JH4KA7561PC008269"])
def test_known_valid_vins_pass(vin):
    assert check_vin(vin) == vin


def test_lower_case_is_normalised_to_upper_case():
    assert check_vin("1m8gdm9axkp042788") == "1M8GDM9AXKP042788"
    assert check_vin("  1m8gdm9axkp042788 ") == "1M8GDM9AXKP042788"


def test_the_check_digit_may_be_x():
    assert check_digit("1M8GDM9AXKP042788") == "X"


def test_a_wrong_check_digit_says_what_it_is_and_what_it_should_be():
    with pytest.raises(ValueError) as refused:
        check_vin("1M8GDM9A5KP042788")
    assert "check digit is 5, expected X" in str(refused.value)
    with pytest.raises(ValueError, match="check digit is 2, expected 1"):
        check_vin("11111111211111111")


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP04278O", "IM8GDM9AXKP042788", "1M8GDM9AXKQ042788", "1m8gdm9axkp04278o"])
def test_i_o_and_q_are_refused(vin):
    with pytest.raises(ValueError, match="contains I, O or Q"):
        check_vin(vin)


@pytest.mark.parametrize("vin", ["", "1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "WBA"])
def test_a_vin_has_seventeen_characters(vin):
    with pytest.raises(ValueError, match="a VIN has 17 characters"):
        check_vin(vin)


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP04278-", "1M8GDM9AX P042788", "1M8GDM9AXKP0427Ä8"])
def test_other_characters_are_refused_with_their_position(vin):
    with pytest.raises(ValueError, match="position"):
        check_vin(vin)


def test_a_vin_must_be_text():
    with pytest.raises(ValueError):
        check_vin(12345678901234567)


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=16, max_size=16), st.sampled_from("0123456789X"))
def test_inserting_the_computed_check_digit_always_validates_and_any_other_fails(chars, other):
    vin = chars[:8] + check_digit(chars[:8] + "0" + chars[8:]) + chars[8:]
    assert with_check_digit(vin) == vin
    assert check_vin(vin.lower()) == vin
    if other != vin[8]:
        wrong = vin[:8] + other + vin[9:]
        with pytest.raises(ValueError, match=f"check digit is {other}, expected {vin[8]}"):
            check_vin(wrong)


# -- the bundle ---------------------------------------------------------------------------------

def labels(node, path=""):
    """Every (path, label) of a bundle: label, plural_label, help, option labels, messages,
    template subjects and bodies."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("label", "plural_label", "help", "message", "subject", "body"):
                yield f"{path}/{key}", value
            else:
                yield from labels(value, f"{path}/{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from labels(item, f"{path}/{item.get('name', n) if isinstance(item, dict) else n}")


def test_every_label_speaks_english_and_chinese():
    bundle = Pack.from_directory(PACK_DIR).bundle
    found = list(labels(bundle))
    assert len(found) > 300
    bad = [(path, value) for path, value in found
           if not isinstance(value, dict) or set(value) != LANGUAGES or not all(value.values())]
    assert bad == []
    for entity in bundle["entities"]:
        for field in entity["fields"]:
            assert set(field["label"]) == LANGUAGES, (entity["name"], field["name"])
            for option in field.get("options", ()):
                assert isinstance(option, dict) and set(option["label"]) == LANGUAGES, (entity["name"], option)


def test_every_entity_has_a_form_and_a_list_and_dealer_scoped_ones_are_shared_by_dealer():
    bundle = Pack.from_directory(PACK_DIR).bundle
    kinds = {(layout["entity"], layout["kind"]) for layout in bundle["layouts"]}
    for entity in bundle["entities"]:
        assert {(entity["name"], "form"), (entity["name"], "list")} <= kinds, entity["name"]
    rule = {"field": "dealer", "user": "dealer", "access": "edit"}
    sharing = {e["name"]: e.get("sharing") for e in bundle["entities"]}
    for name in ("vehicle", "vehicle_ownership", "test_drive", "service_appointment", "repair_order",
                 "maintenance_reminder", "recall_notice"):
        assert rule in sharing[name]["rules"] and sharing[name]["default"] == "none", name
    assert sharing["warranty"]["rules"] == [{"parent": "vehicle", "access": "read"}]
    extended = {c["path"]: c.get("value") for c in bundle["extends"]}
    assert extended["/entities/party/sharing"]["rules"] == [rule]
    assert extended["/entities/opportunity/sharing/rules"] == [rule]


def test_the_bundle_composed_over_crm_core_is_a_valid_package():
    document, origins = compose([("crm_core", Pack.from_directory(CRM_DIR).bundle),
                                 ("automotive_dealers", Pack.from_directory(PACK_DIR).bundle)])
    package = load_package(document, extra_types={"vin": "string"})
    assert origins["/entities/vehicle"] == "automotive_dealers"
    assert origins["/entities/opportunity/fields/dealer"] == "automotive_dealers"
    assert {"vehicle_model", "dealer"} <= set(package.entity("opportunity").field_names())
    assert package.entity("party").field("dealer").to == "dealer"


def test_manifest():
    manifest = read(PACK_DIR / "pack.json")
    assert (manifest["name"], manifest["version"], manifest["depends"]) == ("automotive_dealers", "1.0.0",
                                                                           ["crm_core"])
    assert set(manifest["label"]) == set(manifest["description"]) == LANGUAGES


def test_every_demo_vin_is_valid_and_unique():
    demo = read(PACK_DIR / "demo.json")
    vins = [r["values"]["vin"] for r in demo["records"] if r["entity"] == "vehicle"]
    assert len(vins) == 8 == len(set(vins))
    assert [check_vin(v) for v in vins] == vins


# -- acceptance on real databases ---------------------------------------------------------------

@pytest.fixture(scope="module")
def smtp():
    with running_smtp() as collector:
        yield collector


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cars(request, tmp_path_factory, smtp):
    """Tenant `cars` made by the CLI with the pack and its demo (one per backend and module:
    the tests below touch different records)."""
    if request.param == "postgresql":
        require_postgres()
        settings = Settings(data_dir=tmp_path_factory.mktemp("cars_pg"), database_url=PG_URL,
                            schema_prefix=f"t{uuid.uuid4().hex[:8]}_")
    else:
        settings = Settings(data_dir=tmp_path_factory.mktemp("cars"))
    settings.extra.update(LOOM_SMTP_HOST="127.0.0.1", LOOM_SMTP_PORT=str(smtp.port),
                          LOOM_SMTP_FROM="service@cars.example")
    install = Install(settings, Plugins())
    result = CliRunner().invoke(cli, ["tenant", "create", "cars", "--pack", "automotive_dealers", "--demo"],
                                obj=install)
    assert result.exit_code == 0, result.output + repr(result.exception)
    create_user(install.session("cars").storage, "admin@cars.example", "admin")
    yield Cars(install, result.output)
    install.dispose()
    if settings.database_url:
        drop_prefixed_schemas(settings.schema_prefix)


class Cars:
    """The tenant, its API and its demo records."""

    def __init__(self, install, output):
        from engine.app import create_app

        self.install, self.output = install, output
        self.session = install.session("cars")
        self.client = create_app(install, {"TESTING": True}).test_client()
        self.tokens = {}

    def work(self):
        return runtime_of(self.install).jobs.drain("cars")

    def call(self, method, path, as_="admin@cars.example", body=None):
        if as_ not in self.tokens:
            self.tokens[as_] = create_token(self.session.storage, as_)
        response = self.client.open(f"/api/v1/t/cars{path}", method=method, json=body,
                                    headers={"Authorization": f"Bearer {self.tokens[as_]}"})
        return response.status_code, response.get_json()

    def all(self, entity, *params):
        return self.session.records.list(entity, list(params) + [("limit", "200")])["items"]

    def one(self, entity, **where):
        [found] = self.all(entity, *((k, str(v)) for k, v in where.items()))
        return found


NORTH_STAFF = "sun.li@north-motors.example"
NORTH_MANAGER = "zhao.min@north-motors.example"
SOUTH_STAFF = "lin.na@south-motors.example"
CALL_AGENT = "agent.wu@callcentre.example"


def test_the_cli_creates_the_tenant_with_the_pack_and_its_demo(cars):
    assert "automotive_dealers" in cars.output and "crm_core" in cars.output
    vehicles = cars.all("vehicle")
    assert len(vehicles) == 8 and all(check_vin(v["vin"]) == v["vin"] for v in vehicles)
    assert {d["code"] for d in cars.all("dealer")} == {"BJ-001", "GZ-001"}
    assert {b["tier"] for b in cars.all("brand")} == {"standard", "luxury"}
    assert len(cars.all("test_drive")) == 1 and len(cars.all("service_appointment")) == 1
    [order] = cars.all("repair_order")
    assert order["status"] == "in_progress"
    assert {q["target_kind"] for q in cars.all("call_queue")} == {"handled_calls", "satisfaction"}
    assert cars.one("recall", campaign_code="RC-2025-017")["status"] == "active"
    status, body = cars.call("GET", "/records/vehicle?limit=200")
    assert status == 200 and len(body["items"]) == 8


def test_an_invalid_vin_is_refused_by_the_api_naming_the_field(cars):
    model = cars.one("model", name="H5")["id"]
    dealer = cars.one("dealer", code="BJ-001")["id"]
    status, body = cars.call("POST", "/records/vehicle",
                             body={"vin": "LHZA1B2C4NA100077", "model": model, "dealer": dealer})
    assert status == 400
    [detail] = body["error"]["details"]
    expected = check_digit("LHZA1B2C4NA100077")
    assert detail["field"] == "vin" and f"check digit is 4, expected {expected}" in detail["message"]
    status, body = cars.call("POST", "/records/vehicle", body={"vin": "LHZA1B2CONA100077", "model": model})
    assert status == 400 and body["error"]["details"][0]["field"] == "vin"
    assert "contains I, O or Q" in body["error"]["details"][0]["message"]
    status, body = cars.call("POST", "/records/vehicle", body={"vin": "LHZA1B2", "model": model})
    assert status == 400 and "17 characters" in body["error"]["details"][0]["message"]
    good = with_check_digit("lhza1b2c0na100077").lower()
    status, body = cars.call("POST", "/records/vehicle", body={"vin": good, "model": model, "dealer": dealer})
    assert status == 201 and body["vin"] == good.upper()
    assert cars.call("DELETE", f"/records/vehicle/{body['id']}")[0] == 200


def test_dealer_staff_see_only_their_dealers_vehicles_and_customers(cars):
    north, south = cars.one("dealer", code="BJ-001")["id"], cars.one("dealer", code="GZ-001")["id"]
    status, body = cars.call("GET", "/records/vehicle?limit=200", as_=NORTH_STAFF)
    assert status == 200 and len(body["items"]) == 4 and {v["dealer"] for v in body["items"]} == {north}
    status, body = cars.call("GET", "/records/party?limit=200", as_=NORTH_STAFF)
    assert status == 200 and {p["dealer"] for p in body["items"]} == {north} and len(body["items"]) == 3
    status, body = cars.call("GET", "/records/party?q=Zhao", as_=NORTH_STAFF)
    assert status == 200 and body["items"] == []

    southern_car = next(v for v in cars.all("vehicle") if v["dealer"] == south)
    southern_customer = cars.one("party", email="zhao.lei@example.cn")
    for path in (f"/records/vehicle/{southern_car['id']}", f"/records/party/{southern_customer['id']}"):
        status, body = cars.call("GET", path, as_=NORTH_STAFF)
        assert status == 404 and body["error"]["code"] == "record_not_found"
        assert cars.call("GET", path, as_=SOUTH_STAFF)[0] == 200
    status, _ = cars.call("PATCH", f"/records/vehicle/{southern_car['id']}", as_=NORTH_STAFF, body={"colour": "pink"})
    assert status == 404
    assert cars.call("GET", "/records/repair_order", as_=NORTH_STAFF)[1]["items"] == []
    assert len(cars.call("GET", "/records/repair_order", as_=SOUTH_STAFF)[1]["items"]) == 1
    # Sales (crm_core's opportunity, extended) and test drives follow the dealer too.
    for entity, north_count, south_count in (("opportunity", 1, 1), ("test_drive", 1, 0),
                                             ("vehicle_ownership", 3, 5)):
        for who, count, dealer in ((NORTH_STAFF, north_count, north), (SOUTH_STAFF, south_count, south)):
            status, body = cars.call("GET", f"/records/{entity}?limit=200", as_=who)
            assert status == 200 and len(body["items"]) == count, (entity, who)
            assert {r["dealer"] for r in body["items"]} <= {dealer}
    # Warranties are visible with the vehicle they cover (a parent rule), read-only.
    status, body = cars.call("GET", "/records/warranty", as_=NORTH_STAFF)
    northern_ids = {v["id"] for v in cars.all("vehicle") if v["dealer"] == north}
    assert status == 200 and len(body["items"]) == 3 and {w["vehicle"] for w in body["items"]} <= northern_ids
    status, body = cars.call("PATCH", f"/records/warranty/{body['items'][0]['id']}", as_=NORTH_STAFF,
                             body={"mileage_limit": 1})
    assert status == 403 and body["error"]["code"] == "read_only"
    # A manager sees their staff's records; the call centre sees both dealers.
    assert len(cars.call("GET", "/records/vehicle?limit=200", as_=NORTH_MANAGER)[1]["items"]) == 4
    assert len(cars.call("GET", "/records/vehicle?limit=200", as_=CALL_AGENT)[1]["items"]) >= 8
    # Creating: the dealer is filled in from the user; another dealer's is refused.
    model = cars.one("model", name="H7")["id"]
    vin = with_check_digit("LHZB3C4D0PA299991")
    status, body = cars.call("POST", "/records/vehicle", as_=NORTH_STAFF, body={"vin": vin, "model": model})
    assert status == 201 and body["dealer"] == north
    status, body = cars.call("POST", "/records/vehicle", as_=NORTH_STAFF,
                             body={"vin": with_check_digit("LHZB3C4D0PA299992"), "model": model, "dealer": south})
    assert status == 403 and body["error"]["code"] == "not_shared"


def test_calls_are_routed_to_the_queue_of_their_brand_tier(cars):
    cars.work()
    queues = {q["brand_tier"]: q for q in cars.all("call_queue")}
    standard_car = cars.one("vehicle", vin=with_check_digit("LHZA1B2C0NA100001"))
    luxury_car = cars.one("vehicle", vin=with_check_digit("LSVM7G8H0RB400008"))
    luxury_owner = cars.one("party", email="feng.xue@example.cn")
    made = {}
    for name, body in (("standard", {"vehicle": standard_car["id"], "topic": "service"}),
                       ("luxury", {"vehicle": luxury_car["id"], "topic": "complaint"}),
                       ("by_owner", {"party": luxury_owner["id"], "topic": "sales"}),
                       ("by_number", {"caller_phone": "0086-139-0000-0005"}),  # her "+86 139 0000 0005"
                       ("unknown", {"caller_phone": "+86 135 0000 9999"})):
        status, made[name] = cars.call("POST", "/records/call", as_=CALL_AGENT, body=body)
        assert status == 201 and made[name]["queue"] is None
    assert cars.work()["failed"] == 0
    routed = {name: cars.session.records.get("call", call["id"]) for name, call in made.items()}
    assert routed["standard"]["queue"] == queues["standard"]["id"] and routed["standard"]["brand_tier"] == "standard"
    assert routed["luxury"]["queue"] == queues["luxury"]["id"] and routed["luxury"]["brand_tier"] == "luxury"
    assert routed["by_owner"]["queue"] == queues["luxury"]["id"]
    assert (routed["by_number"]["party"], routed["by_number"]["queue"]) == (luxury_owner["id"], queues["luxury"]["id"])
    assert routed["unknown"]["queue"] == queues["standard"]["id"] and routed["unknown"]["party"] is None
    # The demo calls were routed too, and each queue measures what its tier is paid for.
    for call in cars.all("call"):
        assert call["queue"] is not None
    status, _ = cars.call("PATCH", f"/records/call/{made['luxury']['id']}", as_=CALL_AGENT,
                          body={"handled_at": "2025-05-01T10:00:00Z", "duration": 300, "satisfaction": 2})
    assert status == 200
    cars.work()
    luxury = cars.session.records.get("call_queue", queues["luxury"]["id"])
    handled = [c for c in cars.all("call", ("queue", str(luxury["id"]))) if c["handled_at"]]
    scores = [c["satisfaction"] for c in handled]
    assert luxury["handled_calls"] == len(handled) and luxury["average_satisfaction"] == f"{sum(scores) / len(scores):.2f}"
    assert luxury["target_met"] is (sum(scores) / len(scores) >= 4.5)
    # The policy of the documents: luxury desks are measured on satisfaction.
    status, body = cars.call("POST", "/records/call_queue", body={
        "name": "Luxury overflow", "brand_tier": "luxury", "target_kind": "handled_calls", "target_value": 50})
    assert status == 400 and body["error"]["code"] == "rule_refused"


def test_maintenance_reminders_fire_by_mileage_and_by_date(cars, smtp):
    cars.work()
    car = cars.one("vehicle", vin=with_check_digit("LHZB3C4D0PA200003"))     # 14,800 km, service at 15,000
    assert (car["mileage"], car["next_service_mileage"]) == (14800, 15000)
    # A maintenance reminder is marketing: the owner gets it only with that consent.
    wang = cars.one("party", email="wang.qiang@example.cn")
    assert cars.call("POST", "/records/consent", body={"party": wang["id"], "purpose": "marketing",
                                                       "granted": True, "channel": "in_person"})[0] == 201
    sent_before = len(smtp.envelopes)
    status, _ = cars.call("PATCH", f"/records/vehicle/{car['id']}", as_=NORTH_STAFF, body={"mileage": 14950})
    assert status == 200
    cars.work()
    assert cars.all("maintenance_reminder", ("vehicle", str(car["id"]))) == []     # not crossed yet
    status, _ = cars.call("PATCH", f"/records/vehicle/{car['id']}", as_=NORTH_STAFF, body={"mileage": 15020})
    assert status == 200
    assert cars.work()["failed"] == 0
    [reminder] = cars.all("maintenance_reminder", ("vehicle", str(car["id"])))
    assert (reminder["reason"], reminder["mileage"], reminder["due_mileage"]) == ("mileage", 15020, 15000)
    assert reminder["owner_email"] == "wang.qiang@example.cn"
    assert reminder["dealer_email"] == "service@north-motors.example"
    recipients = sorted(r for e in smtp.envelopes[sent_before:] for r in e.rcpt_tos)
    assert recipients == ["service@north-motors.example", "wang.qiang@example.cn"]
    # The northern staff see the reminder; the southern do not.
    assert cars.call("GET", f"/records/maintenance_reminder/{reminder['id']}", as_=NORTH_STAFF)[0] == 200
    assert cars.call("GET", f"/records/maintenance_reminder/{reminder['id']}", as_=SOUTH_STAFF)[0] == 404

    # By date: the timer rule fires 14 days before next_service_due (the demo's S9 is due
    # in 14 days), once per record and day.
    due_car = cars.one("vehicle", vin=with_check_digit("LSVM7G8H0RB400007"))
    assert due_car["next_service_due"] == (datetime.now(timezone.utc).date() + timedelta(days=14)).isoformat()
    # The sweep as the worker's minute tick runs it, at 09:30 today (the rule's `at` is 09:00).
    runtime, start = runtime_of(cars.install), len(smtp.envelopes)
    nine_thirty = datetime.combine(datetime.now(timezone.utc).date(), time(9, 30), timezone.utc)
    swept = run_schedules(cars.session, nine_thirty, runtime._fire_scheduled)
    assert swept["fired"] >= 1 and swept["failed"] == 0
    assert run_schedules(cars.session, nine_thirty + timedelta(minutes=1), runtime._fire_scheduled)["fired"] == 0
    [by_date] = cars.all("maintenance_reminder", ("vehicle", str(due_car["id"])))
    assert by_date["reason"] == "date" and by_date["due_on"] == due_car["next_service_due"]
    cars.work()
    # In the owner's language (the demo customers speak Chinese) — to the dealer only: this
    # owner gave no marketing consent, and the refusal is logged.
    due = [m for m in smtp.messages[start:] if m["Subject"] == f"您的车辆 {due_car['vin']} 需要保养了"]
    assert sorted(m["To"] for m in due) == ["service@north-motors.example"]
    status, refusals = cars.call("GET", "/privacy/consent-refusals?purpose=marketing")
    assert status == 200 and [r["recipient"] for r in refusals["items"]] == ["han.meimei@example.cn"]
    assert f"将于 {due_car['next_service_due']} 到期保养" in due[0].get_content()


def test_launching_a_recall_issues_a_notice_per_affected_vehicle(cars):
    cars.work()
    recall = cars.one("recall", campaign_code="RC-2025-017")
    notices = cars.all("recall_notice", ("recall", str(recall["id"])))
    s9_2024 = [v for v in cars.all("vehicle", ("model", str(recall["model"]))) if v["year"] == 2024]
    assert sorted(n["vehicle"] for n in notices) == sorted(v["id"] for v in s9_2024) and len(notices) == 2
    assert recall["notices"] == 2
    assert all(n["owner_email"] and n["dealer_email"] and n["campaign_code"] == "RC-2025-017" for n in notices)
    north = cars.one("dealer", code="BJ-001")["id"]
    status, body = cars.call("GET", "/records/recall_notice", as_=NORTH_STAFF)
    assert status == 200 and [n["dealer"] for n in body["items"]] == [north]


def test_date_ranges_and_dealer_brands_are_checked(cars):
    car = cars.all("vehicle")[0]
    owner = cars.all("party")[0]
    status, body = cars.call("POST", "/records/vehicle_ownership", body={
        "vehicle": car["id"], "party": owner["id"], "owned_from": "2025-01-01", "owned_to": "2024-01-01"})
    assert status == 400 and body["error"]["details"][0]["field"] == "owned_to"
    status, body = cars.call("POST", "/records/dealer", body={"name": "East", "code": "SH-001", "brands": [999999]})
    assert status == 400 and body["error"]["details"] == [{"field": "brands", "code": "validation_failed", "message": "no brand with id 999999"}]


def test_repair_orders_are_numbered_by_the_worker_and_staff_cannot_renumber_them(cars):
    cars.work()
    assert cars.one("repair_order", dealer=cars.one("dealer", code="GZ-001")["id"])["number"] == "RO-000001"
    vehicle = next(v for v in cars.all("vehicle") if v["dealer"] == cars.one("dealer", code="GZ-001")["id"])
    status, order = cars.call("POST", "/records/repair_order", as_=SOUTH_STAFF,
                              body={"vehicle": vehicle["id"], "work": "tyres"})
    assert status == 201 and order["number"] is None
    assert cars.work()["failed"] == 0
    numbered = cars.session.records.get("repair_order", order["id"])
    assert numbered["number"] == "RO-000002"
    status, body = cars.call("PATCH", f"/records/repair_order/{order['id']}", as_=SOUTH_STAFF,
                             body={"number": "RO-999999"})
    assert status == 400 and body["error"]["details"] == [{"field": "number", "code": "read_only", "message": "is read-only"}]
    assert cars.session.records.get("repair_order", order["id"])["number"] == "RO-000002"
