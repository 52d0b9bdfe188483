"""The retail_loyalty pack, on SQLite and PostgreSQL: the points ledger keeps a balance
that never goes negative (also under concurrent redemptions), entries are immutable,
redemptions take stock and points in one transaction, the rolling 12-month figures drive
tier rules up and down, trial sign-ups convert into members, and the whole pack installs
with its demo data from the CLI and is usable through the API."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import update

from engine.cli import cli
from engine.errors import Conflict, ValidationFailed
from engine.install import Install
from engine.packs.service import PackService
from engine.packs import Pack
from engine.plugins import Plugins
from tests.conftest import token_for
from workflows import schedules
from workflows.runtime import runtime_of
from workflows.transitions import perform

PACK_DIR = Path(__file__).resolve().parents[2] / "plugins" / "retail_loyalty"
LANGS = {"en", "zh-CN"}


@pytest.fixture
def plugins() -> Plugins:
    """The installed plugins, found through their entry points: the built-in packs."""
    return Plugins()


@pytest.fixture
def shop(install):
    """Tenant `shop` with retail_loyalty (and crm_core beneath it), no demo data."""
    install.registry.create("shop")
    PackService(install).install("shop", "retail_loyalty")
    return install.session("shop")


def now_iso(delta=timedelta()) -> str:
    return (datetime.now(timezone.utc) + delta).isoformat()


def new_member(session, name="Li Lei", **values) -> int:
    party = session.records.create("party", {"name": name})
    return session.records.create("membership", {"party": party["id"], **values})["id"]


def entry(session, membership, kind, points, delta=timedelta(), **values) -> dict:
    return session.records.create("points_entry", {"membership": membership, "kind": kind, "points": points,
                                                   "occurred_at": now_iso(delta), **values})


def balance(session, membership) -> int:
    return session.records.get("membership", membership)["points_balance"]


def entries_of(session, membership) -> list:
    return session.records.list("points_entry", [("membership", str(membership)), ("limit", "200")])["items"]


def drain(install, slug="shop") -> dict:
    return runtime_of(install).jobs.drain(slug)


# -- the bundle --------------------------------------------------------------------------------
def _labels(node, path="") -> list:
    """Every label-like language map in the bundle, with its path."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}/{node.get('name', key) if key in ('label', 'plural_label', 'help') else key}"
            if key in ("label", "plural_label", "help", "subject", "body"):
                found.append((f"{path}/{key}", value))
            else:
                found += _labels(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _labels(value, f"{path}/{index}")
    return found


def test_the_bundle_speaks_english_and_chinese_and_has_a_form_and_a_list_for_every_entity():
    manifest = json.loads((PACK_DIR / "pack.json").read_text(encoding="utf-8"))
    bundle = Pack.from_directory(PACK_DIR).bundle
    assert manifest["version"] == "1.0.0" and manifest["depends"] == ["crm_core"]
    assert set(manifest["label"]) == LANGS and set(manifest["description"]) == LANGS
    labels = _labels(bundle)
    assert len(labels) > 100
    assert [p for p, v in labels if not isinstance(v, dict) or not LANGS <= set(v)] == []
    for entity in bundle["entities"]:
        assert LANGS <= set(entity["label"])
        for field in entity["fields"]:
            assert LANGS <= set(field["label"]), (entity["name"], field["name"])
        kinds = {layout["kind"] for layout in bundle["layouts"] if layout["entity"] == entity["name"]}
        assert kinds == {"form", "list"}, entity["name"]
    tiers = next(f for e in bundle["entities"] if e["name"] == "membership" for f in e["fields"] if f["name"] == "tier")
    assert [o["label"]["zh-CN"] for o in tiers["options"]] == ["会员卡", "银卡", "金卡", "钻石卡"]
    assert {t["name"] for t in bundle["templates"]} == {"loyalty_welcome", "tier_upgrade"}


# -- the ledger --------------------------------------------------------------------------------
def test_ledger_arithmetic_and_rolling_figures(shop):
    card = new_member(shop)
    assert balance(shop, card) == 0
    entry(shop, card, "earn", 1000, purchase_amount="4000.50")
    entry(shop, card, "earn", 700, timedelta(days=-400), purchase_amount="2800")   # outside 12 months
    entry(shop, card, "redeem", 300)
    entry(shop, card, "adjust", -50, reason="double-counted receipt")
    entry(shop, card, "adjust", 20, reason="goodwill")
    entry(shop, card, "expire", 100)
    record = shop.records.get("membership", card)
    assert record["points_balance"] == 1000 + 700 - 300 - 50 + 20 - 100 == 1270
    assert record["points_12m"] == 1000                   # earned within the window only
    assert Decimal(record["spend_12m"]) == Decimal("4000.50")
    assert len(entries_of(shop, card)) == 6
    # the figures were written as audited updates
    history = shop.records.history("membership", card)
    assert any("points_12m" in (h.get("changes") or {}) for h in history)


@pytest.mark.parametrize("kind,points", [("earn", 0), ("earn", -5), ("redeem", -10), ("expire", 0), ("adjust", 0)])
def test_points_take_their_sign_from_the_kind(shop, kind, points):
    card = new_member(shop)
    entry(shop, card, "earn", 100)
    with pytest.raises(ValidationFailed) as refused:
        entry(shop, card, kind, points)
    assert refused.value.details[0]["field"] == "points"
    assert balance(shop, card) == 100 and len(entries_of(shop, card)) == 1


def test_a_redemption_beyond_the_balance_is_refused_and_nothing_is_written(shop):
    card = new_member(shop)
    entry(shop, card, "earn", 500)
    with pytest.raises(ValidationFailed) as refused:
        entry(shop, card, "redeem", 501)
    assert refused.value.code == "insufficient_points"
    assert "balance of 500 points" in refused.value.message and "needs 501" in refused.value.message
    with pytest.raises(ValidationFailed):
        entry(shop, card, "adjust", -501)
    assert balance(shop, card) == 500 and len(entries_of(shop, card)) == 1

    # a redemption: no redemption row, no ledger entry, stock untouched
    reward = shop.records.create("reward", {"name": "Thermos", "points_cost": 300, "stock": 5})["id"]
    with pytest.raises(ValidationFailed) as refused:
        shop.records.create("redemption", {"membership": card, "reward": reward, "quantity": 2})
    assert refused.value.code == "insufficient_points" and "500" in refused.value.message
    assert shop.records.list("redemption")["items"] == []
    assert shop.records.get("reward", reward)["stock"] == 5
    assert balance(shop, card) == 500 and len(entries_of(shop, card)) == 1


def test_a_redemption_takes_stock_and_points_together_and_cancelling_gives_them_back(shop):
    card = new_member(shop)
    entry(shop, card, "earn", 1000)
    reward = shop.records.create("reward", {"name": "Tote", "points_cost": 200, "stock": 3})["id"]
    taken = shop.records.create("redemption", {"membership": card, "reward": reward, "quantity": 2})
    assert taken["status"] == "requested"
    assert shop.records.get("reward", reward)["stock"] == 1
    assert balance(shop, card) == 600
    redeem = [e for e in entries_of(shop, card) if e["kind"] == "redeem"]
    assert [(e["points"], e["redemption"]) for e in redeem] == [(400, taken["id"])]
    assert shop.records.history("points_entry", redeem[0]["id"])[0]["action"] == "create"   # audited

    with pytest.raises(ValidationFailed) as refused:   # 2 more: only 1 in stock
        shop.records.create("redemption", {"membership": card, "reward": reward, "quantity": 2})
    assert refused.value.code == "out_of_stock"
    assert balance(shop, card) == 600 and shop.records.get("reward", reward)["stock"] == 1
    with pytest.raises(ValidationFailed) as refused:        # read-only once the points are taken
        shop.records.update("redemption", taken["id"], {"quantity": 1})
    assert refused.value.details == [{"field": "quantity", "code": "read_only", "message": "is read-only"}]

    perform(shop, "redemption", taken["id"], "cancel", comment="changed her mind")
    assert shop.records.get("reward", reward)["stock"] == 3
    assert balance(shop, card) == 1000
    refund = [e for e in entries_of(shop, card) if e["kind"] == "adjust"]
    assert [(e["points"], e["redemption"]) for e in refund] == [(400, taken["id"])]

    shop.records.update("reward", reward, {"active": False})
    with pytest.raises(ValidationFailed) as refused:
        shop.records.create("redemption", {"membership": card, "reward": reward})
    assert refused.value.code == "reward_inactive"


def test_ledger_entries_are_immutable_and_kept_figures_are_read_only(shop):
    card = new_member(shop)
    first = entry(shop, card, "earn", 100)
    with pytest.raises(Conflict) as refused:
        shop.records.update("points_entry", first["id"], {"points": 1000})
    assert refused.value.code == "ledger_immutable" and "adjust" in refused.value.message
    with pytest.raises(Conflict) as refused:
        shop.records.delete("points_entry", first["id"])
    assert refused.value.code == "ledger_immutable"
    assert shop.records.get("points_entry", first["id"])["points"] == 100

    with pytest.raises(ValidationFailed):          # readonly in the metadata
        shop.records.update("membership", card, {"points_balance": 10_000})
    with pytest.raises(ValidationFailed) as refused:  # and kept by the ledger from actions too
        shop.for_actions().records.update("membership", card, {"points_balance": 10_000})
    assert refused.value.code == "kept_by_ledger"
    with pytest.raises(ValidationFailed) as refused:
        shop.records.update("membership", card, {"points_12m": 10_000})
    assert refused.value.code == "kept_by_ledger"
    with pytest.raises(ValidationFailed):
        new_member(shop, "Han Meimei", points_balance=500)
    assert balance(shop, card) == 100
    shop.records.update("membership", card, {"tier": "silver"})   # other fields stay editable


def test_a_cancelled_card_earns_and_spends_nothing(shop):
    card = new_member(shop)
    entry(shop, card, "earn", 100)
    perform(shop, "membership", card, "cancel")
    with pytest.raises(ValidationFailed) as refused:
        entry(shop, card, "earn", 100)
    assert refused.value.code == "membership_cancelled"
    entry(shop, card, "expire", 100)   # bookkeeping still works
    assert balance(shop, card) == 0


@pytest.mark.parametrize("threads", [8])
def test_concurrent_redemptions_never_overdraw(install, shop, threads):
    """Threads redeem (entries and redemptions) and earn against one card at once: the
    balance never goes below zero and is what was earned less what was taken."""
    card = new_member(shop)
    entry(shop, card, "earn", 1000)
    reward = shop.records.create("reward", {"name": "Coffee", "points_cost": 150, "stock": 100})["id"]
    start = threading.Barrier(threads)
    outcomes, lock = [], threading.Lock()

    def work(n):
        session = install.session("shop")
        start.wait()
        for attempt in range(4):
            try:
                if n == 0 and attempt < 2:
                    entry(session, card, "earn", 100)
                    done = ("earn", -100)
                elif (n + attempt) % 2:
                    session.records.create("redemption", {"membership": card, "reward": reward})
                    done = ("redemption", 150)
                else:
                    entry(session, card, "redeem", 130)
                    done = ("entry", 130)
            except ValidationFailed as exc:
                assert exc.code == "insufficient_points", exc
                done = ("refused", 0)
            with lock:
                outcomes.append(done)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(outcomes) == threads * 4
    assert sum(1 for kind, _ in outcomes if kind == "refused") > 0     # the points ran out
    taken = sum(points for _, points in outcomes)
    record = shop.records.get("membership", card)
    assert record["points_balance"] >= 0
    assert record["points_balance"] == 1000 - taken
    assert record["points_12m"] == 1200                   # every concurrent earn counted once
    ledger = entries_of(shop, card)
    assert sum(e["points"] if e["kind"] == "earn" else -e["points"] for e in ledger) == record["points_balance"]
    redemptions = sum(1 for kind, _ in outcomes if kind == "redemption")
    assert shop.records.get("reward", reward)["stock"] == 100 - redemptions
    assert len(shop.records.list("redemption", [("limit", "200")])["items"]) == redemptions


# -- the balance invariant, for any sequence -----------------------------------------------------
OPERATIONS = st.lists(st.tuples(st.sampled_from(["earn", "redeem", "redeem", "adjust"]),
                                st.integers(min_value=-300, max_value=600)), min_size=1, max_size=12)


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_the_balance_is_the_sum_of_accepted_entries_and_never_negative(shop, operations):
    card = new_member(shop)
    expected, accepted = 0, 0
    for kind, points in operations:
        points = points if kind == "adjust" else abs(points)
        delta = points if kind in ("earn", "adjust") else -points
        valid = points != 0
        try:
            entry(shop, card, kind, points)
        except ValidationFailed as exc:
            assert not valid or expected + delta < 0, (kind, points, expected, exc)
        else:
            assert valid and expected + delta >= 0
            expected += delta
            accepted += 1
        assert balance(shop, card) == expected >= 0
    assert len(entries_of(shop, card)) == accepted


# -- tiers, schedules, trials ---------------------------------------------------------------------
def test_tier_rules_upgrade_and_downgrade_on_the_rolling_figures(install, shop):
    card = new_member(shop)
    entry(shop, card, "earn", 600)
    entry(shop, card, "earn", 500)                            # 1,100 points: silver
    drain(install)
    assert shop.records.get("membership", card)["tier"] == "silver"
    entry(shop, card, "earn", 100, purchase_amount="20000")   # spend 20,000: gold
    drain(install)
    assert shop.records.get("membership", card)["tier"] == "gold"
    for _ in range(3):                                         # several updates queued before a drain
        entry(shop, card, "earn", 7000)                       # 22,200 points: diamond
    drain(install)
    record = shop.records.get("membership", card)
    assert (record["tier"], record["points_12m"]) == ("diamond", 22200)
    assert drain(install) == {"done": 0, "retry": 0, "failed": 0}     # no rule loop

    # a year goes by: the nightly schedule drops what left the window and the tier follows
    entries = shop.metadata().tables["points_entry"]
    with shop.storage.begin() as conn:
        conn.execute(update(entries).where(entries.c.membership == card, entries.c.points == 7000)
                     .values(occurred_at=datetime.now(timezone.utc) - timedelta(days=380)))
    tomorrow = datetime.now(timezone.utc).replace(hour=12, minute=0) + timedelta(days=1)
    schedules.run_schedules(install.session("shop"), tomorrow, runtime_of(install)._fire_scheduled)
    drain(install)
    record = shop.records.get("membership", card)
    assert record["points_12m"] == 1200 and record["tier"] == "gold"       # still ¥20,000 spend
    assert record["points_balance"] == 22200                  # the balance itself does not expire here


def test_unspent_points_older_than_two_years_expire_oldest_first(install, shop):
    card = new_member(shop)
    entry(shop, card, "earn", 1000, timedelta(days=-800))     # old
    entry(shop, card, "earn", 500)
    entry(shop, card, "redeem", 300)                          # spends old points first
    tomorrow = datetime.now(timezone.utc).replace(hour=12, minute=0) + timedelta(days=1)
    schedules.run_schedules(install.session("shop"), tomorrow, runtime_of(install)._fire_scheduled)
    expired = [e for e in entries_of(shop, card) if e["kind"] == "expire"]
    assert [e["points"] for e in expired] == [700]
    assert balance(shop, card) == 500
    schedules.run_schedules(install.session("shop"), tomorrow, runtime_of(install)._fire_scheduled)
    assert len([e for e in entries_of(shop, card) if e["kind"] == "expire"]) == 1   # once


def test_a_trial_sign_up_converts_into_an_active_member(install, shop):
    shop.records.create("party", {"name": "Han Meimei (old record)", "email": "han@example.cn"})
    signup = shop.records.create("trial_signup", {"name": "Han Meimei", "email": "han@example.cn",
                                                  "phone": "+86 139 0000 1234", "product_interest": "serum"})
    fresh = shop.records.create("trial_signup", {"name": "Wei Dong", "phone": "+86 139 0000 9999"})
    perform(shop, "trial_signup", signup["id"], "convert")
    perform(shop, "trial_signup", fresh["id"], "convert")
    drain(install)
    converted = shop.records.get("trial_signup", signup["id"])
    assert converted["status"] == "converted"
    party = shop.records.get("party", converted["party"])
    assert party["name"] == "Han Meimei (old record)"        # the same customer, not a duplicate
    card = shop.records.get("membership", converted["membership"])
    assert (card["party"], card["status"], card["email"]) == (party["id"], "active", "han@example.cn")
    assert card["number"].startswith("M")
    other = shop.records.get("trial_signup", fresh["id"])
    new_party = shop.records.get("party", other["party"])
    assert new_party["name"] == "Wei Dong" and "member" in (new_party["roles"] or [])
    assert len(shop.records.list("membership")["items"]) == 2
    assert drain(install)["done"] == 0


# -- acceptance: the CLI installs the pack with its demo data; the API shows and drives it -------------
def test_acceptance_tenant_with_the_pack_and_demo_through_the_cli_and_the_api(settings):
    from engine.app import create_app

    loom = Install(settings, Plugins())
    try:
        cli.add_plugin_commands()
        result = CliRunner().invoke(cli, ["tenant", "create", "shop", "--pack", "retail_loyalty", "--demo"],
                                    obj=loom, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "created tenant shop" in result.output
        api = create_app(loom, {"TESTING": True}).test_client()
        token = token_for(loom, "shop", "auditor@shop.example")
        headers = {"Authorization": f"Bearer {token}"}
        base = "/api/v1/t/shop/records"

        members = api.get(f"{base}/membership?limit=100", headers=headers).get_json()["items"]
        assert len(members) >= 10
        assert {m["tier"] for m in members} >= {"member", "silver", "gold", "diamond"}
        assert all(m["points_balance"] >= 0 for m in members)
        entries = api.get(f"{base}/points_entry?limit=200", headers=headers).get_json()["items"]
        assert {e["kind"] for e in entries} >= {"earn", "redeem"}
        rewards = api.get(f"{base}/reward", headers=headers).get_json()["items"]
        assert len(rewards) >= 4
        assert api.get(f"{base}/redemption", headers=headers).get_json()["items"]
        assert api.get(f"{base}/club", headers=headers).get_json()["items"]
        assert api.get(f"{base}/trial_signup", headers=headers).get_json()["items"]

        drain(loom)
        silver = next(m for m in api.get(f"{base}/membership?tier=silver&status=active&sort=-points_12m",
                                         headers=headers).get_json()["items"])
        assert silver["points_12m"] < 5000
        for points in (1500, 1500):
            answer = api.post(f"{base}/points_entry", headers=headers, json={
                "membership": silver["id"], "kind": "earn", "points": points,
                "occurred_at": now_iso(), "purchase_amount": "3000", "reason": "Weekend sale"})
            assert answer.status_code == 201, answer.get_json()
        drain(loom)
        now = api.get(f"{base}/membership/{silver['id']}", headers=headers).get_json()
        assert now["points_12m"] >= 5000 and now["tier"] == "gold"
        assert now["points_balance"] == silver["points_balance"] + 3000

        refused = api.post(f"{base}/points_entry", headers=headers, json={
            "membership": silver["id"], "kind": "redeem", "points": now["points_balance"] + 1,
            "occurred_at": now_iso()})
        assert refused.status_code == 400
        assert refused.get_json()["error"]["code"] == "insufficient_points"
        entry_id = entries[0]["id"]
        changed = api.patch(f"{base}/points_entry/{entry_id}", headers=headers, json={"points": 1})
        assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "ledger_immutable"
    finally:
        loom.dispose()


def test_a_tenant_without_the_pack_is_untouched(install):
    install.registry.create("plain")
    PackService(install).install("plain", "crm_core")
    session = install.session("plain")
    assert "retail_loyalty" not in session.enabled
    assert session.metadata().entity("membership") is None
    assert "loyalty_refresh" not in session.actions()
