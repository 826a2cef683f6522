"""Editing a role takes effect on each holder's very next request."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.roles.helpers import org_assignment_url, roles_url
from tests.support import custom_role_holder, make_org


def test_a_scope_edit_reaches_the_holders_next_request(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    holder, role_uuid = custom_role_holder(
        runtime, org, "holder", ["view:Organization", "manage:Organization"]
    )
    role_url = f"{roles_url(org)}/{role_uuid}"
    assert client.get(roles_url(org), headers=holder.headers).status_code == 200  # cached now

    narrowed = client.patch(role_url, json={"scopes": ["view:Organization"]}, headers=admin)
    assert narrowed.status_code == 200, narrowed.text
    assert client.get(roles_url(org), headers=holder.headers).status_code == 403

    widened = client.patch(
        role_url, json={"scopes": {"add": ["manage:Organization"], "remove": []}}, headers=admin
    )
    assert widened.status_code == 200
    assert client.get(roles_url(org), headers=holder.headers).status_code == 200


def test_unassigning_reaches_the_holders_next_request(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    holder, _role = custom_role_holder(runtime, org, "holder", ["manage:Organization"])
    assert client.get(roles_url(org), headers=holder.headers).status_code == 200
    removed = client.delete(
        org_assignment_url(org, holder.uuid), headers=org.people["admin"].headers
    )
    assert removed.status_code == 200
    assert client.get(roles_url(org), headers=holder.headers).status_code == 403


def test_an_edit_in_one_process_reaches_another_within_a_second(
    make_runtime: Callable[..., Runtime], make_client: Callable[..., TestClient]
) -> None:
    here, there = make_runtime(), make_runtime()
    org = make_org(here, "Acme")
    holder, role_uuid = custom_role_holder(here, org, "holder", ["manage:Organization"])
    client_here, client_there = make_client(here), make_client(there)
    assert client_there.get(roles_url(org), headers=holder.headers).status_code == 200

    response = client_here.patch(
        f"{roles_url(org)}/{role_uuid}", json={"scopes": []}, headers=org.people["admin"].headers
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status != 403:
        status = client_there.get(roles_url(org), headers=holder.headers).status_code
        time.sleep(0.05)
    assert status == 403
