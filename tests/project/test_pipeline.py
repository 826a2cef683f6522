"""The rest of `lightdash deploy`'s pipeline: tags, parameters, batched deploy, validation, previews."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock
from lightkeeper.models import Dashboard, DeploySession, ProjectTag, SavedChart
from lightkeeper.runtime import Runtime
from tests.project.test_explores import explore, stored_names
from tests.support import (
    Org,
    add_chart,
    add_space,
    audit_events,
    count_rows,
    make_org,
    make_project,
)


def world(runtime: Runtime) -> tuple[Org, str]:
    org = make_org(runtime, "Acme", roles=("admin", "developer", "editor", "viewer"))
    return org, make_project(runtime, org, "Analytics")


def results(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["results"]


# -- tags --------------------------------------------------------------------------


def test_yaml_tags_are_stored_replaced_and_returned(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    dev = org.people["developer"].headers
    url = f"/api/v1/projects/{project}/tags/yaml"
    tags = [
        {"name": "Finance", "color": "#00ff00", "yamlReference": "finance"},
        {"name": "Sales", "color": "blue", "yamlReference": "sales"},
    ]
    assert results(client.put(url, json=tags, headers=dev)) is None

    listed = results(
        client.get(f"/api/v1/projects/{project}/tags", headers=org.people["viewer"].headers)
    )
    assert [(t["name"], t["color"], t["yamlReference"]) for t in listed] == [
        ("Finance", "#00ff00", "finance"),
        ("Sales", "blue", "sales"),
    ]
    assert listed[0]["projectUuid"] == project and listed[0]["tagUuid"]
    assert listed[0]["createdBy"]["userUuid"] == org.people["developer"].uuid

    # The next deploy renames one, drops one and adds one; an unchanged deploy changes nothing.
    tags = [
        {"name": "Money", "color": "#00ff00", "yamlReference": "finance"},
        {"name": "Ops", "color": "gray", "yamlReference": "ops"},
    ]
    client.put(url, json=tags, headers=dev)
    client.put(url, json=tags, headers=dev)
    listed = results(client.get(f"/api/v1/projects/{project}/tags", headers=dev))
    assert [(t["name"], t["yamlReference"]) for t in listed] == [
        ("Money", "finance"),
        ("Ops", "ops"),
    ]
    events = audit_events(runtime, "project.tags_replaced")
    assert len(events) == 2
    assert events[-1].details == {"added": ["ops"], "updated": ["finance"], "removed": ["sales"]}


def test_bad_tags_are_refused_and_need_deploy_rights(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    url = f"/api/v1/projects/{project}/tags/yaml"
    good = [{"name": "Finance", "color": "green", "yamlReference": "finance"}]
    assert client.put(url, json=good, headers=org.people["editor"].headers).status_code == 403
    twice = client.put(url, json=good * 2, headers=org.people["developer"].headers)
    assert twice.status_code == 400 and "finance" in twice.json()["error"]["message"]
    missing = client.put(url, json=[{"name": "x"}], headers=org.people["developer"].headers)
    assert missing.status_code == 400
    assert count_rows(runtime, ProjectTag) == 0


# -- parameters --------------------------------------------------------------------


def test_parameters_are_stored_and_returned(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    url = f"/api/v2/projects/{project}/parameters"
    assert results(client.get(url, headers=org.people["viewer"].headers)) == {}
    parameters = {"region": {"label": "Region", "options": ["EU", "US"], "default": "EU"}}
    assert (
        results(client.put(url, json=parameters, headers=org.people["developer"].headers)) is None
    )
    assert results(client.get(url, headers=org.people["viewer"].headers)) == parameters
    assert client.put(url, json={}, headers=org.people["developer"].headers).status_code == 200
    assert results(client.get(url, headers=org.people["viewer"].headers)) == {}
    assert len(audit_events(runtime, "project.parameters_replaced")) == 2


def test_bad_parameters_are_refused(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    url = f"/api/v2/projects/{project}/parameters"
    dev = org.people["developer"].headers
    bad = client.put(url, json={"region": "EU"}, headers=dev)
    assert bad.status_code == 400 and "region" in bad.json()["error"]["message"]
    assert client.put(url, json=["region"], headers=dev).status_code == 400
    assert client.put(url, json={"a": {}}, headers=org.people["viewer"].headers).status_code == 403
    assert results(client.get(url, headers=dev)) == {}


# -- batched deploy ----------------------------------------------------------------


def test_a_batched_deploy_changes_the_project_only_at_finalize(
    client: TestClient, runtime: Runtime
) -> None:
    org, project = world(runtime)
    dev = org.people["developer"].headers
    client.put(f"/api/v1/projects/{project}/explores", json=[explore("old")], headers=dev)
    base = f"/api/v2/projects/{project}/deploy"
    session = results(client.post(base, json={}, headers=dev))["deploySessionUuid"]
    first = client.post(
        f"{base}/{session}/batch",
        json={"explores": [explore("orders")], "batchNumber": 0},
        headers=dev,
    )
    assert results(first) == {"batchNumber": 0, "exploreCount": 1}
    second = client.post(
        f"{base}/{session}/batch",
        json={"explores": [explore("customers"), explore("payments")], "batchNumber": 1},
        headers=dev,
    )
    assert results(second) == {"batchNumber": 1, "exploreCount": 2}
    assert stored_names(runtime, project) == ["old"]  # nothing changes before finalize

    done = results(client.post(f"{base}/{session}/finalize", json={}, headers=dev))
    assert done == {"exploreCount": 3, "status": "completed"}
    assert stored_names(runtime, project) == ["customers", "orders", "payments"]
    [event] = audit_events(runtime, "project.explores_deployed")[-1:]
    assert event.details["added"] == 3 and event.details["removed"] == 1
    # A finalized session takes nothing more.
    again = client.post(f"{base}/{session}/finalize", json={}, headers=dev)
    assert again.status_code == 400 and "new deploy session" in again.json()["error"]["message"]


def test_a_session_that_never_finalizes_changes_nothing_and_expires(
    client: TestClient, runtime: Runtime
) -> None:
    org, project = world(runtime)
    dev = org.people["developer"].headers
    base = f"/api/v2/projects/{project}/deploy"
    session = results(client.post(base, json={}, headers=dev))["deploySessionUuid"]
    batch = {"explores": [explore("orders")], "batchNumber": 0}
    results(client.post(f"{base}/{session}/batch", json=batch, headers=dev))
    assert stored_names(runtime, project) == []

    clock.advance(timedelta(hours=2))
    late = client.post(f"{base}/{session}/finalize", json={}, headers=dev)
    assert late.status_code == 400 and "expired" in late.json()["error"]["message"]
    assert stored_names(runtime, project) == []
    # The next session sweeps the expired one away, batches included.
    results(client.post(base, json={}, headers=dev))
    assert count_rows(runtime, DeploySession) == 1


def test_a_batch_for_another_session_or_project_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    org, project = world(runtime)
    other = make_project(runtime, org, "Other")
    admin, dev = org.people["admin"].headers, org.people["developer"].headers
    session = results(client.post(f"/api/v2/projects/{project}/deploy", json={}, headers=dev))[
        "deploySessionUuid"
    ]
    batch = {"explores": [explore("orders")], "batchNumber": 0}
    for url, headers in [
        (f"/api/v2/projects/{other}/deploy/{session}/batch", dev),  # another project
        (f"/api/v2/projects/{project}/deploy/{session}/batch", admin),  # another caller
        (f"/api/v2/projects/{project}/deploy/not-a-session/batch", dev),
    ]:
        refused = client.post(url, json=batch, headers=headers)
        assert refused.status_code == 404, (url, refused.text)
    other_finalize = client.post(f"/api/v2/projects/{other}/deploy/{session}/finalize", headers=dev)
    assert other_finalize.status_code == 404
    bad = client.post(
        f"/api/v2/projects/{project}/deploy/{session}/batch",
        json={"explores": [{"name": "x"}], "batchNumber": 0},
        headers=dev,
    )
    assert bad.status_code == 400
    empty = client.post(f"/api/v2/projects/{project}/deploy/{session}/finalize", headers=dev)
    assert empty.status_code == 400 and "no batches" in empty.json()["error"]["message"]
    assert stored_names(runtime, project) == [] and stored_names(runtime, other) == []
    viewer = client.post(f"/api/v2/projects/{project}/deploy", headers=org.people["viewer"].headers)
    assert viewer.status_code == 403


def test_an_explore_that_failed_to_compile_is_deployed_with_its_errors(
    client: TestClient, runtime: Runtime
) -> None:
    org, project = world(runtime)
    broken = {
        "name": "broken",
        "label": "Broken",
        "tags": [],
        "errors": [{"type": "ParseError", "message": "bad sql"}],
    }
    r = client.put(
        f"/api/v1/projects/{project}/explores",
        json=[explore("orders"), broken],
        headers=org.people["developer"].headers,
    )
    assert r.status_code == 200, r.text
    assert stored_names(runtime, project) == ["broken", "orders"]


# -- validation --------------------------------------------------------------------


def orders_explore() -> dict[str, Any]:
    body = explore("orders")
    body["tables"]["orders"]["dimensions"] = {"status": {"name": "status"}, "id": {"name": "id"}}
    body["tables"]["orders"]["metrics"] = {"count": {"name": "count"}}
    return body


def test_validate_reports_charts_and_dashboards_with_missing_fields(
    client: TestClient, runtime: Runtime
) -> None:
    org, project = world(runtime)
    dev = org.people["developer"].headers
    space = add_space(runtime, project, "Sales")
    good = add_chart(runtime, project, space, "Good")  # orders_status: present
    with transaction(runtime.sessions) as session:
        session.add(
            SavedChart(
                project_uuid=project,
                space_uuid=space,
                name="Broken",
                slug="broken",
                table_name="orders",
                metric_query={
                    "dimensions": ["orders_status", "orders_gone"],
                    "metrics": ["orders_count"],
                    "sorts": [{"fieldId": "orders_gone"}],
                    "filters": {
                        "dimensions": {"id": "f", "and": [{"target": {"fieldId": "orders_old"}}]}
                    },
                    "tableCalculations": [{"name": "ratio"}],
                },
            )
        )
        session.add(
            SavedChart(
                project_uuid=project,
                space_uuid=space,
                name="Lost",
                slug="lost",
                table_name="refunds",
            )
        )
        session.add(
            Dashboard(
                project_uuid=project,
                space_uuid=space,
                name="Board",
                slug="board",
                tiles=[],
                filters={
                    "dimensions": [{"target": {"fieldId": "orders_region", "tableName": "orders"}}]
                },
            )
        )
    started = results(
        client.post(
            f"/api/v1/projects/{project}/validate",
            json={"explores": [orders_explore()], "validationTargets": ["charts", "dashboards"]},
            headers=dev,
        )
    )
    job = started["jobId"]
    status = results(client.get(f"/api/v1/schedulers/job/{job}/status", headers=dev))
    assert status["status"] == "completed"
    found = results(client.get(f"/api/v1/projects/{project}/validate?jobId={job}", headers=dev))
    summary = sorted((f["source"], f["name"], f["errorType"], f.get("fieldName")) for f in found)
    assert summary == [
        ("chart", "Broken", "dimension", "orders_gone"),
        ("chart", "Broken", "filter", "orders_old"),
        ("chart", "Broken", "sorting", "orders_gone"),
        ("chart", "Lost", "model", None),
        ("dashboard", "Board", "filter", "orders_region"),
    ]
    assert all(f["projectUuid"] == project and f["validationId"] for f in found)
    assert good not in {f.get("chartUuid") for f in found}
    # Without jobId: the latest validation; with only `tables`: nothing is wrong with the explores.
    assert results(client.get(f"/api/v1/projects/{project}/validate", headers=dev)) == found
    tables_only = results(
        client.post(
            f"/api/v1/projects/{project}/validate",
            json={"explores": [orders_explore()], "validationTargets": ["tables"]},
            headers=dev,
        )
    )["jobId"]
    assert (
        results(client.get(f"/api/v1/projects/{project}/validate?jobId={tables_only}", headers=dev))
        == []
    )


def test_a_validation_job_is_not_readable_from_elsewhere(
    client: TestClient, runtime: Runtime
) -> None:
    org, project = world(runtime)
    globex = make_org(runtime, "Globex")
    other = make_project(runtime, org, "Other")
    dev = org.people["developer"].headers
    job = results(client.post(f"/api/v1/projects/{project}/validate", json={}, headers=dev))[
        "jobId"
    ]
    assert (
        client.get(
            f"/api/v1/schedulers/job/{job}/status", headers=globex.people["admin"].headers
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/projects/{other}/validate?jobId={job}", headers=dev).status_code == 404
    )
    assert client.get("/api/v1/schedulers/job/nope/status", headers=dev).status_code == 404
    assert (
        client.post(
            f"/api/v1/projects/{project}/validate", json={}, headers=org.people["viewer"].headers
        ).status_code
        == 403
    )
    bad = client.post(
        f"/api/v1/projects/{project}/validate", json={"explores": [{"name": "x"}]}, headers=dev
    )
    assert bad.status_code == 400


# -- previews ----------------------------------------------------------------------


def test_a_preview_expires(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    dev = org.people["developer"].headers
    created = results(
        client.post(
            "/api/v1/org/projects",
            json={
                "name": "Preview",
                "type": "PREVIEW",
                "upstreamProjectUuid": project,
                "copyContent": True,
                "asyncCopyContent": True,
                "expiresInHours": 2,
                "dbtConnection": {"type": "none"},
                "dbtVersion": "v1.8",
            },
            headers=dev,
        )
    )
    preview = created["project"]["projectUuid"]
    assert created["hasContentCopy"] is True
    copy_status = results(
        client.get(f"/api/v1/schedulers/job/{created['contentCopyJobUuid']}/status", headers=dev)
    )
    assert copy_status["status"] == "completed"

    moved = results(
        client.patch(
            f"/api/v1/projects/{preview}/preview-expiration",
            json={"expiresInHours": 24},
            headers=dev,
        )
    )
    assert moved["expiresAt"].endswith("Z")
    clock.advance(timedelta(hours=3))
    assert client.get(f"/api/v1/projects/{preview}", headers=dev).status_code == 200  # 24 h now
    assert client.get(f"/api/v1/projects/{preview}/spaces", headers=dev).status_code == 200
    clock.advance(timedelta(hours=22))
    assert client.get(f"/api/v1/projects/{preview}", headers=dev).status_code == 404
    assert client.get(f"/api/v1/projects/{preview}/spaces", headers=dev).status_code == 404
    listed = results(client.get("/api/v1/org/projects", headers=org.people["admin"].headers))
    assert preview not in {p["projectUuid"] for p in listed}
    # The next project creation deletes it for good, audited as the system's act.
    results(
        client.post(
            "/api/v1/org/projects", json={"name": "Next"}, headers=org.people["admin"].headers
        )
    )
    [deleted] = audit_events(runtime, "project.deleted")
    assert deleted.target_uuid == preview and deleted.actor_type == "system"
    assert deleted.details["reason"] == "expired"


def test_only_previews_expire(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    admin = org.people["admin"].headers
    r = client.patch(
        f"/api/v1/projects/{project}/preview-expiration", json={"expiresInHours": 1}, headers=admin
    )
    assert r.status_code == 400 and "preview" in r.json()["error"]["message"]
    r = client.post("/api/v1/org/projects", json={"name": "X", "expiresInHours": 1}, headers=admin)
    assert r.status_code == 400
    r = client.patch(
        f"/api/v1/projects/{project}/preview-expiration", json={"expiresInHours": -1}, headers=admin
    )
    assert r.status_code == 400


def test_sql_charts_as_code_is_an_empty_page(client: TestClient, runtime: Runtime) -> None:
    org, project = world(runtime)
    page = results(
        client.get(
            f"/api/v1/projects/{project}/sqlCharts/code?offset=0",
            headers=org.people["developer"].headers,
        )
    )
    assert page == {"sqlCharts": [], "missingIds": [], "total": 0, "offset": 0}
