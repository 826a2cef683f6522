"""The Service Accounts page's beyond-Lightdash parts in a real browser: allowed IP ranges in
create/edit, the grace period in the rotate modal, trust policies with the GitHub/GitLab presets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import PageErrors, open_row_menu, sa_row, whoami
from tests.servers import Server

pytestmark = pytest.mark.browser

PAGE = "/generalSettings/serviceAccounts"


def _create(page: Page, description: str, ranges: str = "") -> str:
    page.goto(PAGE)
    opener = page.get_by_role("button", name=re.compile(r"^(Add|Create) service account$"))
    opener.first.click()
    dialog = page.get_by_role("dialog", name="New service account")
    dialog.get_by_label("Description").fill(description)
    dialog.get_by_label("Expiration").select_option(label="30 days")
    dialog.get_by_label("Role", exact=True).select_option(label="Viewer")
    if ranges:
        dialog.get_by_label("Allowed IP ranges").fill(ranges)
    dialog.get_by_role("button", name="Create service account").click()
    token = dialog.get_by_label("Token", exact=True)
    expect(token).to_have_value(re.compile(r"^ldsvc_"))
    value = token.input_value()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Done").click()
    return value


def test_allowed_ranges_in_create_and_edit(admin_page: Page, server: Server) -> None:
    page = admin_page
    errors = PageErrors(page)
    token = _create(page, "Ranged deploys", "127.0.0.1/32\n::1")
    row = sa_row(page, "Ranged deploys")
    expect(row).to_contain_text("Only from 127.0.0.1/32, ::1/128")
    assert whoami(server.url, token).status_code == 200  # the test talks from 127.0.0.1

    open_row_menu(page, "Ranged deploys").get_by_role("menuitem", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit service account")
    expect(dialog.get_by_label("Allowed IP ranges")).to_have_value("127.0.0.1/32\n::1/128")
    dialog.get_by_label("Allowed IP ranges").fill("203.0.113.0/24")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Service account updated.")).to_be_visible()
    expect(sa_row(page, "Ranged deploys")).to_contain_text("Only from 203.0.113.0/24")
    assert whoami(server.url, token).status_code == 401  # 127.0.0.1 is now outside

    open_row_menu(page, "Ranged deploys").get_by_role("menuitem", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit service account")
    dialog.get_by_label("Allowed IP ranges").fill("not-a-range")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog.get_by_role("alert")).to_contain_text("'not-a-range' is not an IPv4 or IPv6")
    assert errors.errors == []


def test_rotate_with_a_grace_period_keeps_the_old_token_working(
    admin_page: Page, server: Server
) -> None:
    page = admin_page
    old = _create(page, "Graceful deploys")
    open_row_menu(page, "Graceful deploys").get_by_role("menuitem", name="Rotate token").click()
    dialog = page.get_by_role("dialog", name="Rotate token")
    dialog.get_by_label("Grace period").select_option(label="1 hour")
    dialog.get_by_role("button", name="Rotate token").click()
    new = dialog.get_by_label("Token", exact=True)
    expect(new).to_have_value(re.compile(r"^ldsvc_"))
    expect(dialog).to_contain_text("Your old token keeps working until")
    new_token = new.input_value()
    assert whoami(server.url, old).status_code == 200
    assert whoami(server.url, new_token).status_code == 200
    with page.expect_navigation():
        dialog.get_by_role("button", name="Done").click()
    expect(sa_row(page, "Graceful deploys")).to_contain_text("Previous token works until")


def test_trust_policies_with_presets(admin_page: Page) -> None:
    page = admin_page
    errors = PageErrors(page)
    _create(page, "Keyless deploys")
    open_row_menu(page, "Keyless deploys").get_by_role("menuitem", name="Trust policies").click()
    dialog = page.get_by_role("dialog", name="Trust policies")
    expect(dialog).to_contain_text("No trust policies yet.")
    expect(dialog.get_by_label("Issuer", exact=True)).to_have_value(
        "https://token.actions.githubusercontent.com"
    )
    dialog.get_by_text("GitLab CI", exact=True).click()
    expect(dialog.get_by_label("Issuer", exact=True)).to_have_value("https://gitlab.com")
    expect(dialog.get_by_label("Namespace id (namespace_id)")).to_be_visible()
    dialog.get_by_text("GitHub Actions", exact=True).click()

    dialog.get_by_role("button", name="Add trust policy").click()  # no ids: refused
    expect(dialog.get_by_role("alert")).to_contain_text("repository_owner_id and repository_id")

    dialog.get_by_label("Repository owner id (repository_owner_id)").fill("9919")
    dialog.get_by_label("Repository id (repository_id)").fill("123456789")
    dialog.get_by_label("More claims (optional, name=value per line)").fill(
        "environment=production"
    )
    with page.expect_navigation():
        dialog.get_by_role("button", name="Add trust policy").click()
    expect(page.get_by_text("Trust policy added")).to_be_visible()
    expect(sa_row(page, "Keyless deploys")).to_contain_text("1 trusted CI identity")

    open_row_menu(page, "Keyless deploys").get_by_role("menuitem", name="Trust policies").click()
    dialog = page.get_by_role("dialog", name="Trust policies")
    expect(dialog).to_contain_text("repository_owner_id=9919")
    expect(dialog).to_contain_text("environment=production")
    with page.expect_navigation():
        dialog.get_by_role("button", name=re.compile("^Remove trust policy")).click()
    expect(page.get_by_text("Trust policy removed.")).to_be_visible()
    expect(sa_row(page, "Keyless deploys")).not_to_contain_text("trusted CI identit")
    assert errors.errors == []
