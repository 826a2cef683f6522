"""Browser tests: a real `lightkeeper serve` process on a temporary SQLite database, driven by
Debian's Chromium through Playwright (never `playwright install`).

These fixtures do not use the dual-database `engine` fixture: the browser suite runs on
SQLite only, against one server for the whole session. The first fixture registers the
organization through the /register page, so every test starts from a real first run.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.e2e.helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DOC_SCREENSHOTS,
    ORG_NAME,
    SCREENSHOTS,
    PageErrors,
)
from tests.servers import Server, running_server, server_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`lightkeeper serve` on a free port with a fresh SQLite database (tests/servers.py)."""
    data_dir = tmp_path_factory.mktemp("e2e-server")
    with running_server(server_env(data_dir)) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium (`apt-get install -y chromium`); "
            "the browser tests never download one.",
            pytrace=False,
        )
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def _context(
    browser: Browser, server: Server, storage: Any = None, **options: Any
) -> BrowserContext:
    context = browser.new_context(
        base_url=server.url,
        storage_state=storage,
        viewport=options.pop("viewport", {"width": 1280, "height": 860}),
        **options,
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture(scope="session")
def admin_storage(browser: Browser, server: Server) -> Any:
    """First run through the browser: /register creates the organization and its admin.

    Returns the signed-in browser state (its HTTP-only session cookie) for other tests.
    """
    context = _context(browser, server)
    page = context.new_page()
    errors = PageErrors(page)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/register$"))  # no organization yet
    expect(page.get_by_role("heading", name="Set up Lightkeeper")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "register.png"), full_page=True)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Admin")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Organization name").fill(ORG_NAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(re.compile(r"/generalSettings/serviceAccounts$"))
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["lightkeeper_session"]["httpOnly"] is True
    assert cookies["lightkeeper_session"]["sameSite"] == "Lax"
    state = context.storage_state()
    assert not errors.errors
    context.close()
    return state


@pytest.fixture(scope="session")
def api(server: Server, admin_storage: Any) -> Iterator[httpx.Client]:
    """The JSON API as the admin (session cookie from /api/v1/login), for test setup."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.post(
            "/api/v1/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield client


@pytest.fixture(scope="session")
def project(api: httpx.Client) -> dict[str, str]:
    response = api.post("/api/v1/org/projects", json={"name": "Jaffle shop"})
    assert response.status_code == 200, response.text
    return {"uuid": response.json()["results"]["project"]["projectUuid"], "name": "Jaffle shop"}


@pytest.fixture
def admin_page(browser: Browser, server: Server, admin_storage: Any) -> Iterator[Page]:
    context = _context(browser, server, admin_storage)
    page = context.new_page()
    errors = PageErrors(page)
    yield page
    context.close()
    assert not errors.errors, f"JavaScript errors: {errors.errors}"


@pytest.fixture
def phone_page(browser: Browser, server: Server, admin_storage: Any) -> Iterator[Page]:
    """The admin on a 375 px wide phone screen."""
    context = _context(
        browser,
        server,
        admin_storage,
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    errors = PageErrors(page)
    yield page
    context.close()
    assert not errors.errors, f"JavaScript errors: {errors.errors}"


@pytest.fixture
def anonymous_page(browser: Browser, server: Server) -> Iterator[Page]:
    context = _context(browser, server)
    page = context.new_page()
    errors = PageErrors(page)
    yield page
    context.close()
    assert not errors.errors, f"JavaScript errors: {errors.errors}"


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dirs() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
