"""Shared constants and small helpers of the browser tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Locator, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"

ADMIN_EMAIL = "ada@acme.example"
ADMIN_PASSWORD = "correct horse battery"
ORG_NAME = "Acme Analytics"


class PageErrors:
    """JavaScript errors of a page: a test fails if the page's own code threw."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))


def doc_shot(page: Page, name: str) -> None:
    """A screenshot for the docs: written when missing or when UPDATE_DOC_SCREENSHOTS=1, so a
    test run does not leave the tracked image changed (its ids and dates differ every run)."""
    path = DOC_SCREENSHOTS / f"{name}.png"
    if not path.exists() or os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        page.screenshot(path=str(path))


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def sa_row(page: Page, description: str) -> Locator:
    return page.locator("tr[data-sa-row]", has=page.get_by_text(description, exact=True))


def open_row_menu(page: Page, description: str) -> Locator:
    page.get_by_role("button", name=f"Actions for {description}").click()
    return page.get_by_role("menu", name=f"Actions for {description}")


def whoami(server_url: str, token: str) -> httpx.Response:
    return httpx.get(
        server_url + "/api/v1/user", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def no_horizontal_overflow(page: Page) -> Any:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
