"""Enterprise gating: authentication first, then license and CUSTOM_ROLES_ENABLED; fail closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from lightkeeper.authz.access import allows, allows_org, can_see_project
from lightkeeper.authz.tenancy import project_target
from lightkeeper.db import transaction
from lightkeeper.models import Project
from lightkeeper.runtime import Runtime
from tests.roles.helpers import org_assignment_url, principal_of, project_assignment_url, roles_url
from tests.support import (
    add_custom_role,
    add_person,
    bind_project_role,
    custom_role_holder,
    make_org,
    make_project,
)

ROUTES = [
    ("GET", "{roles}/scopes"),
    ("GET", "{roles}"),
    ("POST", "{roles}"),
    ("GET", "{roles}/{role}"),
    ("PATCH", "{roles}/{role}"),
    ("DELETE", "{roles}/{role}"),
    ("GET", "{roles}/{role}/assignees"),
    ("POST", "{roles}/assignments/user/{user}"),
    ("DELETE", "{roles}/assignments/user/{user}"),
    ("POST", "{project_assignment}"),
    ("DELETE", "{project_assignment}"),
]
BODIES = {"POST": {"name": "x", "roleId": "viewer"}, "PATCH": {"name": "y"}}


def _urls(runtime: Runtime) -> tuple[dict[str, str], list[tuple[str, str]]]:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    role = add_custom_role(runtime, org, "R", [])
    project = make_project(runtime, org, "P")
    viewer = org.people["viewer"].uuid
    values = {
        "roles": roles_url(org),
        "role": role,
        "user": viewer,
        "project_assignment": project_assignment_url(project, viewer),
    }
    return org.people["admin"].headers, [(m, path.format(**values)) for m, path in ROUTES]


def _call(client: TestClient, method: str, url: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.request(method, url, json=BODIES.get(method), headers=headers or {})


@pytest.mark.parametrize(
    "overrides",
    [{}, {"CUSTOM_ROLES_ENABLED": False}, {"LIGHTDASH_LICENSE_KEY": ""}],
    ids=["enabled", "flag-off", "no-license"],
)
def test_authentication_comes_first(
    make_client: Callable[..., TestClient], runtime: Runtime, overrides: dict[str, object]
) -> None:
    client = make_client(**overrides)
    _headers, routes = _urls(runtime)
    for method, url in routes:
        response = _call(client, method, url)
        assert response.status_code == 401, (method, url, response.text)
        bad = _call(client, method, url, {"Authorization": "ApiKey ldpat_nonsense"})
        assert bad.status_code == 401, (method, url)


def test_without_custom_roles_enabled_management_is_403_naming_the_setting(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    client = make_client(CUSTOM_ROLES_ENABLED=False)
    headers, routes = _urls(runtime)
    for method, url in routes:
        response = _call(client, method, url, headers)
        assert response.status_code == 403, (method, url, response.text)
        error = response.json()["error"]
        assert error["name"] == "ForbiddenError"
        assert error["message"] == (
            "Custom roles require an Enterprise License Key (LIGHTDASH_LICENSE_KEY) and "
            "CUSTOM_ROLES_ENABLED=true: set CUSTOM_ROLES_ENABLED=true"
        )


def test_without_a_license_management_is_403_naming_the_license(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    client = make_client(LIGHTDASH_LICENSE_KEY="")
    headers, routes = _urls(runtime)
    for method, url in routes:
        response = _call(client, method, url, headers)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["error"]["message"].endswith(": set LIGHTDASH_LICENSE_KEY")
    neither = make_client(LIGHTDASH_LICENSE_KEY="", CUSTOM_ROLES_ENABLED=False)
    response = neither.get(routes[1][1], headers=headers)
    assert response.json()["error"]["message"].endswith(
        ": set LIGHTDASH_LICENSE_KEY and CUSTOM_ROLES_ENABLED=true"
    )


def _holders(runtime: Runtime) -> tuple[str, str, str]:
    """(org-level holder, project-level holder, project uuid), bound in the database."""
    org = make_org(runtime, "Acme")
    manager, _ = custom_role_holder(
        runtime, org, "manager", ["manage:Organization", "view:Project"]
    )
    project = make_project(runtime, org, "Analytics")
    member = add_person(runtime, org, "member", key="ana")
    viewer_role = add_custom_role(runtime, org, "Project viewer", ["view:Project"])
    bind_project_role(runtime, project, member.uuid, viewer_role)
    return manager.uuid, member.uuid, project


def _target(runtime: Runtime, project_uuid: str):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        project = session.get(Project, project_uuid)
        assert project is not None
        return project_target(project)


def test_without_the_license_custom_role_assignments_grant_nothing(
    make_runtime: Callable[..., Runtime],
) -> None:
    licensed = make_runtime()
    manager, member, project_uuid = _holders(licensed)
    project = _target(licensed, project_uuid)
    unlicensed = make_runtime(LIGHTDASH_LICENSE_KEY="")

    boss = principal_of(unlicensed, manager)
    assert not allows_org(boss, "manage", "Organization")
    assert not can_see_project(boss, project)
    viewer = principal_of(unlicensed, member)
    assert not can_see_project(viewer, project)
    assert not allows(viewer, "view", "Project", project=project)
    # What every org role gives still holds.
    assert allows_org(viewer, "view", "Organization")


def test_with_the_license_but_custom_roles_disabled_assignments_keep_working(
    make_runtime: Callable[..., Runtime],
) -> None:
    licensed = make_runtime()
    manager, member, project_uuid = _holders(licensed)
    project = _target(licensed, project_uuid)
    flag_off = make_runtime(CUSTOM_ROLES_ENABLED=False)

    boss = principal_of(flag_off, manager)
    assert allows_org(boss, "manage", "Organization")
    assert can_see_project(boss, project)
    assert can_see_project(principal_of(flag_off, member), project)


def test_a_disabled_flag_refuses_before_any_other_rule(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    """Even a caller who could not do it anyway, or names another org, learns the feature is off."""
    client = make_client(CUSTOM_ROLES_ENABLED=False)
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    other = make_org(runtime, "Other")
    viewer = org.people["viewer"]
    assert client.get(roles_url(org), headers=viewer.headers).status_code == 403
    assert client.get(roles_url(other), headers=viewer.headers).status_code == 403
    url = org_assignment_url(org, viewer.uuid)
    assert client.post(url, json={"roleId": "admin"}, headers=viewer.headers).status_code == 403
