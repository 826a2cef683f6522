"""Explores: deploy (PUT), summaries, one explore."""

from __future__ import annotations

import gzip
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.dbt_manifest import convert_manifest, load_manifest
from lightkeeper.models import Explore
from lightkeeper.runtime import Runtime
from tests.support import (
    JAFFLE_MANIFEST,
    add_custom_role,
    add_person,
    audit_events,
    bind_org_role,
    make_org,
    make_project,
)


def explore(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.title(),
        "baseTable": name,
        "tags": ["core"],
        "tables": {
            name: {
                "name": name,
                "label": name.title(),
                "sqlTable": f'"analytics"."{name}"',
                "database": "analytics",
                "schema": "public",
                "description": f"{name} table",
                "dimensions": {"id": {"name": "id", "type": "number"}},
                "metrics": {},
            }
        },
        "joinedTables": [],
        **extra,
    }


def stored_names(runtime: Runtime, project_uuid: str) -> list[str]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(Explore.name)
                .where(Explore.project_uuid == project_uuid)
                .order_by(Explore.name)
            )
        )


def test_deploy_replaces_every_explore(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))
    project = make_project(runtime, org, "Analytics")
    url = f"/api/v1/projects/{project}/explores"
    headers = org.people["developer"].headers

    first = client.put(url, json=[explore("orders"), explore("customers")], headers=headers)
    second = client.put(
        url, json={"explores": [explore("orders"), explore("payments")]}, headers=headers
    )

    assert first.status_code == 200
    assert first.json()["results"] == {"explores": 2}
    assert second.status_code == 200
    assert stored_names(runtime, project) == ["orders", "payments"]
    deploys = audit_events(runtime, "project.explores_deployed")
    assert [e.details for e in deploys] == [
        {"explores": 2, "added": 2, "updated": 0, "removed": 0},
        {"explores": 2, "added": 1, "updated": 1, "removed": 1},
    ]
    assert deploys[0].target_uuid == project
    assert deploys[0].actor_uuid == org.people["developer"].uuid


def test_summaries_and_one_explore(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    project = make_project(runtime, org, "Analytics")
    client.put(
        f"/api/v1/projects/{project}/explores",
        json=[explore("orders", groupLabel="Sales"), explore("customers")],
        headers=org.people["admin"].headers,
    )
    viewer = org.people["viewer"].headers

    summaries = client.get(f"/api/v1/projects/{project}/explores", headers=viewer)
    one = client.get(f"/api/v1/projects/{project}/explores/orders", headers=viewer)
    missing = client.get(f"/api/v1/projects/{project}/explores/refunds", headers=viewer)

    assert summaries.status_code == 200
    assert summaries.json()["results"] == [
        {
            "name": "customers",
            "label": "Customers",
            "tags": ["core"],
            "groupLabel": None,
            "databaseName": "analytics",
            "schemaName": "public",
            "description": "customers table",
        },
        {
            "name": "orders",
            "label": "Orders",
            "tags": ["core"],
            "groupLabel": "Sales",
            "databaseName": "analytics",
            "schemaName": "public",
            "description": "orders table",
        },
    ]
    assert one.status_code == 200
    assert one.json()["results"] == explore("orders", groupLabel="Sales")
    assert missing.status_code == 404
    assert "refunds" in missing.json()["error"]["message"]


def test_invalid_explores_are_400_naming_the_explore(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    url = f"/api/v1/projects/{project}/explores"
    headers = org.people["admin"].headers
    client.put(url, json=[explore("orders")], headers=headers)

    cases = {
        "no name": ([explore("orders"), {**explore("x"), "name": ""}], "#2"),
        "duplicate": ([explore("orders"), explore("orders")], "'orders'"),
        "no tables": ([{**explore("payments"), "tables": {}}], "'payments'"),
        "not a list": ({"name": "orders"}, "list of explores"),
    }
    for case, (body, named) in cases.items():
        response = client.put(url, json=body, headers=headers)
        assert response.status_code == 400, case
        assert named in response.json()["error"]["message"], case
    assert stored_names(runtime, project) == ["orders"]
    assert len(audit_events(runtime, "project.explores_deployed")) == 1


def test_deploy_rights(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "viewer", "editor", "member"))
    globex = make_org(runtime, "Globex")
    project = make_project(runtime, acme, "Analytics")
    foreign = make_project(runtime, globex, "Secret")

    def deploy(person: str, project_uuid: str) -> int:
        return client.put(
            f"/api/v1/projects/{project_uuid}/explores",
            json=[explore("orders")],
            headers=acme.people[person].headers,
        ).status_code

    assert deploy("viewer", project) == 403
    assert deploy("editor", project) == 403
    assert deploy("member", project) == 404
    assert deploy("admin", foreign) == 404
    assert (
        client.get(
            f"/api/v1/projects/{foreign}/explores", headers=acme.people["admin"].headers
        ).status_code
        == 404
    )
    assert stored_names(runtime, project) == []


def test_deploying_a_converted_dbt_manifest_gzipped(client: TestClient, runtime: Runtime) -> None:
    # What the CLI sends: explores converted from a real manifest, gzipped like Lightdash's CLI.
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Jaffle shop")
    report = convert_manifest(load_manifest(JAFFLE_MANIFEST))
    body = gzip.compress(json.dumps(report.explores).encode())

    response = client.put(
        f"/api/v1/projects/{project}/explores",
        content=body,
        headers={
            **org.people["admin"].headers,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )

    assert response.status_code == 200
    assert response.json()["results"] == {"explores": len(report.explores)}
    summaries = client.get(
        f"/api/v1/projects/{project}/explores", headers=org.people["admin"].headers
    ).json()
    assert {s["name"] for s in summaries["results"]} == {e["name"] for e in report.explores}
    orders = client.get(
        f"/api/v1/projects/{project}/explores/orders", headers=org.people["admin"].headers
    )
    assert orders.json()["results"]["baseTable"] == "orders"


def test_deploy_self_qualifier_covers_only_own_previews(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    role = add_custom_role(
        runtime, org, "Preview deployer", ["view:Project", "manage:DeployProject@self"]
    )
    deployer = add_person(runtime, org, "member", key="deployer")
    bind_org_role(runtime, deployer.uuid, role)
    main = make_project(runtime, org, "Analytics")
    own = make_project(runtime, org, "Mine", type_="PREVIEW", created_by=deployer.uuid)
    others = make_project(runtime, org, "Theirs", type_="PREVIEW")

    def deploy(project_uuid: str) -> int:
        return client.put(
            f"/api/v1/projects/{project_uuid}/explores",
            json=[explore("orders")],
            headers=deployer.headers,
        ).status_code

    assert deploy(own) == 200
    assert deploy(main) == 403
    assert deploy(others) == 403
