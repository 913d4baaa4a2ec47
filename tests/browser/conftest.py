"""Browser tests of the citizen page: the real backend on a free localhost port (temp SQLite, demo
data, short credential lifetime) and Debian's Chromium driven by Playwright.

Screenshots go to a temporary folder; with ``PERKPASS_UPDATE_SCREENSHOTS=1`` the ones the docs use are
also written to ``docs/screenshots/citizen-*.png``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools.demo_server import DemoServer

CHROMIUM = os.environ.get("PERKPASS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
DOCS_SHOTS = REPO / "docs" / "screenshots"

# a code lives 16 s and the page fetches a new one after 6 s: a test sees a refresh without a long wait
CREDENTIAL_LIFETIME = 16
REFRESH_AFTER = 6

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


class Server(DemoServer):
    """The backend app served by werkzeug in a thread, with a short credential lifetime."""

    def __init__(self, tmp: Path, **overrides):
        super().__init__(tmp, PERKPASS_CREDENTIAL_LIFETIME=CREDENTIAL_LIFETIME, PERKPASS_REFRESH_AFTER=REFRESH_AFTER,
                         **overrides)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("browser-db"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def prod_like_server(tmp_path_factory):
    """Development mode off: the API never returns dev_code; the code only goes out by "SMS"."""
    srv = Server(tmp_path_factory.mktemp("browser-db-nodev"), PERKPASS_DEV_MODE=False)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def shot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shoot(shot_dir):
    """shoot(page, name) -> Path of a viewport PNG; also copied to docs/ when asked to update them."""

    def take(target, name: str, full_page: bool = False) -> Path:
        """``target``: a page (the viewport, or the whole page) or a locator (that element)."""
        path = shot_dir / f"citizen-{name}.png"
        target.screenshot(path=str(path), **({"full_page": True} if full_page else {}))
        if os.environ.get("PERKPASS_UPDATE_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SHOTS / path.name)
        return path

    return take


class Watch:
    """Everything the page asked for and every error it printed, checked after each test."""

    def __init__(self, base: str):
        self.origin = urlsplit(base).netloc
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.responses: list[tuple[int, str]] = []
        self.faked_server_errors = False  # a test that fakes 5xx answers with page.route sets this

    def foreign(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.netloc != self.origin:
                out.append(url)
        return out


@pytest.fixture
def make_page(chromium, server):
    """make_page(locale="en") -> (page, watch): a phone-sized context (390x844) on the test server."""
    made = []

    def factory(locale: str = "en", target: Server | None = None, **kwargs):
        srv = target or server
        ctx = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale=locale, base_url=srv.base, **kwargs)
        ctx.set_default_timeout(15000)
        watch = Watch(srv.base)
        ctx.on("request", lambda req: watch.requests.append(req.url))
        page = ctx.new_page()
        page.on("console", lambda msg: watch.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
        page.on("response", lambda r: watch.responses.append((r.status, r.url)))
        made.append((ctx, page, watch))
        return page, watch

    yield factory
    problems = []
    for ctx, page, watch in made:
        try:
            if not page.is_closed():
                body = page.content()
                if "Traceback" in body or "Internal Server Error" in body:
                    problems.append("the page shows a traceback / server error")
        finally:
            ctx.close()
        if watch.foreign():
            problems.append(f"requests to third-party origins: {watch.foreign()}")
        if watch.page_errors:
            problems.append(f"JavaScript errors: {watch.page_errors}")
        bad = [e for e in watch.console_errors if "Failed to load resource" not in e and "ERR_INTERNET_DISCONNECTED" not in e]
        if bad:
            problems.append(f"console errors: {bad}")
        server_errors = [r for r in watch.responses if r[0] >= 500 and not watch.faked_server_errors]
        if server_errors:
            problems.append(f"server errors: {server_errors}")
    assert not problems, "; ".join(problems)


@pytest.fixture
def console_page(chromium, server):
    """Pages for the console tests; at the end no page had a script error or asked another origin."""
    made = []

    def factory(width=1280, height=860, mobile=False):
        ctx = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
                                   base_url=server.base, locale="en-US")
        ctx.set_default_timeout(15000)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
        foreign: list[str] = []
        page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(server.base) else None)
        page.on("dialog", lambda d: d.accept())
        made.append((ctx, errors, foreign))
        return page

    yield factory
    for ctx, errors, foreign in made:
        ctx.close()
        assert not errors, errors
        assert not foreign, foreign
