"""Browser tests: a real Loom server on localhost, Debian's Chromium driven by Playwright,
elements found by role and accessible name, and axe-core on every screen.

`site` is one server per test module over an install with the demo tenant (the retail
loyalty pack and its demo data) and two users with passwords: an admin and a member.
`page` is a fresh browser context per test (no cookies), in English unless a test
switches. Screenshots go to the test's temporary folder, or to `LOOM_SCREENSHOTS_DIR`
when set (`scripts/screenshots` sets it to docs/screenshots)."""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from engine import auth, passwords
from engine.app import create_app
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from tests.conftest import make_settings, drop_prefixed_schemas

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LOOM_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "admin_ui" / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_BROWSER = os.environ.get("CI") == "true" or os.environ.get("LOOM_TEST_REQUIRE_BROWSER") == "1"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ADMIN, MEMBER, PASSWORD = "admin@demo.example", "member@demo.example", "correct-horse-1"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_problem() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if not AXE.exists():
        return f"no axe-core at {AXE} (scripts/setup test installs it)"
    return None


@pytest.fixture(scope="session")
def browser():
    problem = browser_problem()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(problem)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class LiveServer:
    """A threaded werkzeug server of `app` on a free localhost port (or on `port`)."""

    def __init__(self, app, port: int = 0):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@dataclass
class Site:
    install: Install
    url: str
    tenant: str = "demo"

    def session(self, email=None):
        """A session of the tenant as `email` (the system when None)."""
        actor = None
        if email is not None:
            actor = next(a for a in auth.list_users(self.install.session(self.tenant).storage) if a.email == email)
        return self.install.session(self.tenant, actor)

    def screen(self, path="") -> str:
        return f"{self.url}/t/{self.tenant}/{path.lstrip('/')}"


def build_site(backend, folder, extra=None, port: int = 0) -> tuple[Site, LiveServer, object]:
    """The demo tenant served (on `port`, or a free one); `extra` adds LOOM_* settings."""
    settings = make_settings(backend, folder)
    if extra:
        settings = replace(settings, extra={**settings.extra, **extra})
    install = Install(settings, Plugins())
    install.registry.create("demo", "Demo company")
    PackService(install).install("demo", "retail_loyalty", demo=True)
    storage = install.session("demo").storage
    auth.create_user(storage, ADMIN, "admin", display_name="Ada Admin", locale="en")
    auth.create_user(storage, MEMBER, "member", display_name="Mo Member", locale="en")
    for email in (ADMIN, MEMBER):
        passwords.set_password(storage, email, PASSWORD)
    server = LiveServer(create_app(install, {"TESTING": False}), port)
    return Site(install, server.url), server, settings


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo tenant on SQLite, served for one test module."""
    found, server, settings = build_site("sqlite", tmp_path_factory.mktemp("site"))
    yield found
    server.stop()
    found.install.dispose()
    if settings.database_url:
        drop_prefixed_schemas(settings.schema_prefix)


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    found = context.new_page()
    found.loom_tmp = tmp_path
    yield found
    context.close()


def sign_in(page, site: Site, email=ADMIN, password=PASSWORD, path=""):
    """Sign in through the sign-in form, then open `path`."""
    page.goto(site.screen("login"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    if path:
        page.goto(site.screen(path))


def axe_violations(page, exclude=()) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))",
        WCAG)


def settled(page) -> None:
    """Wait until htmx has swapped and wired a redrawn part (its inputs answer again): a
    control drawn by a swap reacts only once htmx has processed it. After a navigation it
    also waits for the page's load: htmx (a deferred script) wires the first page then."""
    from playwright.sync_api import expect

    page.wait_for_load_state("load")
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def assert_accessible(page) -> None:
    """axe-core finds no WCAG A/AA violation once the page has settled: right after a click
    that navigates, the new page may be half parsed (its styles not applied, its scripts not
    run), and right after an htmx request the old part may still stand; axe on either reports
    or misses things."""
    settled(page)
    violations = axe_violations(page)
    assert violations == [], "axe-core found WCAG A/AA violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:3]}" for v in violations)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as `name`.png (docs/screenshots with LOOM_SCREENSHOTS_DIR),
    of the page once it has settled (loaded, no htmx request or swap under way)."""
    settled(page)
    folder = Path(os.environ.get("LOOM_SCREENSHOTS_DIR") or page.loom_tmp)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class ScreenClient:
    """A Flask test client signed in to a tenant's screens through the sign-in form, which
    sends the page's CSRF token with every form post (`post`) and htmx request (`hx`)."""

    CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')

    def __init__(self, app, tenant: str, email: str, password: str = PASSWORD):
        self.client, self.tenant = app.test_client(), tenant
        page = self.client.get(f"/t/{tenant}/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = self.client.post(f"/t/{tenant}/login", data={"email": email, "password": password,
                                                              "csrf_token": token})
        assert signed.status_code == 302, signed.text
        self.token = self.CSRF.search(self.client.get(f"/t/{tenant}/").text).group(1)

    def path(self, path: str) -> str:
        return f"/t/{self.tenant}/{path.lstrip('/')}"

    def get(self, path: str, **kwargs):
        return self.client.get(self.path(path), **kwargs)

    def post(self, path: str, data=None, **kwargs):
        return self.client.post(self.path(path), data={**(data or {}), "csrf_token": self.token}, **kwargs)

    def hx(self, method: str, path: str, data=None, **kwargs):
        headers = {"HX-Request": "true", "X-CSRFToken": self.token, **kwargs.pop("headers", {})}
        return self.client.open(self.path(path), method=method, data=data, headers=headers, **kwargs)


def with_passwords(install, tenant: str, users) -> None:
    """Create `users` ({email: role}) in `tenant`, each with PASSWORD."""
    storage = install.session(tenant).storage
    for email, role in users.items():
        auth.create_user(storage, email, role)
        passwords.set_password(storage, email, PASSWORD)


class statements:
    """The SQL statements any engine runs inside the block (observed, nothing replaced)."""

    def __enter__(self) -> list[str]:
        self.seen: list[str] = []
        event.listen(Engine, "before_cursor_execute", self._record)
        return self.seen

    def _record(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __exit__(self, *exc):
        event.remove(Engine, "before_cursor_execute", self._record)
