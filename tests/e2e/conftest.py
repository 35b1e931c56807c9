"""Browser tests: the app served by werkzeug in a thread (port chosen by the
OS) and Debian's Chromium driven by Playwright, headless.  Never run
`playwright install`: the browser is /usr/bin/chromium."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).parent / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, tokens included
    return app_config


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def watch_csp(page) -> list[str]:
    """Collect what the browser reports as refused by the
    Content-Security-Policy on `page` (it says so on the console)."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return violations


@pytest.fixture
def page(browser):
    """A desktop page; any Content-Security-Policy violation on it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10000)
    page.csp_violations = watch_csp(page)
    yield page
    context.close()
    assert page.csp_violations == []


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10000)
    page.csp_violations = watch_csp(page)
    yield page
    context.close()
    assert page.csp_violations == []


@pytest.fixture
def one_time_password(app):
    """admin's one-time password, as `flask init` prints it."""
    from lanbill.models import Manager
    from lanbill.staff.managers import give_one_time_password
    from tests.factories import ACTOR

    return give_one_time_password(Manager.get(Manager.login == "admin").id, actor=ACTOR)


@pytest.fixture
def shot(request):
    """shot(page, "name") saves tests/e2e/screenshots/name.png with --screenshots."""
    enabled = request.config.getoption("--screenshots")

    def take(page, name: str) -> None:
        if enabled:
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return take


def log_in(page, base: str, login: str = "admin", password: str = "Secret-pass1") -> None:
    """Log in through the form with a real password (the `admin` fixture's
    by default)."""
    page.goto(base + "/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
