"""Whole entities in the designer, in Chromium on the demo tenant: an admin creates an
entity with English and Chinese labels, relabels it, moves it in the navigation with the
keyboard, hides another one and publishes — and the shell's navigation follows; a bad
name is refused beside its input; axe on every state, in English and in Chinese. The
designer's main screens at phone width (390×844) are drawn too."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.screens.conftest import assert_accessible, screenshot, sign_in

PUBLISHING = 30_000  # ms: a publish migrates the tenant, and every edit checks the whole draft: slow on a busy machine


def navigation(page) -> list[str]:
    return page.get_by_role("navigation", name="Entities").locator("[x-ref=entities] a").all_inner_texts()


def test_an_admin_creates_relabels_moves_and_hides_entities_and_publishes(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Designer").click()
    entities = page.get_by_role("region", name="Entities")
    add = page.get_by_role("region", name="Add an entity")
    add.get_by_label("Entity name").fill("Store Visit")
    add.get_by_label("Label (English)", exact=True).fill("Visit")
    add.get_by_role("button", name="Add the entity").click()
    expect(add.get_by_text("is not a safe identifier")).to_be_visible()
    expect(add.get_by_label("Entity name")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    add.get_by_label("Entity name").fill("store_visit")
    add.get_by_label("Label (Chinese)", exact=True).fill("到店")
    add.get_by_label("Plural label (English)").fill("Visits")
    add.get_by_label("Plural label (Chinese)").fill("到店记录")
    add.get_by_role("button", name="Add the entity").click()
    expect(entities.get_by_role("link", name="Visit", exact=True)).to_be_visible()
    assert_accessible(page)

    entities.get_by_role("link", name="Visit", exact=True).click()
    labels = page.get_by_role("region", name="Labels of the entity")
    labels.get_by_label("Label (English)", exact=True).fill("Store visit")
    labels.get_by_label("Plural label (English)").fill("Store visits")
    labels.get_by_role("button", name="Save the entity's labels").click()
    expect(page.get_by_role("heading", name="Fields of Store visit", level=1)).to_be_visible()  # drawn again, saved
    expect(labels.get_by_label("Label (English)", exact=True)).to_have_value("Store visit")
    assert_accessible(page)

    page.get_by_role("link", name="Overview").click()
    names = entities.locator("[data-name]")
    expect(entities.locator("[data-name=store_visit]")).to_be_visible()  # the overview has loaded
    page.wait_for_load_state("load")  # and is parsed to its end: every entity is read below
    before = names.evaluate_all("items => items.map(i => i.dataset.name)")
    at = before.index("store_visit")
    assert at > 0
    page.get_by_role("button", name="Move up: Store visit").focus()
    page.keyboard.press("Enter")  # the keyboard twin of the drag
    expect(names.nth(at - 1)).to_have_attribute("data-name", "store_visit", timeout=PUBLISHING)
    above = before[at - 1]
    hidden = before[0] if before[0] != above else before[1]
    hidden_label = entities.locator(f"[data-name={hidden}] .designer-entity-name a").inner_text()
    page.get_by_role("button", name=f"Hide: {hidden_label}").click()
    expect(entities.locator(f"[data-name={hidden}]").get_by_text("Hidden")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="设计器", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="审阅并发布").click()
    expect(page.get_by_role("listitem").filter(has_text="添加实体 store_visit")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="发布").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("已发布版本", timeout=PUBLISHING)

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("navigation", name="Entities").get_by_role("link", name="Store visits")).to_be_visible()
    page.wait_for_load_state("load")  # the English page whole, not its navigation parsed half way
    shown = navigation(page)
    assert "Store visits" in shown and hidden_label not in " ".join(shown)
    expected = [n for n in before if n != hidden]
    expected.remove("store_visit")
    expected.insert(expected.index(above), "store_visit")
    package = site.install.session(site.tenant).renew_metadata().package
    by_order = [e.name for e in sorted(package.entities, key=lambda e: e.order) if not e.hidden]
    assert by_order == expected
    assert package.entity("store_visit").label == {"en": "Store visit", "zh-CN": "到店"}
    assert package.entity(hidden).hidden


PHONE_SCREENS = ("designer/", "designer/e/club", "designer/e/club/f/city", "designer/e/club/form",
                 "designer/e/club/lists", "designer/workflows", "designer/rules", "designer/review",
                 "designer/history", "designer/e/club/retire")


def test_the_designer_screens_at_phone_width(browser, site, tmp_path):
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.loom_tmp = tmp_path
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    wide = {}
    for path in PHONE_SCREENS:
        page.goto(site.screen(path))
        expect(page.locator("h1")).to_be_visible()
        screenshot(page, "phone-" + path.strip("/").replace("/", "-"))
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    context.close()
    assert wide == {}, f"these scroll sideways at phone width: {wide}"
