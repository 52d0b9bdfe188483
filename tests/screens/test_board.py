"""The kanban, the calendar and the global search in a real browser: a card moved by the
keyboard and by drag, a move the workflow refuses snapping back with its reason, a month
paged forward and back, a two-character Chinese name and a phone number found from the
header's search box, and the board in Chinese; axe-core on every state."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.screens.conftest import assert_accessible, screenshot, settled, sign_in
from workflows import transitions


def new_opportunities(site, *names) -> list[str]:
    """Fresh opportunities (in Qualification) of a demo party, named for this test."""
    session = site.session()
    party = session.records.list("party", [("limit", "1")])["items"][0]["id"]
    for name in names:
        session.records.create("opportunity", {"name": name, "party": party})
    return list(names)


def guard_negotiation(site, guarded: bool = True) -> None:
    """The tenant's change over the pack: negotiating needs a probability of 50 % or more
    (`guarded=False`: the pack's step again; the site is shared by the tests)."""
    session = site.session()
    document = session.metadata().package.to_dict()
    pipeline = next(w for w in document["workflows"] if w["entity"] == "opportunity")
    step = next(t for t in pipeline["transitions"] if t["name"] == "negotiate")
    if guarded:
        step["guard"] = {"field": "probability", "op": "gte", "value": 50}
    elif step.pop("guard", None) is None:
        return
    session.apply_metadata(document)


def column(page, label):
    return page.get_by_role("region", name=re.compile(rf"^{re.escape(label)} \("))


def card(page, title):
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=title, exact=True))


def choose_by_keyboard(page, title, presses):
    settled(page)  # a board just redrawn answers the keyboard once htmx has wired it
    page.get_by_role("button", name=f"Move {title}").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menu", name=f"Move {title} to").get_by_role("menuitem").first).to_be_focused()
    for key in presses:
        page.keyboard.press(key)
    page.keyboard.press("Enter")


