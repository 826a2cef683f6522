"""The project page's warehouse connection in a real browser: type switch, errors, secrets."""

from __future__ import annotations

import duckdb
import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import shot
from tests.servers import Server

pytestmark = pytest.mark.browser

PASSWORD = "browser-s3cret-pw"


def test_set_and_change_a_project_warehouse(
    admin_page: Page, api: httpx.Client, server: Server
) -> None:
    created = api.post("/api/v1/org/projects", json={"name": "Warehouse shop"})
    assert created.status_code == 200, created.text
    project = created.json()["results"]["project"]["projectUuid"]
    folder = server.log.parent / "warehouses"  # inside the data directory: an allowed folder
    folder.mkdir(exist_ok=True)
    database = folder / "shop.duckdb"
    duckdb.connect(str(database)).close()

    page = admin_page
    page.goto(f"/generalSettings/projects/{project}")
    section = page.get_by_role("region", name="Warehouse connection")
    expect(section).to_contain_text("No warehouse yet")
    expect(section.get_by_label("Warehouse type")).to_have_value("duckdb")
    expect(section.get_by_label("Host")).to_be_hidden()  # only the chosen type's fields

    section.get_by_label("Database file").fill("/etc/passwd")
    section.get_by_label("Default schema").fill("main")
    section.get_by_role("button", name="Save connection").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("outside the folders this server allows")
    expect(page.get_by_label("Database file")).to_have_value("/etc/passwd")  # kept to correct
    expect(page.get_by_label("Database file")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Database file").fill(str(database))
    page.get_by_role("button", name="Save connection").click()
    expect(page.get_by_role("status")).to_have_text("Warehouse connection saved.")
    expect(page.get_by_role("region", name="Warehouse connection")).to_contain_text(
        "Connected to DuckDB"
    )
    shot(page, "project-warehouse")

    section = page.get_by_role("region", name="Warehouse connection")
    section.get_by_label("Warehouse type").select_option(label="PostgreSQL")
    expect(section.get_by_label("Database file")).to_be_hidden()
    section.get_by_label("Host").fill("db.internal")
    section.get_by_label("Port").fill("5432")
    section.get_by_label("Database", exact=True).fill("analytics")
    section.get_by_label("User").fill("reader")
    section.get_by_label("Password").fill(PASSWORD)
    section.get_by_label("Default schema").fill("public")
    section.get_by_role("button", name="Save connection").click()
    expect(page.get_by_role("status")).to_have_text("Warehouse connection saved.")
    section = page.get_by_role("region", name="Warehouse connection")
    expect(section).to_contain_text("reader@db.internal:5432/analytics")
    expect(section.get_by_label("Warehouse type")).to_have_value("postgres")
    expect(section.get_by_label("Password")).to_have_value("")  # never shown back
    expect(section).to_contain_text("Leave empty to keep the current one")
    assert PASSWORD not in page.content()
    shown = api.get(f"/api/v1/projects/{project}").json()["results"]["warehouseConnection"]
    assert shown["host"] == "db.internal" and "password" not in shown

    section.get_by_role("button", name="Remove connection").click()
    confirm = page.get_by_role("dialog", name="Remove warehouse connection")
    confirm.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Warehouse connection removed.")
    expect(page.get_by_role("region", name="Warehouse connection")).to_contain_text(
        "No warehouse yet"
    )
