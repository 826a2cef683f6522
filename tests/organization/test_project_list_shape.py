"""`GET /api/v1/org/projects` is Lightdash's `OrganizationProject[]`, field for field."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from lightdash_client.models.organization_project import OrganizationProject
from lightdash_client.models.project_type import ProjectType
from lightdash_client.models.warehouse_types import WarehouseTypes

from lightkeeper.kit.schemas import CamelModel, UTCTime, ok_bytes
from lightkeeper.runtime import Runtime
from tests.support import add_membership, make_org, make_project

CONNECTION = {
    "type": "postgres",
    "host": "db.internal",
    "user": "lightdash",
    "password": "s3cret-password",
    "dbname": "analytics",
    "schema": "public",
}


def test_the_generated_client_parses_the_list_with_the_right_values(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "member"))
    admin, member = acme.people["admin"], acme.people["member"]
    bare = make_project(runtime, acme, "Bare")
    connected = client.post(
        "/api/v1/org/projects",
        json={"name": "Connected", "warehouseConnection": CONNECTION},
        headers=admin.headers,
    ).json()["results"]["project"]["projectUuid"]
    add_membership(runtime, connected, member.uuid, "developer")
    preview_uuid = client.post(
        "/api/v1/org/projects",
        json={"name": "Connected preview", "type": "PREVIEW", "upstreamProjectUuid": connected},
        headers=member.headers,
    ).json()["results"]["project"]["projectUuid"]

    listed = client.get("/api/v1/org/projects", headers=admin.headers)
    assert listed.status_code == 200
    parsed = [OrganizationProject.from_dict(item) for item in listed.json()["results"]]

    by_uuid = {p.project_uuid: p for p in parsed}
    assert [p.name for p in parsed] == ["Bare", "Connected", "Connected preview"]
    assert by_uuid[bare].type is ProjectType.DEFAULT
    assert by_uuid[bare].upstream_project_uuid is None
    assert by_uuid[bare].created_by_user_uuid == admin.uuid
    assert by_uuid[preview_uuid].type is ProjectType.PREVIEW
    assert by_uuid[preview_uuid].upstream_project_uuid == connected
    assert by_uuid[preview_uuid].created_by_user_uuid == member.uuid
    for project in parsed:
        assert project.require_user_credentials is False
        # Lightdash's vocabulary has no DuckDB and no project without a warehouse.
        assert project.warehouse_type is WarehouseTypes.POSTGRES
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", project["createdAt"])
        assert project.additional_keys == ["createdAt"]
    # The member sees the project it holds a role on and its own preview, nothing else.
    mine = client.get("/api/v1/org/projects", headers=member.headers).json()["results"]
    assert {p["projectUuid"] for p in mine} == {connected, preview_uuid}


class PreviousSummary(CamelModel):
    """The list's item before it became `OrganizationProject` (written by pydantic-core)."""

    project_uuid: str
    name: str
    type: str
    upstream_project_uuid: str | None
    created_by_user_uuid: str | None
    created_at: UTCTime


NEW_FIELDS = b',"requireUserCredentials":false,"warehouseType":"postgres"'


def test_the_fields_that_did_not_change_keep_their_bytes(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme")
    make_project(runtime, acme, 'Ünïcode "quoted" \\ name')
    make_project(runtime, acme, "Plain")

    listed = client.get("/api/v1/org/projects", headers=acme.people["admin"].headers)

    body = listed.content
    items = [PreviousSummary.model_validate(item) for item in listed.json()["results"]]
    assert body.count(NEW_FIELDS) == 2
    assert body.replace(NEW_FIELDS, b"") == ok_bytes(list[PreviousSummary], items)