def test_cards_move_by_keyboard_and_a_move_refused_by_a_guard_snaps_back_with_its_reason(page, site):
    guard_negotiation(site, guarded=False)  # the menu below offers the pack's steps
    first, second = new_opportunities(site, "Keyboard deal", "Guarded deal")
    guarded = site.session().records.list("opportunity", [("name", second)])["items"][0]
    transitions.perform(site.session(), "opportunity", guarded["id"], "propose")
    sign_in(page, site, path="e/opportunity/kanban")
    expect(page.get_by_role("heading", name="Opportunities board")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-kanban")

    # Enter opens the menu on its first column; arrows move between columns; Enter chooses.
    page.get_by_role("button", name=f"Move {first}").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Needs analysis")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Proposal")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"{first} moved to Needs analysis")
    expect(column(page, "Needs analysis").get_by_role("link", name=first, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=f"Move {first}")).to_be_focused()  # the keyboard goes on from there
    assert_accessible(page)

    # The menu offers only the steps the workflow lets the card take: from Proposal, Negotiation,
    # Won and Lost (not back to Qualification). The guard set after the board was shown refuses.
    page.get_by_role("button", name=f"Move {second}").click()
    expect(page.get_by_role("menu", name=f"Move {second} to").get_by_role("menuitem")).to_have_text(
        ["Negotiation", "Won", "Lost"])
    page.keyboard.press("Escape")
    guard_negotiation(site)
    choose_by_keyboard(page, second, [])
    expect(page.get_by_role("alert")).to_contain_text("Probability (%) must be at least 50 (it is 10).")
    expect(column(page, "Proposal").get_by_role("link", name=second, exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-kanban-refused")


def test_a_card_dragged_to_another_column_takes_the_workflow_step(page, site):
    [title] = new_opportunities(site, "Dragged deal")
    sign_in(page, site, path="e/opportunity/kanban")
    card(page, title).drag_to(column(page, "Proposal").get_by_role("list"), target_position={"x": 20, "y": 8})
    expect(page.get_by_role("status")).to_contain_text(f"{title} moved to Proposal")
    expect(column(page, "Proposal").get_by_role("link", name=title, exact=True)).to_be_visible()
    assert site.session().records.list("opportunity", [("name", title)])["items"][0]["stage"] == "proposal"
    assert_accessible(page)


def test_the_calendar_pages_month_by_month(page, site):
    sign_in(page, site, path="e/activity/calendar")
    heading = page.get_by_role("heading", level=2).first
    this_month = heading.inner_text()
    expect(page.get_by_role("table").get_by_role("link").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-calendar")
    page.get_by_role("link", name="Next").focus()
    page.keyboard.press("Enter")
    expect(heading).not_to_have_text(this_month)
    page.get_by_role("link", name="Previous").click()
    expect(heading).to_have_text(this_month)
    assert_accessible(page)


def test_a_board_wider_than_the_window_says_so_and_scrolls_by_keyboard(page, site):
    page.set_viewport_size({"width": 900, "height": 800})
    sign_in(page, site, path="e/opportunity/kanban")
    hint = page.get_by_text("The board is wider than the window")
    expect(hint).to_be_visible()
    earlier, later = (page.get_by_role("button", name=n) for n in ("Previous columns", "Next columns"))
    expect(earlier).to_be_disabled()
    board = page.get_by_role("region", name="Board columns")
    assert board.evaluate("box => box.scrollLeft") == 0
    later.focus()
    page.keyboard.press("Enter")
    scrolled(board, "([box]) => box.scrollLeft > 0")
    expect(earlier).to_be_enabled()
    board.focus()  # the board itself is a tab stop: the arrow keys scroll it
    before = board.evaluate("box => box.scrollLeft")
    page.keyboard.press("ArrowRight")
    scrolled(board, "([box, before]) => box.scrollLeft > before", before)
    for _column in range(10):
        if later.is_disabled():
            break
        later.click()
    scrolled(board, "([box]) => box.scrollLeft + box.clientWidth >= box.scrollWidth - 1")
    expect(later).to_be_disabled()
    assert_accessible(page)
    screenshot(page, "board-kanban-overflow")
    page.set_viewport_size({"width": 2400, "height": 800})
    expect(hint).to_be_hidden()


def scrolled(board, condition: str, *args) -> None:
    """Wait until `condition`, a function of [the board's scrolling box, *args], holds: a
    keyboard scroll is animated, so its position is read again on every animation frame,
    up to the page's timeout."""
    board.page.wait_for_function(condition, arg=[board.element_handle(), *args])


def focused_day(page) -> str | None:
    return page.evaluate("(document.activeElement.querySelector('time') || {getAttribute: () => null})"
                         ".getAttribute('datetime')")


def test_the_calendars_days_are_one_tab_stop_and_the_arrow_keys_move_between_them(page, site):
    sign_in(page, site, path="e/activity/calendar?month=2026-03")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Tab")  # past the calendar's paging links, into the grid
    for _ in range(10):  # the paging links, then the grid: a few stops at most
        if page.evaluate("document.activeElement.tagName") == "TD":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "TD", "the calendar's grid never took the focus"
    assert focused_day(page) == "2026-03-01"  # the month's first day when today is not on the page
    for key, day in (("ArrowRight", "2026-03-02"), ("ArrowDown", "2026-03-09"), ("ArrowLeft", "2026-03-08"),
                     ("ArrowUp", "2026-03-01"), ("Home", "2026-02-23"), ("End", "2026-03-01")):
        page.keyboard.press(key)
        assert focused_day(page) == day, key
    links = page.evaluate("document.activeElement.querySelectorAll('a').length")
    for _link in range(links):  # Tab goes through the focused day's records…
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('td') !== null")
    page.keyboard.press("Tab")  # …and then out of the grid, not to the next day
    assert page.evaluate("document.activeElement.closest('table') === null")
    assert_accessible(page)


def test_the_header_search_finds_a_two_character_chinese_name_and_a_phone_typed_with_spaces(page, site):
    sign_in(page, site)
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search everything")
    expect(box).to_be_focused()
    box.press_sequentially("王伟")
    suggestion = page.get_by_role("list", name="Top results").get_by_role("link", name="王伟", exact=True)
    expect(suggestion).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-search-suggestions")
    suggestion.click()
    page.wait_for_url(re.compile(r"/t/demo/e/party/\d+$"))

    sign_in(page, site, path="search?q=138 0000 0002")
    expect(page.get_by_role("link", name="王伟", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-search-results")


def test_the_board_and_the_calendar_in_chinese(page, site):
    [title] = new_opportunities(site, "中文商机")
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.goto(site.screen("e/opportunity/kanban"))
    expect(page.get_by_role("heading", name=re.compile("看板$"))).to_be_visible()
    expect(page.get_by_role("button", name=f"移动 {title}")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-kanban-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page)
    screenshot(page, "board-kanban-phone")
    page.goto(site.screen("e/activity/calendar"))
    expect(page.get_by_role("link", name="下一页")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "board-calendar-zh")
    page.get_by_role("button", name="English").click()


def test_a_step_refused_by_a_guard_says_why_in_chinese_on_the_board_and_the_record_page(page, site):
    guard_negotiation(site, guarded=False)  # the menu below offers the pack's steps
    [title] = new_opportunities(site, "概率不足的商机")
    record = site.session().records.list("opportunity", [("name", title)])["items"][0]
    transitions.perform(site.session(), "opportunity", record["id"], "propose")
    why = "赢单概率(%)必须大于或等于50（当前为10）。"  # the field's label, the operator in words, the values
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.goto(site.screen("e/opportunity/kanban"))
    move = page.get_by_role("button", name=f"移动 {title}")
    move.focus()
    page.keyboard.press("Enter")  # the menu offers the steps from Proposal: Negotiation first
    expect(page.get_by_role("menuitem").first).to_be_focused()
    expect(page.get_by_role("menuitem").first).to_have_text("商务谈判")
    page.keyboard.press("Escape")
    guard_negotiation(site)  # set after the menu was shown, which still offers the step
    move.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(why)
    assert_accessible(page)
    page.goto(site.screen(f"e/opportunity/{record['id']}"))
    expect(page.get_by_role("listitem").filter(has_text=why)).to_be_visible()
    assert_accessible(page)
