"""The same pages on a 375 px wide phone: nothing overflows sideways, everything is reachable."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import no_horizontal_overflow, open_row_menu, sa_row, shot

pytestmark = pytest.mark.browser

PAGES = {
    "service-accounts": "/generalSettings/serviceAccounts",
    "personal-access-tokens": "/generalSettings/personalAccessTokens",
    "users": "/generalSettings/users",
    "projects": "/generalSettings/projects",
    "custom-roles": "/generalSettings/customRoles",
    "custom-role-new": "/generalSettings/customRoles/new",
    "audit-log": "/generalSettings/auditLog",
    "password": "/generalSettings/password",
}


def test_pages_fit_375_px(phone_page: Page, project: dict[str, str], api: httpx.Client) -> None:
    for body in (
        {"description": "Nightly export to the warehouse team", "scopes": ["system:editor"]},
        {
            "description": "Phone project bot",
            "scopes": ["system:member"],
            "projectAccess": [{"projectUuid": project["uuid"], "role": "viewer"}],
            "expiresAt": "2099-01-01T00:00:00Z",
        },
    ):
        assert api.post("/api/v1/service-accounts", json=body).status_code == 201
    me = api.get("/api/v1/user").json()["results"]["userUuid"]
    group = {"name": "Warehouse readers of the finance team", "members": [{"userUuid": me}]}
    assert api.post("/api/v1/org/groups", json=group).status_code == 200
    page = phone_page
    for name, path in PAGES.items():
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
        assert no_horizontal_overflow(page), f"{path} scrolls sideways at 375 px"
        shot(page, f"375-{name}")


def test_service_account_flow_at_375_px(phone_page: Page, project: dict[str, str]) -> None:
    page = phone_page
    page.goto("/generalSettings/serviceAccounts")
    page.locator("[data-sa-create]").first.click()
    dialog = page.get_by_role("dialog", name="New service account")
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    dialog.get_by_label("Description").fill("Phone-made account")
    dialog.get_by_text("Project", exact=True).click()
    dialog.locator("[data-project-row]").first.get_by_label("Project", exact=True).select_option(
        label=project["name"]
    )
    assert no_horizontal_overflow(page)
    shot(page, "375-service-accounts-create", full_page=False)
    dialog.get_by_role("button", name="Create service account").click()
    expect(dialog.get_by_label("Token")).to_have_value(re.compile(r"^ldsvc_"))
    shot(page, "375-service-accounts-token", full_page=False)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Done").click()
    row = sa_row(page, "Phone-made account")
    expect(row).to_be_visible()
    assert no_horizontal_overflow(page)
    row.get_by_role("button", name="1 project").click()
    card = page.get_by_role("region", name="Project access")
    expect(card.get_by_role("listitem")).to_have_count(1)
    card_box = card.bounding_box()
    assert card_box is not None and card_box["x"] + card_box["width"] <= 375
    menu = open_row_menu(page, "Phone-made account")
    menu_box = menu.bounding_box()
    assert menu_box is not None and menu_box["x"] >= 0 and menu_box["x"] + menu_box["width"] <= 375
    menu.get_by_role("menuitem", name="Delete").click()
    page.get_by_role("dialog", name="Delete service account").get_by_role(
        "button", name="Delete"
    ).click()
    expect(sa_row(page, "Phone-made account")).to_have_count(0)
