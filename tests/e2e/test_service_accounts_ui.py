"""The Service Accounts page in a real browser, against a real server process."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import doc_shot, open_row_menu, sa_row, shot, whoami
from tests.servers import Server

pytestmark = pytest.mark.browser

PAGE = "/generalSettings/serviceAccounts"


def _create_org_account(page: Page, description: str, role: str, expiration: str) -> str:
    dialog = page.get_by_role("dialog", name="New service account")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Description")).to_have_attribute(
        "placeholder", "What's this service account for?"
    )
    dialog.get_by_label("Description").fill(description)
    dialog.get_by_label("Expiration").select_option(label=expiration)
    dialog.get_by_text("Organization", exact=True).click()
    dialog.get_by_label("Role", exact=True).select_option(label=role)
    dialog.get_by_role("button", name="Create service account").click()
    token_field = dialog.get_by_label("Token")
    expect(token_field).to_have_value(re.compile(r"^ldsvc_[0-9A-Za-z]{38}$"))
    expect(token_field).to_have_attribute("readonly", "")
    expect(dialog.get_by_role("button", name="Copy")).to_be_visible()
    expect(dialog).to_contain_text(
        "Make sure to copy your access token now. You won't be able to see it again!"
    )
    return token_field.input_value()


def test_org_service_account_lifecycle(admin_page: Page, server: Server) -> None:
    page = admin_page
    page.goto(PAGE)
    if page.get_by_role("heading", name="No service accounts").is_visible():
        expect(page.get_by_text("You haven't created any service accounts yet.")).to_be_visible()
        shot(page, "service-accounts-empty")
        page.get_by_role("button", name="Create service account").click()
    else:
        page.get_by_role("button", name="Add service account").click()

    shot(page, "service-accounts-create-modal", full_page=False)
    token = _create_org_account(page, "CI deploys", "Editor", "30 days")
    shot(page, "service-accounts-token-once", full_page=False)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()

    # The token works against the API and acts as the service account itself.
    me = whoami(server.url, token)
    assert me.status_code == 200, me.text
    assert me.json()["results"]["isServiceAccount"] is True
    assert me.json()["results"]["firstName"] == "CI deploys"

    with page.expect_navigation():
        page.get_by_role("button", name="Done").click()
    expect(page).to_have_url(re.compile(PAGE + "$"))
    row = sa_row(page, "CI deploys")
    expect(row).to_be_visible()
    assert token not in page.content()
    page.reload()
    assert token not in page.content()
    expect(page.get_by_role("heading", name="Service accounts")).to_be_visible()
    expect(page.get_by_role("button", name="Add service account")).to_be_visible()
    expect(row.locator("td").nth(1)).to_have_text("Organization")
    expect(row.locator("td").nth(2)).to_have_text("Editor")
    expect(row.locator("td").nth(3)).to_have_text("Ada Admin")
    expect(row.locator("td").nth(5)).not_to_contain_text("No expiration")
    expect(row.locator("td").nth(6)).not_to_have_text("Never")  # used by whoami above
    expect(row.locator("time").first).to_have_attribute("title", re.compile(r"UTC$"))

    # Rotate: the old token stops working at once, the new one works.
    menu = open_row_menu(page, "CI deploys")
    expect(menu.get_by_role("menuitem")).to_have_text(
        ["Rotate token", "Edit", "Trust policies", "Delete"]
    )
    menu.get_by_role("menuitem", name="Rotate token").click()
    rotate = page.get_by_role("dialog", name="Rotate token")
    expect(rotate).to_contain_text('Rotating token for "CI deploys"')
    expect(rotate).to_contain_text(
        "This will generate a new token and invalidate the current one. "
        "You must specify a new expiration date."
    )
    expect(rotate.get_by_label("New expiration").locator("option")).to_have_text(
        ["7 days", "30 days", "60 days", "90 days"]
    )
    rotate.get_by_label("New expiration").select_option(label="60 days")
    rotate.get_by_role("button", name="Rotate token").click()
    new_token_field = rotate.get_by_label("Token")
    expect(new_token_field).to_have_value(re.compile(r"^ldsvc_"))
    expect(rotate).to_contain_text("Your old token is now invalid.")
    new_token = new_token_field.input_value()
    assert new_token != token
    shot(page, "service-accounts-rotated", full_page=False)
    assert whoami(server.url, token).status_code == 401
    assert whoami(server.url, new_token).status_code == 200
    with page.expect_navigation():
        rotate.get_by_role("button", name="Done").click()
    assert new_token not in page.content()
    expect(sa_row(page, "CI deploys")).to_contain_text("Last rotated at")

    # A second rotation within the hour: a readable error in the modal.
    open_row_menu(page, "CI deploys").get_by_role("menuitem", name="Rotate token").click()
    rotate.get_by_role("button", name="Rotate token").click()
    expect(rotate.get_by_role("alert")).to_contain_text("Token can only be rotated once per hour")
    page.keyboard.press("Escape")
    expect(rotate).to_be_hidden()

    # Edit: description and role, in place; the token keeps working.
    open_row_menu(page, "CI deploys").get_by_role("menuitem", name="Edit").click()
    edit = page.get_by_role("dialog", name="Edit service account")
    expect(edit.get_by_label("Description")).to_have_value("CI deploys")
    expect(edit.get_by_label("Role", exact=True)).to_have_value("editor")
    expect(edit.get_by_label("Expiration")).to_be_hidden()
    edit.get_by_label("Description").fill("CI deploys (prod)")
    edit.get_by_label("Role", exact=True).select_option(label="Developer")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Service account updated.")
    row = sa_row(page, "CI deploys (prod)")
    expect(row.locator("td").nth(2)).to_have_text("Developer")
    assert whoami(server.url, new_token).status_code == 200

    # Delete, with a confirmation: the token stops working.
    open_row_menu(page, "CI deploys (prod)").get_by_role("menuitem", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete service account")
    expect(confirm).to_contain_text('"CI deploys (prod)"')
    confirm.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    open_row_menu(page, "CI deploys (prod)").get_by_role("menuitem", name="Delete").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Service account deleted")
    expect(sa_row(page, "CI deploys (prod)")).to_have_count(0)
    assert whoami(server.url, new_token).status_code == 401


def test_project_service_account_with_hover_card(
    admin_page: Page, project: dict[str, str], server: Server
) -> None:
    page = admin_page
    page.goto(PAGE)
    page.locator("[data-sa-create]").first.click()
    dialog = page.get_by_role("dialog", name="New service account")
    dialog.get_by_label("Description").fill("dbt Cloud sync")
    dialog.get_by_label("Expiration").select_option(label="No expiration")
    dialog.get_by_text("Project", exact=True).click()
    expect(dialog.locator("#sa-role")).to_be_hidden()

    submit = dialog.get_by_role("button", name="Create service account")
    submit.click()
    expect(dialog.get_by_role("alert")).to_have_text("Pick a project for each row")
    dialog.get_by_role("button", name="Remove this project").click()
    submit.click()
    expect(dialog.get_by_role("alert")).to_have_text("Add at least one project")
    for _ in range(2):
        dialog.get_by_role("button", name="+ Add project").click()
    rows = dialog.locator("[data-project-row]")
    for index in range(2):
        rows.nth(index).get_by_label("Project", exact=True).select_option(label=project["name"])
    submit.click()
    expect(dialog.get_by_role("alert")).to_have_text("Each project can only be added once")
    rows.nth(1).get_by_role("button", name="Remove this project").click()
    rows.nth(0).get_by_label("Role", exact=True).select_option(label="Editor")
    shot(page, "service-accounts-project-rows", full_page=False)
    submit.click()
    expect(dialog.get_by_label("Token")).to_have_value(re.compile(r"^ldsvc_"))
    with page.expect_navigation():
        dialog.get_by_role("button", name="Done").click()

    row = sa_row(page, "dbt Cloud sync")
    expect(row.locator("td").nth(1)).to_have_text("Project")
    trigger = row.get_by_role("button", name="1 project")
    expect(trigger).to_be_visible()
    expect(row.locator("td").nth(5)).to_have_text("No expiration")
    expect(row.locator("td").nth(6)).to_have_text("Never")
    open_row_menu(page, "dbt Cloud sync")
    expect(page.get_by_role("menuitem", name="Rotate token")).to_have_count(0)
    page.keyboard.press("Escape")

    trigger.hover()
    card = page.get_by_role("region", name="Project access")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Project access")
    expect(card.get_by_role("listitem")).to_have_text([f"{project['name']} \u2014 Editor"])

    # The edit modal loads the grants; changing the role there changes the hover card.
    open_row_menu(page, "dbt Cloud sync").get_by_role("menuitem", name="Edit").click()
    edit = page.get_by_role("dialog", name="Edit service account")
    grant = edit.locator("[data-project-row]")
    expect(grant).to_have_count(1)
    expect(grant.get_by_label("Project", exact=True)).to_have_value(project["uuid"])
    grant.get_by_label("Role", exact=True).select_option(label="Viewer")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Service account updated.")
    sa_row(page, "dbt Cloud sync").get_by_role("button", name="1 project").hover()
    expect(page.get_by_role("region", name="Project access").get_by_role("listitem")).to_have_text(
        [f"{project['name']} \u2014 Viewer"]
    )


def test_org_create_needs_a_permission_set(admin_page: Page) -> None:
    page = admin_page
    page.goto(PAGE)
    page.locator("[data-sa-create]").first.click()
    dialog = page.get_by_role("dialog", name="New service account")
    expect(dialog.get_by_label("Expiration").locator("option")).to_have_text(
        ["No expiration", "7 days", "30 days", "60 days", "90 days", "6 months", "1 year"]
    )
    expect(dialog.get_by_label("Role", exact=True).locator("option:not([hidden])")).to_contain_text(
        ["Select a role", "Viewer", "Interactive viewer", "Editor", "Developer", "Admin"]
    )
    dialog.get_by_label("Description").fill("No role yet")
    dialog.get_by_role("button", name="Create service account").click()
    expect(dialog.get_by_role("alert")).to_have_text("Please select a permission set")
    expect(dialog.get_by_label("Role", exact=True)).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(sa_row(page, "No role yet")).to_have_count(0)


def test_modal_keyboard(admin_page: Page) -> None:
    """The create modal opens from the keyboard, keeps focus inside and closes with Escape."""
    page = admin_page
    page.goto(PAGE)
    opener = page.locator("[data-sa-create]").first
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New service account")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Description")).to_be_focused()
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('dialog[open]')")
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("() => !!document.activeElement.closest('dialog[open]')")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_filters(admin_page: Page, api: httpx.Client) -> None:
    for description in ("Filter alpha", "Filter beta"):
        response = api.post(
            "/api/v1/service-accounts",
            json={"description": description, "scopes": ["system:viewer"]},
        )
        assert response.status_code == 201, response.text
    page = admin_page
    page.goto(PAGE)
    page.get_by_label("Search").fill("alpha")
    expect(sa_row(page, "Filter alpha")).to_be_visible()
    expect(sa_row(page, "Filter beta")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"search=alpha"))
    page.get_by_text("Expired", exact=True).click()
    expect(page.get_by_text("No service accounts match these filters.")).to_be_visible()
    page.get_by_text("All", exact=True).click()
    page.get_by_label("Search").fill("")
    page.get_by_label("Created by").select_option(label="Ada Admin")
    expect(sa_row(page, "Filter beta")).to_be_visible()
    # Filters survive a reload (the server applies them too).
    page.goto(PAGE + "?search=beta")
    expect(sa_row(page, "Filter alpha")).to_be_hidden()
    expect(sa_row(page, "Filter beta")).to_be_visible()


def test_custom_role_account_and_readme_screenshot(
    admin_page: Page, api: httpx.Client, project: dict[str, str]
) -> None:
    """A custom-role SA shows the role's name and links to it; the README screenshot."""
    org = api.get("/api/v1/user").json()["results"]["organizationUuid"]
    role = api.post(
        f"/api/v2/orgs/{org}/roles",
        json={"name": "Deployer", "scopes": ["view:Project", "manage:DeployProject"]},
    )
    assert role.status_code == 201, role.text
    role_uuid = role.json()["results"]["roleUuid"]
    created = api.post(
        "/api/v1/service-accounts",
        json={"description": "Deploy bot", "roleUuid": role_uuid, "expiresAt": None},
    )
    assert created.status_code == 201, created.text
    synced = api.post(
        "/api/v1/service-accounts",
        json={
            "description": "Warehouse sync",
            "scopes": ["system:member"],
            "projectAccess": [{"projectUuid": project["uuid"], "role": "developer"}],
            "expiresAt": "2099-01-01T00:00:00Z",
        },
    )
    assert synced.status_code == 201, synced.text
    page = admin_page
    page.goto(PAGE)
    row = sa_row(page, "Deploy bot")
    expect(row.locator("td").nth(2)).to_have_text("Deployer")
    menu = open_row_menu(page, "Deploy bot")
    expect(menu.get_by_role("menuitem", name="View custom role")).to_have_attribute(
        "href", f"/generalSettings/customRoles/{role_uuid}"
    )
    page.keyboard.press("Escape")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    sa_row(page, "Warehouse sync").get_by_role("button", name="1 project").hover()
    expect(page.get_by_role("region", name="Project access").get_by_role("listitem")).to_have_text(
        [f"{project['name']} \u2014 Developer"]
    )
    doc_shot(page, "service-accounts")
    shot(page, "service-accounts", full_page=False)
