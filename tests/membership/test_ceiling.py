"""Nobody grants more than they hold: assigning roles at organization and project level."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.roles.helpers import org_assignment_url, project_assignment_url
from tests.support import (
    add_custom_role,
    add_membership,
    add_person,
    bind_project_role,
    custom_role_holder,
    make_org,
    make_project,
    membership_row,
    user_row,
)

CEILING = "Cannot grant permissions exceeding your own"
# Manages the organization, holds nothing on projects.
ORG_MANAGER = ["view:Organization", "manage:Organization"]


ACTING_ON = "Cannot act on a principal with more permissions than your own"


def _forbidden(response, message: str = CEILING) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text
    assert response.json()["error"]["message"] == message


def test_organization_assignments_stay_within_the_callers_holdings(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    manager, _ = custom_role_holder(runtime, org, "manager", ORG_MANAGER)
    target = add_person(runtime, org, "member", key="target")
    url = org_assignment_url(org, target.uuid)

    _forbidden(client.post(url, json={"roleId": "admin"}, headers=manager.headers))
    _forbidden(client.post(url, json={"roleId": "viewer"}, headers=manager.headers))
    bigger = add_custom_role(runtime, org, "Bigger", ["manage:Organization", "view:Project"])
    _forbidden(client.post(url, json={"roleId": bigger}, headers=manager.headers))
    smaller = add_custom_role(runtime, org, "Smaller", ["view:Organization"])
    ok = client.post(url, json={"roleId": smaller}, headers=manager.headers)
    assert ok.status_code == 200, ok.text
    # "member" gives only what every role gives.
    assert client.post(url, json={"roleId": "member"}, headers=manager.headers).status_code == 200

    # Nor may they change the access of someone holding more than they do.
    editor = add_person(runtime, org, "editor", key="ed")
    demote = client.post(
        org_assignment_url(org, editor.uuid), json={"roleId": "member"}, headers=manager.headers
    )
    _forbidden(demote, ACTING_ON)
    assert user_row(runtime, editor.uuid).role == "editor"


def test_project_assignments_stay_within_what_the_caller_holds_on_that_project(
    client: TestClient, runtime: Runtime
) -> None:
    """Beyond Lightdash: project grants are checked too."""
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    # A project manager who holds the viewer scopes and manage:Project on this project only.
    lead = add_person(runtime, org, "member", key="lead")
    lead_role = add_custom_role(
        runtime,
        org,
        "Project lead",
        [
            "view:Project",
            "manage:Project",
            "view:Space",
            "view:SavedChart",
            "view:Dashboard",
            "view:DashboardComments",
        ],
    )
    bind_project_role(runtime, project, lead.uuid, lead_role)
    person = add_person(runtime, org, "member", key="ana")
    url = project_assignment_url(project, person.uuid)

    assert client.post(url, json={"roleId": "viewer"}, headers=lead.headers).status_code == 200
    _forbidden(client.post(url, json={"roleId": "editor"}, headers=lead.headers))
    deployer = add_custom_role(runtime, org, "Deployer", ["view:Project", "manage:DeployProject"])
    _forbidden(client.post(url, json={"roleId": deployer}, headers=lead.headers))
    membership = membership_row(runtime, project, person.uuid)
    assert membership is not None and membership.role == "viewer"

    # Organization-level scopes of a custom role do not apply on a project, so they do not count.
    reader = add_custom_role(runtime, org, "Reader", ["view:Project", "manage:Organization"])
    assert client.post(url, json={"roleId": reader}, headers=lead.headers).status_code == 200

    # A developer member of the project cannot be demoted or removed by the lead.
    dev = add_person(runtime, org, "member", key="dev")
    add_membership(runtime, project, dev.uuid, "developer")
    dev_url = project_assignment_url(project, dev.uuid)
    _forbidden(client.post(dev_url, json={"roleId": "viewer"}, headers=lead.headers), ACTING_ON)
    _forbidden(client.delete(dev_url, headers=lead.headers), ACTING_ON)

    # On another project the lead holds nothing: that project is not even visible.
    elsewhere = make_project(runtime, org, "Elsewhere")
    hidden = client.post(
        project_assignment_url(elsewhere, person.uuid),
        json={"roleId": "viewer"},
        headers=lead.headers,
    )
    assert hidden.status_code == 404
