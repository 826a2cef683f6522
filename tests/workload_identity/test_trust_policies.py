"""Trust policies through the API: presets, the immutable-owner-id rule, who may manage them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.oidc_issuer import LocalIssuer
from tests.support import add_service_account, audit_events, custom_role_holder, make_org
from tests.workload_identity.conftest import World

GITHUB = "https://token.actions.githubusercontent.com"
IDS = {"repository_owner_id": "9919", "repository_id": "123456789"}


def _url(world: World, account_uuid: str | None = None) -> str:
    return f"/api/v1/service-accounts/{account_uuid or world.account.uuid}/trust-policies"


def test_github_preset_fills_the_issuer_and_defaults(world: World) -> None:
    admin = world.org.people["admin"]
    response = world.client.post(
        _url(world),
        headers=admin.headers,
        json={"preset": "github", "claims": {**IDS, "environment": "production"}},
    )
    assert response.status_code == 201, response.text
    policy = response.json()["results"]
    assert policy["issuer"] == GITHUB
    assert policy["provider"] == "github"
    assert policy["audience"] == "http://localhost:8080"  # SITE_URL
    assert policy["maxTokenLifetimeSeconds"] == 900
    assert policy["enabled"] is True and policy["lastUsedAt"] is None
    assert policy["createdBy"]["userUuid"] == admin.uuid
    listed = world.client.get(_url(world), headers=admin.headers).json()["results"]
    assert [p["uuid"] for p in listed] == [world.policy_uuid, policy["uuid"]]
    (event,) = audit_events(world.runtime, "trust_policy.created")
    assert (
        event.target_uuid == policy["uuid"]
        and event.details["claims"]["environment"] == "production"
    )


def test_gitlab_preset(world: World) -> None:
    response = world.client.post(
        _url(world),
        headers=world.org.people["admin"].headers,
        json={"preset": "gitlab", "claims": {"namespace_id": "12885807", "project_id": "42"}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["results"]["issuer"] == "https://gitlab.com"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"preset": "github", "claims": {}},
            "repository_owner_id and repository_id",
            id="github-aud-only",
        ),
        pytest.param(
            {"preset": "github", "claims": {"repository": "octo-org/app"}},
            "immutable ids",
            id="github-names-only",
        ),
        pytest.param(
            {"issuer": GITHUB, "preset": "custom", "claims": {"repository": "o/a"}},
            "immutable ids",
            id="github-issuer-as-custom",
        ),
        pytest.param(
            {"preset": "github", "claims": {**IDS, "repository_id": "octo-org/app"}},
            "numeric id",
            id="name-as-id",
        ),
        pytest.param(
            {"preset": "gitlab", "claims": {"project_id": "42"}},
            "namespace_id",
            id="gitlab-no-namespace",
        ),
        pytest.param(
            {"issuer": "https://ci.example", "claims": {}}, "besides aud", id="custom-aud-only"
        ),
        pytest.param(
            {"preset": "github", "claims": {**IDS, "ref": "refs/heads/*"}},
            "Wildcards",
            id="wildcard",
        ),
        pytest.param(
            {"preset": "github", "claims": IDS, "subject": "repo:octo-org/*"},
            "Wildcards",
            id="wildcard-sub",
        ),
        pytest.param(
            {"preset": "github", "claims": {**IDS, "aud": "x"}}, "cannot be pinned", id="aud-claim"
        ),
        pytest.param(
            {"preset": "github", "claims": IDS, "maxTokenLifetimeSeconds": 3601},
            "between 60 and 3600",
            id="lifetime",
        ),
        pytest.param({"issuer": "ftp://ci.example", "claims": {"a": "b"}}, "https://", id="scheme"),
        pytest.param({"claims": IDS}, "issuer is required", id="no-issuer"),
    ],
)
def test_policies_that_trust_too_much_are_refused(
    world: World, body: dict[str, Any], message: str
) -> None:
    response = world.client.post(_url(world), headers=world.org.people["admin"].headers, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert audit_events(world.runtime, "trust_policy.created") == []


def test_custom_issuer_with_a_claim_is_accepted(world: World, issuer: LocalIssuer) -> None:
    response = world.client.post(
        _url(world),
        headers=world.org.people["admin"].headers,
        json={
            "issuer": "https://ci.example/oidc",
            "claims": {"pipeline_owner": "data-team"},
            "maxTokenLifetimeSeconds": 300,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["results"]["provider"] == "custom"


def test_edit_keeps_the_rules_and_is_audited(world: World) -> None:
    admin = world.org.people["admin"].headers
    url = f"{_url(world)}/{world.policy_uuid}"
    assert (
        world.client.patch(url, headers=admin, json={"claims": {"repository": "o/a"}}).status_code
        == 400
    )
    response = world.client.patch(
        url,
        headers=admin,
        json={"subject": "repo:octo-org/app:ref:refs/heads/main", "maxTokenLifetimeSeconds": 600},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"]["subject"] == "repo:octo-org/app:ref:refs/heads/main"
    (event,) = audit_events(world.runtime, "trust_policy.updated")
    assert event.details["after"] == {
        "maxTokenLifetimeSeconds": 600,
        "subject": "repo:octo-org/app:ref:refs/heads/main",
    }


def test_only_managers_of_the_sa_see_its_policies(world: World) -> None:
    viewer = world.org.people["viewer"].headers
    assert world.client.get(_url(world), headers=viewer).status_code == 403
    assert world.client.get(_url(world)).status_code == 401
    other = make_org(world.runtime, "Other")
    assert world.client.get(_url(world), headers=other.people["admin"].headers).status_code == 404
    url = f"{_url(world)}/{world.policy_uuid}"
    assert world.client.delete(url, headers=other.people["admin"].headers).status_code == 404
    elsewhere = add_service_account(world.runtime, world.org, "other sa")
    wrong_sa = f"{_url(world, elsewhere.uuid)}/{world.policy_uuid}"
    assert (
        world.client.delete(wrong_sa, headers=world.org.people["admin"].headers).status_code == 404
    )


def test_presets_are_listed(world: World) -> None:
    response = world.client.get(
        "/api/v1/trust-policy-presets", headers=world.org.people["admin"].headers
    )
    presets = {p["name"]: p for p in response.json()["results"]}
    assert presets["github"]["requiredClaims"] == ["repository_owner_id", "repository_id"]
    assert presets["gitlab"]["issuer"] == "https://gitlab.com"


def test_nobody_trusts_ci_for_an_sa_holding_more_than_they_do(world: World) -> None:
    """A trust policy hands the SA's powers to a CI job: the grant ceiling applies."""
    manager, _role = custom_role_holder(
        world.runtime, world.org, "manager", ["manage:Organization", "view:Project"]
    )
    powerful = add_service_account(world.runtime, world.org, "admin bot", role="admin")
    body = {"preset": "github", "claims": IDS}
    refused = world.client.post(_url(world, powerful.uuid), headers=manager.headers, json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"] == (
        "Cannot act on a principal with more permissions than your own"
    )
    assert world.client.get(_url(world, powerful.uuid), headers=manager.headers).status_code == 403
    assert audit_events(world.runtime, "trust_policy.created") == []
    admin = world.org.people["admin"].headers
    assert (
        world.client.post(_url(world, powerful.uuid), headers=admin, json=body).status_code == 201
    )
