"""The organization's projects: list, create (DEFAULT and PREVIEW copies), delete."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.models import (
    Dashboard,
    Explore,
    Organization,
    Project,
    ProjectMembership,
    SavedChart,
    SavedChartVersion,
    Space,
    SpaceShare,
)
from lightkeeper.runtime import Runtime
from tests.support import (
    add_chart,
    add_custom_role,
    add_dashboard,
    add_membership,
    add_person,
    add_space,
    audit_events,
    bind_org_role,
    make_org,
    make_project,
)

CONNECTION = {
    "type": "postgres",
    "host": "db.internal",
    "port": 5432,
    "user": "lightdash",
    "password": "s3cret-password",
    "dbname": "analytics",
    "schema": "public",
    "sshTunnelPrivateKey": "-----BEGIN KEY-----",
}


def project_row(runtime: Runtime, project_uuid: str) -> Project | None:
    with transaction(runtime.sessions) as session:
        return session.get(Project, project_uuid)


# -- list -------------------------------------------------------------------------


def test_list_shows_the_projects_the_principal_can_view(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "viewer", "member"))
    globex = make_org(runtime, "Globex")
    analytics = make_project(runtime, acme, "Analytics")
    make_project(runtime, acme, "Finance")
    make_project(runtime, globex, "Secret")
    add_membership(runtime, analytics, acme.people["member"].uuid, "viewer")

    by_viewer = client.get("/api/v1/org/projects", headers=acme.people["viewer"].headers).json()[
        "results"
    ]
    by_member = client.get("/api/v1/org/projects", headers=acme.people["member"].headers).json()[
        "results"
    ]

    assert [p["name"] for p in by_viewer] == ["Analytics", "Finance"]
    assert [p["projectUuid"] for p in by_member] == [analytics]
    assert by_member[0] == {
        "projectUuid": analytics,
        "name": "Analytics",
        "type": "DEFAULT",
        "upstreamProjectUuid": None,
        "createdByUserUuid": acme.people["admin"].uuid,
        "createdAt": by_member[0]["createdAt"],
        "requireUserCredentials": False,
        "warehouseType": "postgres",
    }


# -- create DEFAULT ---------------------------------------------------------------


def test_admin_creates_a_project_with_a_sealed_connection(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme")
    globex = make_org(runtime, "Globex")
    admin = acme.people["admin"]

    response = client.post(
        "/api/v1/org/projects",
        json={
            "name": " Analytics ",
            "type": "DEFAULT",
            "warehouseConnection": CONNECTION,
            "organizationUuid": globex.uuid,
            "createdByUserUuid": globex.people["admin"].uuid,
        },
        headers=admin.headers,
    )

    assert response.status_code == 200
    assert response.json()["results"]["hasContentCopy"] is False
    assert "contentCopyJobUuid" not in response.json()["results"]
    project = response.json()["results"]["project"]
    assert project["name"] == "Analytics"
    assert project["type"] == "DEFAULT"
    assert project["organizationUuid"] == acme.uuid
    assert project["createdByUserUuid"] == admin.uuid
    assert project["warehouseConnection"] == {
        "type": "postgres",
        "host": "db.internal",
        "port": 5432,
        "user": "lightdash",
        "dbname": "analytics",
        "schema": "public",
    }
    assert "s3cret" not in response.text
    row = project_row(runtime, project["projectUuid"])
    assert row is not None and row.organization_uuid == acme.uuid
    assert row.warehouse_connection is not None and "s3cret" not in row.warehouse_connection
    assert runtime.secret_box.open(row.warehouse_connection)["password"] == "s3cret-password"
    [event] = audit_events(runtime, "project.created")
    assert event.target_uuid == project["projectUuid"]
    assert event.actor_uuid == admin.uuid
    assert event.details["type"] == "DEFAULT"
    assert "s3cret" not in str(event.details)
    # An org admin already administers every project: no explicit membership is added.
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(ProjectMembership)).all() == []


def test_only_create_project_holders_create_default_projects(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer", "viewer"))

    for role in ("developer", "viewer"):
        response = client.post(
            "/api/v1/org/projects", json={"name": "Mine"}, headers=org.people[role].headers
        )
        assert response.status_code == 403, role
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Project)).all() == []


def test_a_creator_who_could_not_manage_it_becomes_its_admin(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    role = add_custom_role(runtime, org, "Project maker", ["create:Project"])
    maker = add_person(runtime, org, "member", key="maker")
    bind_org_role(runtime, maker.uuid, role)

    response = client.post("/api/v1/org/projects", json={"name": "Sandbox"}, headers=maker.headers)

    assert response.status_code == 200
    project_uuid = response.json()["results"]["project"]["projectUuid"]
    with transaction(runtime.sessions) as session:
        membership = session.get(ProjectMembership, (project_uuid, maker.uuid))
        assert membership is not None and membership.role == "admin"
    assert (
        client.get("/api/v1/org/projects", headers=maker.headers).json()["results"][0]["name"]
        == "Sandbox"
    )


def test_create_validation(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers

    empty = client.post("/api/v1/org/projects", json={"name": " "}, headers=headers)
    missing = client.post("/api/v1/org/projects", json={"type": "DEFAULT"}, headers=headers)
    bad_type = client.post(
        "/api/v1/org/projects", json={"name": "A", "type": "SANDBOX"}, headers=headers
    )

    assert empty.status_code == 400
    assert missing.status_code == 400
    assert bad_type.status_code == 400
    assert "type" in bad_type.json()["error"]["data"]["fields"]


# -- create PREVIEW ---------------------------------------------------------------


def test_preview_needs_an_upstream(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))

    response = client.post(
        "/api/v1/org/projects",
        json={"name": "Preview", "type": "PREVIEW"},
        headers=org.people["developer"].headers,
    )

    assert response.status_code == 400
    assert "upstreamProjectUuid" in response.json()["error"]["message"]


def test_preview_upstream_must_be_visible_and_allowed(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "developer", "editor", "member"))
    globex = make_org(runtime, "Globex")
    upstream = make_project(runtime, acme, "Analytics")
    foreign = make_project(runtime, globex, "Secret")

    def preview(person: str, upstream_uuid: str) -> int:
        body = {"name": "Preview", "type": "PREVIEW", "upstreamProjectUuid": upstream_uuid}
        return client.post(
            "/api/v1/org/projects", json=body, headers=acme.people[person].headers
        ).status_code

    assert preview("developer", foreign) == 404
    assert preview("developer", str(uuid.uuid4())) == 404
    assert preview("member", upstream) == 404
    assert preview("editor", upstream) == 403
    add_membership(runtime, upstream, acme.people["member"].uuid, "developer")
    assert preview("member", upstream) == 200


def test_a_preview_copies_what_the_caller_can_see(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer", "viewer"))
    admin, developer = org.people["admin"], org.people["developer"]
    upstream = make_project(runtime, org, "Analytics")
    with transaction(runtime.sessions) as session:
        session.add(
            Explore(
                project_uuid=upstream,
                name="orders",
                body={"name": "orders", "tables": {"orders": {}}},
            )
        )
    public = add_space(runtime, upstream, "Shared", created_by=admin.uuid)
    nested = add_space(runtime, upstream, "Shared child", created_by=admin.uuid, parent=public)
    private = add_space(runtime, upstream, "Admin only", private=True, created_by=admin.uuid)
    shared_private = add_space(
        runtime,
        upstream,
        "Team",
        private=True,
        created_by=admin.uuid,
        shared_with={developer.uuid: "viewer", org.people["viewer"].uuid: "editor"},
    )
    revenue = add_chart(runtime, upstream, public, "Revenue")
    add_chart(runtime, upstream, nested, "Nested chart")
    secret_chart = add_chart(runtime, upstream, private, "Salaries")
    add_chart(runtime, upstream, shared_private, "Team chart")
    add_dashboard(runtime, upstream, public, "Overview", [revenue, secret_chart])
    add_dashboard(runtime, upstream, private, "Hidden board", [secret_chart])

    response = client.post(
        "/api/v1/org/projects",
        json={"name": "Preview of Analytics", "type": "PREVIEW", "upstreamProjectUuid": upstream},
        headers=developer.headers,
    )

    assert response.status_code == 200
    assert response.json()["results"]["hasContentCopy"] is True
    preview = response.json()["results"]["project"]
    assert preview["type"] == "PREVIEW"
    assert preview["upstreamProjectUuid"] == upstream
    assert preview["createdByUserUuid"] == developer.uuid
    with transaction(runtime.sessions) as session:
        spaces = {
            s.name: s
            for s in session.scalars(
                select(Space).where(Space.project_uuid == preview["projectUuid"])
            )
        }
        charts = {
            c.name: c
            for c in session.scalars(
                select(SavedChart).where(SavedChart.project_uuid == preview["projectUuid"])
            )
        }
        dashboards = list(
            session.scalars(
                select(Dashboard).where(Dashboard.project_uuid == preview["projectUuid"])
            )
        )
        explores = list(
            session.scalars(select(Explore).where(Explore.project_uuid == preview["projectUuid"]))
        )
        shares = list(
            session.scalars(
                select(SpaceShare).where(
                    SpaceShare.space_uuid.in_([s.uuid for s in spaces.values()])
                )
            )
        )
        membership = session.get(ProjectMembership, (preview["projectUuid"], developer.uuid))
        versions = list(
            session.scalars(
                select(SavedChartVersion).where(
                    SavedChartVersion.chart_uuid.in_([c.uuid for c in charts.values()])
                )
            )
        )

        assert set(spaces) == {"Shared", "Shared child", "Team"}
        assert spaces["Shared child"].parent_space_uuid == spaces["Shared"].uuid
        assert spaces["Team"].is_private
        assert all(s.created_by_user_uuid == developer.uuid for s in spaces.values())
        assert shares == []
        assert set(charts) == {"Revenue", "Nested chart", "Team chart"}
        assert charts["Revenue"].space_uuid == spaces["Shared"].uuid
        assert charts["Revenue"].metric_query == {
            "exploreName": "orders",
            "dimensions": ["orders_status"],
        }
        assert charts["Revenue"].created_by_user_uuid == developer.uuid
        assert len(versions) == 3
        [overview] = dashboards
        assert overview.name == "Overview"
        chart_tiles = [t for t in overview.tiles if t["type"] == "saved_chart"]
        # The tile of the chart the caller could not see is left out; the other follows the copy.
        assert [t["properties"]["savedChartUuid"] for t in chart_tiles] == [charts["Revenue"].uuid]
        assert len(overview.tiles) == 2
        assert [e.name for e in explores] == ["orders"]
        assert membership is not None and membership.role == "admin"
    [event] = audit_events(runtime, "project.created")
    assert event.details["copied"] == {"spaces": 3, "charts": 3, "dashboards": 1}
    assert event.details["upstreamProjectUuid"] == upstream


def test_a_preview_inherits_the_upstream_connection(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))
    created = client.post(
        "/api/v1/org/projects",
        json={"name": "Analytics", "warehouseConnection": CONNECTION},
        headers=org.people["admin"].headers,
    ).json()["results"]["project"]

    preview = client.post(
        "/api/v1/org/projects",
        json={"name": "Preview", "type": "PREVIEW", "upstreamProjectUuid": created["projectUuid"]},
        headers=org.people["developer"].headers,
    ).json()["results"]["project"]

    assert preview["warehouseConnection"]["host"] == "db.internal"
    row = project_row(runtime, preview["projectUuid"])
    assert row is not None and row.warehouse_connection is not None
    assert runtime.secret_box.open(row.warehouse_connection)["password"] == "s3cret-password"


# -- delete -----------------------------------------------------------------------


def test_admin_deletes_a_project_with_everything_in_it(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    space = add_space(runtime, project, "Shared")
    add_chart(runtime, project, space, "Revenue")

    response = client.delete(f"/api/v1/org/projects/{project}", headers=org.people["admin"].headers)

    assert response.status_code == 200
    assert project_row(runtime, project) is None
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Space)).all() == []
        assert session.scalars(select(SavedChart)).all() == []
        assert session.get(Organization, org.uuid) is not None
    [event] = audit_events(runtime, "project.deleted")
    assert (event.target_uuid, event.target_label) == (project, "Analytics")


def test_delete_rights(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "developer", "member"))
    globex = make_org(runtime, "Globex")
    developer = acme.people["developer"]
    project = make_project(runtime, acme, "Analytics")
    own_preview = make_project(runtime, acme, "Mine", type_="PREVIEW", created_by=developer.uuid)
    admins_preview = make_project(runtime, acme, "Theirs", type_="PREVIEW")
    foreign = make_project(runtime, globex, "Secret")

    def delete(person: str, project_uuid: str) -> int:
        return client.delete(
            f"/api/v1/org/projects/{project_uuid}", headers=acme.people[person].headers
        ).status_code

    assert delete("developer", project) == 403
    assert delete("developer", admins_preview) == 403
    assert delete("member", project) == 404
    assert delete("admin", foreign) == 404
    assert delete("developer", own_preview) == 200
    assert project_row(runtime, own_preview) is None
    assert project_row(runtime, project) is not None
    assert project_row(runtime, foreign) is not None
    assert (
        client.delete("/api/v1/org/projects/nope", headers=acme.people["admin"].headers).status_code
        == 400
    )


def test_previews_survive_their_upstream(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    upstream = make_project(runtime, org, "Analytics")
    preview = client.post(
        "/api/v1/org/projects",
        json={"name": "P", "type": "PREVIEW", "upstreamProjectUuid": upstream},
        headers=org.people["admin"].headers,
    ).json()["results"]["project"]["projectUuid"]

    assert (
        client.delete(
            f"/api/v1/org/projects/{upstream}", headers=org.people["admin"].headers
        ).status_code
        == 200
    )

    row = project_row(runtime, preview)
    assert row is not None and row.upstream_project_uuid is None
