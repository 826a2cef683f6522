"""The other General Settings pages in a real browser: tokens, projects, roles, audit log."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import shot, whoami
from tests.servers import Server

pytestmark = pytest.mark.browser


def test_personal_access_token_shown_once(admin_page: Page, server: Server) -> None:
    page = admin_page
    page.goto("/generalSettings/personalAccessTokens")
    page.get_by_role("button", name="Generate new token").click()
    dialog = page.get_by_role("dialog", name="New personal access token")
    dialog.get_by_role("button", name="Generate token").click()
    expect(dialog.get_by_role("alert")).to_have_text("Description is required")
    dialog.get_by_label("Description").fill("Laptop CLI")
    dialog.get_by_label("Expiration").select_option(label="7 days")
    dialog.get_by_role("button", name="Generate token").click()
    field = dialog.get_by_label("Token")
    expect(field).to_have_value(re.compile(r"^ldpat_[0-9A-Za-z]{38}$"))
    token = field.input_value()
    response = httpx.get(
        server.url + "/api/v1/user", headers={"Authorization": f"ApiKey {token}"}, timeout=10
    )
    assert response.status_code == 200
    with page.expect_navigation():
        dialog.get_by_role("button", name="Done").click()
    expect(page.locator("td[data-label=Description]", has_text="Laptop CLI")).to_be_visible()
    assert token not in page.content()
    shot(page, "personal-access-tokens")
    page.get_by_role("button", name="Delete token Laptop CLI").click()
    confirm = page.get_by_role("dialog", name="Delete?")
    expect(confirm).to_contain_text('"Laptop CLI"')
    confirm.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Personal access token deleted")
    assert whoami(server.url, token).status_code == 401


def test_projects_and_members(admin_page: Page, project: dict[str, str]) -> None:
    page = admin_page
    page.goto("/generalSettings/projects")
    page.get_by_role("link", name=project["name"]).click()
    expect(page.get_by_role("heading", name=project["name"])).to_be_visible()
    shot(page, "project-members")
    page.goto("/generalSettings/projects")
    shot(page, "projects")


def test_custom_role_editor(admin_page: Page) -> None:
    page = admin_page
    page.goto("/generalSettings/customRoles")
    page.get_by_role("link", name="Create role").click()
    expect(page.get_by_role("group", name="Organization")).to_be_visible()
    expect(page.get_by_role("group", name="Charts")).to_be_visible()
    page.get_by_label("Name").fill("Chart editor")
    page.get_by_label("view:SavedChart", exact=True).check()
    page.get_by_label("manage:SavedChart@space").check()
    expect(
        page.get_by_text("Create, edit and delete charts in spaces they can edit")
    ).to_be_visible()
    shot(page, "custom-role-editor")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("status")).to_have_text("Custom role created.")
    expect(page.get_by_label("view:SavedChart", exact=True)).to_be_checked()
    expect(page.get_by_text("This role is not assigned to anyone.")).to_be_visible()
    page.get_by_label("Description").fill("Edits charts where they may")
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_role("status")).to_have_text("Custom role saved.")
    page.goto("/generalSettings/customRoles")
    row = page.get_by_role("row", name=re.compile("Chart editor"))
    expect(row).to_contain_text("Not assigned")
    shot(page, "custom-roles")
    # A role with the same name is refused readably.
    page.get_by_role("link", name="Create role").click()
    page.get_by_label("Name").fill("chart editor")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")


def test_audit_log_filters_and_export(admin_page: Page) -> None:
    page = admin_page
    page.goto("/generalSettings/auditLog")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_role("cell", name="organization.created")).to_be_visible()
    page.get_by_label("Action").fill("service_account.*")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"action=service_account"))
    actions = page.locator("td[data-label=Action]")
    expect(actions.first).to_have_text(re.compile(r"^service_account\."))
    for text in actions.all_text_contents():
        assert text.startswith("service_account.")
    export = page.get_by_role("link", name="Export CSV")
    expect(export).to_have_attribute("href", re.compile(r"format=csv"))
    assert "action=service_account" in (export.get_attribute("href") or "")
    with page.expect_download() as download:
        export.click()
    content = download.value.path().read_text()
    assert content.startswith("uuid,occurredAt")
    assert "service_account.created" in content
    shot(page, "audit-log")
    page.get_by_label("From (UTC)").fill("2030-01-02T00:00")
    page.get_by_label("To (UTC)").fill("2030-01-01T00:00")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("alert")).to_contain_text("`from` must be earlier than `to`")


def test_password_page_errors_are_readable(admin_page: Page) -> None:
    page = admin_page
    page.goto("/generalSettings/password")
    page.get_by_label("Current password").fill("whatever it is")
    page.get_by_label("New password", exact=True).fill("new password 1")
    page.get_by_label("Confirm new password").fill("new password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("The new passwords do not match")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill("new password 1")
    page.get_by_label("Confirm new password").fill("new password 1")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("Current password is incorrect")
    shot(page, "password")
