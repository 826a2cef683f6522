"""Nobody grants more than they hold: writing roles (assignments: tests/membership/test_ceiling.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.roles.helpers import roles_url
from tests.support import add_custom_role, custom_role_holder, make_org

CEILING = "Cannot grant permissions exceeding your own"
# Manages the organization, holds nothing on projects.
ORG_MANAGER = ["view:Organization", "manage:Organization"]


ACTING_ON = "Cannot act on a principal with more permissions than your own"


def _forbidden(response, message: str = CEILING) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text
    assert response.json()["error"]["message"] == message


def test_a_role_cannot_hold_scopes_its_author_lacks(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    manager, _ = custom_role_holder(runtime, org, "manager", ORG_MANAGER)
    headers = manager.headers

    _forbidden(
        client.post(
            roles_url(org), json={"name": "Too much", "scopes": ["manage:Project"]}, headers=headers
        )
    )
    allowed = client.post(
        roles_url(org), json={"name": "Readers", "scopes": ["view:Organization"]}, headers=headers
    )
    assert allowed.status_code == 201, allowed.text
    url = f"{roles_url(org)}/{allowed.json()['results']['roleUuid']}"
    _forbidden(
        client.patch(
            url, json={"scopes": {"add": ["manage:Project"], "remove": []}}, headers=headers
        )
    )
    # A role holding more than the caller cannot be narrowed by them either, but it can be renamed.
    powerful = add_custom_role(runtime, org, "Powerful", ["manage:Organization", "manage:Project"])
    powerful_url = f"{roles_url(org)}/{powerful}"
    _forbidden(
        client.patch(powerful_url, json={"scopes": ["manage:Organization"]}, headers=headers)
    )
    renamed = client.patch(powerful_url, json={"name": "Very powerful"}, headers=headers)
    assert renamed.status_code == 200

    # An admin holds every scope organization-wide.
    admin = client.post(
        roles_url(org),
        json={"name": "Deployers", "scopes": ["manage:DeployProject", "manage:Project"]},
        headers=org.people["admin"].headers,
    )
    assert admin.status_code == 201
