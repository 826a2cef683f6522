"""`GET /api/v1/user`: the principal behind any credential, with its ability rules."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lightkeeper.kit.clock import iso
from lightkeeper.runtime import Runtime
from tests.support import add_service_account, auth, make_org, organization_row, user_row

MANAGE_ORGANIZATION = {"action": "manage", "subject": "Organization"}


def _has_rule(rules: list[dict[str, object]], wanted: dict[str, str]) -> bool:
    return any(all(rule.get(k) == v for k, v in wanted.items()) for rule in rules)


def test_a_person_sees_themselves_with_their_rules(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer", "viewer"))
    admin, viewer = org.people["admin"], org.people["viewer"]

    response = client.get("/api/v1/user", headers=admin.headers)

    assert response.status_code == 200
    results = response.json()["results"]
    times = ("createdAt", "updatedAt", "organizationCreatedAt")
    stored_user, stored_org = user_row(runtime, admin.uuid), organization_row(runtime, org.uuid)
    assert [results[k] for k in times] == [
        iso(stored_user.created_at),
        iso(stored_user.updated_at),
        iso(stored_org.created_at),
    ]
    assert {k: v for k, v in results.items() if k not in ("abilityRules", *times)} == {
        "userUuid": admin.uuid,
        "organizationUuid": org.uuid,
        "organizationName": "Acme",
        "email": admin.email,
        "firstName": "Admin",
        "lastName": "Tester",
        "role": "admin",
        "isServiceAccount": False,
        "serviceAccountUuid": None,
        "isActive": True,
        # Lightdash's LightdashUser fields with no Lightkeeper meaning: its neutral values.
        "isPending": False,
        "isTrackingAnonymized": False,
        "isMarketingOptedIn": False,
        "isSetupComplete": True,
    }
    assert _has_rule(results["abilityRules"], MANAGE_ORGANIZATION)
    assert {
        "action": "manage",
        "subject": "Organization",
        "conditions": {"organizationUuid": org.uuid},
    } in results["abilityRules"]
    viewer_rules = client.get("/api/v1/user", headers=viewer.headers).json()["results"][
        "abilityRules"
    ]
    assert not _has_rule(viewer_rules, MANAGE_ORGANIZATION)
    assert _has_rule(viewer_rules, {"action": "view", "subject": "Dashboard"})
    developer_rules = client.get("/api/v1/user", headers=org.people["developer"].headers).json()[
        "results"
    ]
    assert _has_rule(
        developer_rules["abilityRules"], {"action": "manage", "subject": "DeployProject"}
    )


def test_the_bearer_scheme_works_for_personal_tokens_too(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    token = org.people["admin"].token

    response = client.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["results"]["userUuid"] == org.people["admin"].uuid


def test_a_service_account_sees_itself(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    account_uuid, principal_uuid, token = add_service_account(runtime, org, role="editor")

    results = client.get("/api/v1/user", headers=auth(token)).json()["results"]

    assert results["userUuid"] == principal_uuid
    assert results["serviceAccountUuid"] == account_uuid
    assert results["isServiceAccount"] is True
    assert "email" not in results  # it has none; Lightdash's type says optional string
    assert results["firstName"] == "CI deploys"
    assert results["role"] == "editor"
    assert not _has_rule(results["abilityRules"], MANAGE_ORGANIZATION)


def test_no_credential_is_a_401(client: TestClient) -> None:
    response = client.get("/api/v1/user")

    assert response.status_code == 401
    assert response.json()["error"]["name"] == "AuthorizationError"
