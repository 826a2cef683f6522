"""Login, logout, registration, invites, who sees what, and CSRF, in a real browser."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import _context
from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, PageErrors, shot
from tests.servers import Server

pytestmark = pytest.mark.browser


def test_register_only_while_no_organization(anonymous_page: Page, admin_storage: Any) -> None:
    page = anonymous_page
    page.goto("/register")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_login_and_logout(anonymous_page: Page, admin_storage: Any) -> None:
    page = anonymous_page
    page.goto("/generalSettings/users")
    expect(page).to_have_url(re.compile(r"/login\?next=/generalSettings/users$"))
    expect(page.get_by_label("Email address")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    shot(page, "login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Email and password do not match")
    expect(page.get_by_label("Email address")).to_have_value(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/generalSettings/users$"))
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=logged_out$"))
    expect(page.get_by_role("status")).to_have_text("You have been logged out.")
    page.goto("/generalSettings/serviceAccounts")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_invited_viewer_has_no_service_accounts_page(
    admin_page: Page, browser: Browser, server: Server
) -> None:
    page = admin_page
    page.goto("/generalSettings/users")
    page.get_by_role("button", name="Invite user").click()
    dialog = page.get_by_role("dialog", name="Invite user")
    dialog.get_by_label("Email address").fill("vera@acme.example")
    dialog.get_by_label("Role").select_option(label="Viewer")
    dialog.get_by_role("button", name="Create invite link").click()
    link = page.get_by_role("textbox", name="Invite link")
    expect(link).to_have_value(re.compile(r"/invite/"))
    shot(page, "users")
    invite_path = urlparse(link.input_value()).path  # SITE_URL is not this test server's address

    context = _context(browser, server)
    viewer = context.new_page()
    errors = PageErrors(viewer)
    viewer.goto(invite_path)
    expect(viewer.get_by_role("heading", name="Join Acme Analytics")).to_be_visible()
    expect(viewer.get_by_label("Email address")).to_have_value("vera@acme.example")
    shot(viewer, "invite")
    viewer.get_by_label("First name").fill("Vera")
    viewer.get_by_label("Last name").fill("Viewer")
    viewer.get_by_label("Password").fill("viewer password 1")
    viewer.get_by_role("button", name="Join organization").click()
    expect(viewer).to_have_url(re.compile(r"/generalSettings/personalAccessTokens$"))
    menu = viewer.get_by_role("navigation", name="General settings")
    expect(menu.get_by_role("link")).to_have_text(
        ["Personal access tokens", "Users", "Projects", "Password"]
    )
    response = viewer.goto("/generalSettings/serviceAccounts")
    assert response is not None and response.status == 403
    expect(viewer.get_by_role("heading", name="You don't have access")).to_be_visible()
    shot(viewer, "no-access")
    for path in ("/generalSettings/auditLog", "/generalSettings/customRoles"):
        viewer.goto(path)
        expect(viewer.get_by_role("heading", name="You don't have access")).to_be_visible()
    # A viewer sees members but cannot change them.
    viewer.goto("/generalSettings/users")
    expect(viewer.get_by_role("cell", name="Ada Admin")).to_be_visible()
    expect(viewer.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    context.close()
    assert not errors.errors


def test_form_post_without_csrf_token_is_refused(admin_page: Page, server: Server) -> None:
    page = admin_page
    page.goto("/generalSettings/serviceAccounts")
    before = page.locator("tr[data-sa-row]").count()
    response = page.request.post(
        "/generalSettings/serviceAccounts",
        form={"description": "Forged", "scope": "organization", "role": "admin"},
    )
    assert response.status == 403
    assert "Request refused" in response.text()
    forged = page.request.post(
        "/generalSettings/serviceAccounts",
        form={"description": "Forged", "role": "admin", "csrf_token": "0" * 64},
    )
    assert forged.status == 403
    page.reload()
    assert page.locator("tr[data-sa-row]").count() == before
    expect(page.get_by_text("Forged", exact=True)).to_have_count(0)
