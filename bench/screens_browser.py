"""The screens benchmark's browser side (bench/screens.py): the app served on localhost and
page loads timed in Chromium (Playwright, /usr/bin/chromium or LOOM_TEST_CHROMIUM)."""
from __future__ import annotations

import logging
import os
import threading

from werkzeug.serving import make_server

CHROMIUM = os.environ.get("LOOM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class LiveServer:
    """The app served by a threaded werkzeug server on a free localhost port (for Chromium)."""

    def __init__(self, app):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on stderr
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


def browser_loads(login: str, page_url: str, ready: str, email: str, password: str, loads: int) -> list[float]:
    """Seconds from navigation start to `ready` visible, per load of `page_url`, signed in
    as `email` through the sign-in form at `login` (after two warm-up loads)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(login)
            page.get_by_label("E-mail").fill(email)
            page.get_by_label("Password", exact=True).fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url)
            samples = []
            for index in range(loads + 2):
                page.goto(page_url, wait_until="commit")
                page.locator(ready).first.wait_for(state="visible")
                shown = page.evaluate("performance.now()") / 1000  # since this navigation started
                if index >= 2:  # two warm-up loads: the browser's cache of the static assets
                    samples.append(shown)
            return samples
        finally:
            browser.close()
