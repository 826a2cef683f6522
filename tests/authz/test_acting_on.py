"""Nobody acts on a principal who holds more than they do (the acting-on rule).

The grant ceiling stops giving more than one holds. These cases are the other
half: a caller who may manage the organization, its members or its invites
must not reach a principal who already holds more — rotating its token (and
so receiving it), editing, demoting, deleting, removing it or revoking its
credentials — through the API or the web pages.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.models import User
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import URL, created
from tests.support import (
    add_person,
    auth,
    authenticated,
    custom_role_holder,
    in_days,
    make_org,
    service_account_row,
    user_row,
)
from tests.web.helpers import login

ACTING_ON = "Cannot act on a principal with more permissions than your own"
# May manage the organization (service accounts), holds nothing on projects.
ORG_MANAGER = ["view:Organization", "manage:Organization"]
# May manage members (and so their personal tokens), holds nothing on projects.
PEOPLE_MANAGER = [
    "view:Organization",
    "view:OrganizationMemberProfile",
    "manage:OrganizationMemberProfile",
]
# May invite, holds what the `member` org role gives and nothing on projects.
INVITER = ["view:Organization", "view:OrganizationMemberProfile", "manage:InviteLink"]


def _refused(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["message"] == ACTING_ON


def test_an_org_manager_cannot_take_over_an_admin_service_account(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    manager, _ = custom_role_holder(runtime, org, "manager", ORG_MANAGER)
    expiring = created(client, admin, description="deploys", scopes=["system:admin"])
    forever = created(client, admin, description="legacy", scopes=["org:admin"], expiresAt=None)

    rotate = client.patch(
        f"{URL}/{expiring['uuid']}/rotate", json={"expiresAt": in_days(5)}, headers=manager.headers
    )
    delete = client.delete(f"{URL}/{forever['uuid']}", headers=manager.headers)
    demote = client.patch(
        f"{URL}/{expiring['uuid']}",
        json={"description": "deploys", "scopes": ["system:viewer"]},
        headers=manager.headers,
    )

    for response in (rotate, delete, demote):
        _refused(response)
    assert "token" not in rotate.text
    # Nothing changed: both accounts exist, unchanged, and their tokens still work.
    assert authenticated(client, auth(expiring["token"]))
    assert authenticated(client, auth(forever["token"]))
    row = service_account_row(runtime, expiring["uuid"])
    assert row is not None and row.scopes == ["system:admin"] and row.rotated_at is None


def test_an_org_manager_still_acts_on_service_accounts_holding_less(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    manager, role_uuid = custom_role_holder(runtime, org, "manager", ORG_MANAGER)
    smaller = created(client, org.people["admin"].headers, description="bot", roleUuid=role_uuid)

    rotate = client.patch(
        f"{URL}/{smaller['uuid']}/rotate", json={"expiresAt": in_days(5)}, headers=manager.headers
    )
    delete = client.delete(f"{URL}/{smaller['uuid']}", headers=manager.headers)

    assert rotate.status_code == 200, rotate.text
    assert rotate.json()["results"]["token"].startswith("ldsvc_")
    assert delete.status_code == 200, delete.text


def test_an_admin_acts_on_an_admin_service_account(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    account = created(client, admin, description="deploys", scopes=["system:admin"])

    rotate = client.patch(
        f"{URL}/{account['uuid']}/rotate", json={"expiresAt": in_days(5)}, headers=admin
    )

    assert rotate.status_code == 200, rotate.text


def test_a_people_manager_cannot_reach_an_admins_personal_tokens(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    admin = org.people["admin"]
    manager, _ = custom_role_holder(runtime, org, "manager", PEOPLE_MANAGER)
    tokens_url = f"/api/v1/org/users/{admin.uuid}/personal-access-tokens"
    token_uuid = client.get("/api/v1/user/personal-access-tokens", headers=admin.headers).json()[
        "results"
    ][0]["uuid"]

    listed = client.get(tokens_url, headers=manager.headers)
    revoked = client.delete(f"{tokens_url}/{token_uuid}", headers=manager.headers)

    _refused(listed)
    _refused(revoked)
    assert authenticated(client, admin.headers)
    # A member holding no more than the manager is still theirs to manage.
    member = org.people["member"]
    assert (
        client.get(
            f"/api/v1/org/users/{member.uuid}/personal-access-tokens", headers=manager.headers
        ).status_code
        == 200
    )


def test_custom_roles_count_when_removing_or_demoting_a_member(
    client: TestClient, runtime: Runtime
) -> None:
    """The old check looked at the system role only: a `member` with a powerful custom role."""
    org = make_org(runtime, "Acme")
    manager, _ = custom_role_holder(runtime, org, "manager", PEOPLE_MANAGER)
    powerful, _ = custom_role_holder(runtime, org, "powerful", ["manage:Organization"])

    removed = client.delete(f"/api/v1/org/user/{powerful.uuid}", headers=manager.headers)
    changed = client.patch(
        f"/api/v1/org/users/{powerful.uuid}", json={"role": "member"}, headers=manager.headers
    )

    _refused(removed)
    _refused(changed)
    row = user_row(runtime, powerful.uuid)
    assert row is not None and row.is_active and row.custom_role_uuid is not None
    assert authenticated(client, powerful.headers)


def test_a_project_role_counts_too(client: TestClient, runtime: Runtime) -> None:
    """Someone holding more on one project than the caller holds there is out of reach."""
    from tests.support import add_membership, make_project

    org = make_org(runtime, "Acme")
    manager, _ = custom_role_holder(runtime, org, "manager", PEOPLE_MANAGER)
    project = make_project(runtime, org, "Analytics")
    developer = add_person(runtime, org, "member", key="dev")
    add_membership(runtime, project, developer.uuid, "developer")

    _refused(client.delete(f"/api/v1/org/user/{developer.uuid}", headers=manager.headers))
    assert authenticated(client, developer.headers)


def test_the_web_pages_obey_the_same_rule(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    account = created(client, admin, description="deploys", scopes=["system:admin"])
    manager, _ = custom_role_holder(runtime, org, "manager", [*ORG_MANAGER, *PEOPLE_MANAGER[1:]])
    csrf = login(client, manager)
    page = "/generalSettings/serviceAccounts"
    json_reply = {"Accept": "application/json"}

    rotate = client.post(
        f"{page}/{account['uuid']}/rotate",
        data={"csrf_token": csrf, "expiration": "30"},
        headers=json_reply,
    )
    delete = client.post(
        f"{page}/{account['uuid']}/delete", data={"csrf_token": csrf}, headers=json_reply
    )
    remove = client.post(
        f"/generalSettings/users/{org.people['admin'].uuid}/remove",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )

    assert rotate.status_code == 403, rotate.text
    assert ACTING_ON in rotate.text and "ldsvc_" not in rotate.text
    assert delete.status_code == 403, delete.text
    assert remove.status_code != 303  # re-rendered with the error, not done
    assert ACTING_ON in remove.text
    assert authenticated(client, auth(account["token"]))
    with runtime.sessions() as session:
        admin_row = session.get(User, org.people["admin"].uuid)
        assert admin_row is not None and admin_row.is_active


def test_invites_beyond_the_ceiling_are_neither_listed_nor_withdrawn(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    inviter, _ = custom_role_holder(runtime, org, "inviter", INVITER)
    admin_invite = client.post(
        "/api/v1/invite-links",
        json={"email": "boss@acme.example", "role": "admin"},
        headers=admin,
    ).json()["results"]
    own = client.post(
        "/api/v1/invite-links",
        json={"email": "new@acme.example", "role": "member"},
        headers=inviter.headers,
    )
    assert own.status_code == 201 or own.status_code == 200, own.text

    listed = client.get("/api/v1/invite-links", headers=inviter.headers)
    withdrawn = client.delete(
        f"/api/v1/invite-links/{admin_invite['inviteCode']}", headers=inviter.headers
    )
    login(client, inviter)
    settings_page = client.get("/generalSettings/users")

    assert listed.status_code == 200
    emails = [invite["email"] for invite in listed.json()["results"]]
    assert emails == ["new@acme.example"]
    assert admin_invite["inviteCode"] not in listed.text
    assert withdrawn.status_code == 404
    assert settings_page.status_code == 200 and "new@acme.example" in settings_page.text
    assert admin_invite["inviteCode"] not in settings_page.text
    # The admin still sees both, and the admin invite still works.
    everything = client.get("/api/v1/invite-links", headers=admin).json()["results"]
    assert {i["email"] for i in everything} == {"boss@acme.example", "new@acme.example"}
