"""The token exchange against a local issuer: every case of the offline test plan
(reference/workload-identity.md §4), each with its status, error code and audit record."""

from __future__ import annotations

from datetime import timedelta

import pytest
import structlog.testing
from fastapi.testclient import TestClient

from lightkeeper.app import create_app
from lightkeeper.kit.clock import clock, utcnow
from lightkeeper.models import ServiceAccountToken
from tests.oidc_issuer import LocalIssuer
from tests.support import (
    add_membership,
    add_service_account,
    add_trust_policy,
    audit_events,
    auth,
    authenticated,
    count_rows,
    make_project,
)
from tests.workload_identity.conftest import World
from tests.workload_identity.helpers import TOKEN_URL, exchange, refused

EXCHANGED = "service_account.token_exchanged"


def _no_exchange_audited(world: World) -> None:
    assert audit_events(world.runtime, EXCHANGED) == []
    assert count_rows(world.runtime, ServiceAccountToken) == 0


def test_a_valid_token_becomes_a_short_lived_sa_token(world: World, issuer: LocalIssuer) -> None:
    identity_token = issuer.token()
    response = exchange(world.client, identity_token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"].startswith("ldsvc_") and len(body["access_token"]) == 44
    assert body["token_type"] == "Bearer"
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    me = world.client.get("/api/v1/user", headers=auth(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["results"]["userUuid"] == world.account.principal_uuid

    (event,) = audit_events(world.runtime, EXCHANGED)
    assert event.organization_uuid == world.org.uuid
    assert event.actor_type == "service_account" and event.actor_uuid == world.account.uuid
    assert event.target_uuid == world.account.uuid
    assert event.details["trustPolicyUuid"] == world.policy_uuid
    assert event.details["issuer"] == issuer.url
    assert event.details["subject"] == "repo:octo-org/app:environment:production"
    assert event.details["claims"]["repository"] == "octo-org/app"
    assert event.details["claims"]["workflow"] == "deploy"
    assert event.details["claims"]["run_id"] == "4242"
    assert body["access_token"] not in str(event.details)
    assert identity_token not in str(event.details)
    (policy,) = world.client.get(
        f"/api/v1/service-accounts/{world.account.uuid}/trust-policies",
        headers=world.org.people["admin"].headers,
    ).json()["results"]
    assert policy["lastUsedAt"] is not None

    clock.advance(timedelta(seconds=901))
    assert not authenticated(world.client, auth(body["access_token"]))


def test_a_gitlab_ci_token_is_exchanged_under_a_gitlab_policy(
    world: World, issuer: LocalIssuer
) -> None:
    gitlab = add_service_account(world.runtime, world.org, "GitLab deploys", role="viewer")
    created = world.client.post(
        f"/api/v1/service-accounts/{gitlab.uuid}/trust-policies",
        headers=world.org.people["admin"].headers,
        json={
            "preset": "gitlab",
            "issuer": issuer.url,
            "claims": {"namespace_id": "12885807", "project_id": "42", "ref_protected": "true"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["results"]["provider"] == "gitlab"

    moved = issuer.sign(issuer.gitlab_claims(project_id="43"))  # same path, another project
    this_sa = f"sa:{gitlab.uuid}"  # the GitHub policy of `world` trusts the same issuer
    assert "claim project_id does not match" in refused(
        exchange(world.client, moved, audience=this_sa)
    )
    unprotected = issuer.sign(issuer.gitlab_claims(ref_protected="false"))
    assert "claim ref_protected does not match" in refused(
        exchange(world.client, unprotected, audience=this_sa)
    )
    assert audit_events(world.runtime, EXCHANGED) == []

    numeric = issuer.sign(issuer.gitlab_claims(namespace_id=12885807, project_id=42))
    response = exchange(world.client, numeric)
    assert response.status_code == 200, response.text
    me = world.client.get("/api/v1/user", headers=auth(response.json()["access_token"]))
    assert me.json()["results"]["userUuid"] == gitlab.principal_uuid
    (event,) = audit_events(world.runtime, EXCHANGED)
    assert event.details["trustPolicyUuid"] == created.json()["results"]["uuid"]
    assert event.details["subject"] == "project_path:data-team/dbt:ref_type:branch:ref:main"
    assert event.details["claims"]["project_path"] == "data-team/dbt"
    assert event.details["claims"]["pipeline_id"] == "777"


def test_json_body_is_accepted(world: World, issuer: LocalIssuer) -> None:
    response = world.client.post(
        TOKEN_URL,
        json={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": issuer.token(),
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        },
    )
    assert response.status_code == 200, response.text


def test_the_minted_token_holds_only_what_the_sa_holds(world: World, issuer: LocalIssuer) -> None:
    token = exchange(world.client, issuer.token()).json()["access_token"]

    assert world.client.get("/api/v1/org/projects", headers=auth(token)).status_code == 200
    # A viewer SA may not manage the organization, however it authenticated.
    created = world.client.post(
        "/api/v1/service-accounts",
        headers=auth(token),
        json={"description": "escalate", "scopes": ["system:admin"]},
    )
    assert created.status_code == 403


def test_a_project_sas_minted_token_reaches_only_its_project(
    world: World, issuer: LocalIssuer
) -> None:
    mine = make_project(world.runtime, world.org, "Mine")
    other = make_project(world.runtime, world.org, "Other")
    scoped = add_service_account(world.runtime, world.org, "project bot", role="member")
    add_membership(world.runtime, mine, scoped.principal_uuid, "viewer")
    add_trust_policy(
        world.runtime, scoped, issuer.url, subject="repo:octo-org/app:ref:refs/heads/x"
    )
    token = exchange(
        world.client,
        issuer.token(sub="repo:octo-org/app:ref:refs/heads/x"),
        audience=f"sa:{scoped.uuid}",
    ).json()["access_token"]

    assert world.client.get(f"/api/v1/projects/{mine}", headers=auth(token)).status_code == 200
    elsewhere = world.client.get(f"/api/v1/projects/{other}", headers=auth(token))
    assert elsewhere.status_code == 404  # as for the SA's own token: not even its existence
    assert (
        world.client.get(f"/api/v1/projects/{other}", headers=auth(scoped.token)).json()
        == elsewhere.json()
    )
    listed = world.client.get("/api/v1/org/projects", headers=auth(token)).json()["results"]
    assert [p["projectUuid"] for p in listed] == [mine]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"aud": "https://someone-else.example"}, "audience", id="wrong-aud"),
        pytest.param(
            {"aud": ["http://localhost:8080", "https://x.example"]},
            "exactly one audience",
            id="two-auds",
        ),
        pytest.param({"exp": -40}, "expired", id="expired"),
        pytest.param({"nbf": 40}, "not valid yet", id="nbf-future"),
        pytest.param({"iat": 40}, "issued in the future", id="iat-future"),
        pytest.param({"jti": None}, "no jti", id="no-jti"),
        pytest.param({"aud": "http://localhost:8080\x00"}, "exactly one audience", id="nul-aud"),
        pytest.param({"exp": None}, "exp claim", id="no-exp"),
        pytest.param({"iat": None}, "iat claim", id="no-iat"),
        pytest.param(
            {"repository_owner_id": "666"}, "claim repository_owner_id", id="resurrected-owner"
        ),
    ],
)
def test_tokens_failing_a_check_are_refused(
    world: World, issuer: LocalIssuer, overrides: dict[str, object], message: str
) -> None:
    now = int(utcnow().timestamp())
    times = {
        k: now + v
        for k, v in overrides.items()
        if k in ("exp", "nbf", "iat") and isinstance(v, int)
    }
    claims = issuer.github_claims(**{**overrides, **times})
    assert message in refused(exchange(world.client, issuer.sign(claims)))
    _no_exchange_audited(world)


def test_a_pull_request_run_does_not_match_an_environment_policy(
    world: World, issuer: LocalIssuer
) -> None:
    other = add_service_account(world.runtime, world.org, "prod", role="viewer")
    add_trust_policy(
        world.runtime, other, issuer.url, subject="repo:octo-org/app:environment:production"
    )
    token = issuer.token(sub="repo:octo-org/app:pull_request", environment=None)
    description = refused(exchange(world.client, token, audience=f"sa:{other.uuid}"))
    assert (
        description
        == "No trust policy matches the identity token's claims: claim sub does not match"
    )
    _no_exchange_audited(world)


def test_times_within_thirty_seconds_of_skew_are_accepted(
    world: World, issuer: LocalIssuer
) -> None:
    now = int(utcnow().timestamp())
    token = issuer.token(iat=now + 25, nbf=now + 25, exp=now - 25 + 300)
    assert exchange(world.client, token).status_code == 200
    late = issuer.token(exp=now - 25)
    assert exchange(world.client, late).status_code == 200


def test_wrong_issuer_is_refused_without_fetching_anything(
    world: World, issuer: LocalIssuer
) -> None:
    token = issuer.token(iss="https://token.actions.githubusercontent.com")
    assert "No trust policy trusts the issuer" in refused(exchange(world.client, token))
    assert issuer.key_set_fetches == 0
    _no_exchange_audited(world)


def test_the_issuer_must_match_exactly_without_normalisation(
    world: World, issuer: LocalIssuer
) -> None:
    for near in (issuer.url + "/", issuer.url.replace("127.0.0.1", "localhost")):
        token = issuer.token(iss=near)
        assert "No trust policy trusts the issuer" in refused(exchange(world.client, token))
    assert issuer.key_set_fetches == 0
    _no_exchange_audited(world)


def test_alg_none_and_hmac_with_the_public_key_are_refused(
    world: World, issuer: LocalIssuer
) -> None:
    claims = issuer.github_claims()
    unsigned = issuer.forge({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims, None)
    assert "asymmetric algorithm" in refused(exchange(world.client, unsigned))
    confused = issuer.forge(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims, issuer.public_pem("rsa-1")
    )
    assert "not HS256" in refused(exchange(world.client, confused))
    _no_exchange_audited(world)


def test_a_crit_header_is_refused(world: World, issuer: LocalIssuer) -> None:
    token = issuer.sign(issuer.github_claims(), headers={"crit": ["exp"]})
    assert "crit" in refused(exchange(world.client, token))
    _no_exchange_audited(world)


def test_a_bad_signature_is_refused(world: World, issuer: LocalIssuer) -> None:
    issuer.add_key("rsa-other", publish=False)
    genuine = issuer.token()
    forged = issuer.token(kid="rsa-other").rsplit(".", 1)[1]
    tampered = genuine.rsplit(".", 1)[0] + "." + forged
    assert "signature does not verify" in refused(exchange(world.client, tampered))
    _no_exchange_audited(world)


def test_an_ec_key_works(world: World, issuer: LocalIssuer) -> None:
    issuer.add_key("ec-1", kind="EC")
    assert exchange(world.client, issuer.token(kid="ec-1")).status_code == 200


def test_key_rotation_costs_one_refetch(world: World, issuer: LocalIssuer) -> None:
    assert exchange(world.client, issuer.token()).status_code == 200
    assert issuer.key_set_fetches == 1
    issuer.rotate("rsa-2")
    clock.advance(timedelta(seconds=61))  # past the refetch cooldown of the first fetch

    assert exchange(world.client, issuer.token(kid="rsa-2")).status_code == 200
    assert issuer.key_set_fetches == 2
    assert exchange(world.client, issuer.token(kid="rsa-2")).status_code == 200
    assert issuer.key_set_fetches == 2


def test_random_kids_cause_at_most_one_fetch_per_cooldown(
    world: World, issuer: LocalIssuer
) -> None:
    assert exchange(world.client, issuer.token()).status_code == 200
    for n in range(10):
        token = issuer.sign(issuer.github_claims(), headers={"kid": f"random-{n}"})
        assert "kid" in refused(exchange(world.client, token))
    assert issuer.key_set_fetches == 1  # within the cooldown of the first fetch: none more
    clock.advance(timedelta(seconds=61))
    for n in range(10):
        token = issuer.sign(issuer.github_claims(), headers={"kid": f"later-{n}"})
        assert "kid" in refused(exchange(world.client, token))
    assert issuer.key_set_fetches == 2  # one refetch for the whole minute


def test_issuer_down_with_a_warm_cache_still_works(world: World, issuer: LocalIssuer) -> None:
    assert exchange(world.client, issuer.token()).status_code == 200
    issuer.down = True
    assert exchange(world.client, issuer.token()).status_code == 200


def test_issuer_down_with_a_cold_cache_is_503(world: World, issuer: LocalIssuer) -> None:
    issuer.down = True
    response = exchange(world.client, issuer.token())
    assert "try again" in refused(response, "temporarily_unavailable", 503)
    assert int(response.headers["retry-after"]) >= 1
    _no_exchange_audited(world)


def test_a_token_is_exchanged_once(world: World, issuer: LocalIssuer) -> None:
    token = issuer.token()
    assert exchange(world.client, token).status_code == 200
    assert "already been exchanged" in refused(exchange(world.client, token))
    assert len(audit_events(world.runtime, EXCHANGED)) == 1


def test_environment_names_with_escaped_colons_match_exactly(
    world: World, issuer: LocalIssuer
) -> None:
    other = add_service_account(world.runtime, world.org, "prod deploys", role="viewer")
    policy = add_trust_policy(
        world.runtime, other, issuer.url, subject="repo:octo-org/app:environment:Production%3AV1"
    )
    token = issuer.token(
        sub="repo:octo-org/app:environment:Production%3AV1", environment="Production:V1"
    )
    # Both SAs' policies admit this token: the audience chooses.
    assert "Several trust policies" in refused(exchange(world.client, token), "invalid_target")
    response = exchange(
        world.client,
        issuer.token(sub="repo:octo-org/app:environment:Production%3AV1"),
        audience=policy,
    )
    assert response.status_code == 200
    me = world.client.get("/api/v1/user", headers=auth(response.json()["access_token"]))
    assert me.json()["results"]["userUuid"] == other.principal_uuid
    unescaped = issuer.token(sub="repo:octo-org/app:environment:Production:V1")
    assert refused(exchange(world.client, unescaped, audience=f"sa:{other.uuid}"))


def test_an_unknown_audience_parameter_is_invalid_target(world: World, issuer: LocalIssuer) -> None:
    refused(exchange(world.client, issuer.token(), audience="sa:nobody"), "invalid_target")
    ok = exchange(world.client, issuer.token(), audience=f"sa:{world.account.uuid}")
    assert ok.status_code == 200


def test_a_disabled_policy_admits_nothing(world: World, issuer: LocalIssuer) -> None:
    admin = world.org.people["admin"].headers
    url = f"/api/v1/service-accounts/{world.account.uuid}/trust-policies/{world.policy_uuid}"
    token = exchange(world.client, issuer.token()).json()["access_token"]
    assert world.client.patch(url, headers=admin, json={"enabled": False}).status_code == 200

    assert not authenticated(world.client, auth(token))  # what it minted is revoked
    assert "No enabled trust policy" in refused(exchange(world.client, issuer.token()))


def test_changing_what_a_policy_trusts_revokes_what_it_minted(
    world: World, issuer: LocalIssuer
) -> None:
    admin = world.org.people["admin"].headers
    url = f"/api/v1/service-accounts/{world.account.uuid}/trust-policies/{world.policy_uuid}"
    token = exchange(world.client, issuer.token()).json()["access_token"]
    longer = world.client.patch(url, headers=admin, json={"maxTokenLifetimeSeconds": 1800})
    assert longer.status_code == 200
    assert authenticated(world.client, auth(token))  # a longer lifetime grants nothing new

    narrowed = world.client.patch(
        url, headers=admin, json={"subject": "repo:octo-org/app:ref:refs/heads/main"}
    )
    assert narrowed.status_code == 200, narrowed.text
    assert not authenticated(world.client, auth(token))  # minted on the old terms
    *_, event = audit_events(world.runtime, "trust_policy.updated")
    assert event.details["after"] == {"subject": "repo:octo-org/app:ref:refs/heads/main"}
    assert "No trust policy matches" in refused(exchange(world.client, issuer.token()))

    token = exchange(
        world.client, issuer.token(sub="repo:octo-org/app:ref:refs/heads/main")
    ).json()["access_token"]
    shorter = world.client.patch(url, headers=admin, json={"maxTokenLifetimeSeconds": 300})
    assert shorter.status_code == 200
    assert not authenticated(world.client, auth(token))  # it would outlive the new maximum


def test_an_expired_sa_gets_nothing_and_a_soon_expiring_one_is_bounded(
    world: World, issuer: LocalIssuer
) -> None:
    expired = add_service_account(
        world.runtime, world.org, "old", role="viewer", expires_at=utcnow() + timedelta(seconds=5)
    )
    add_trust_policy(
        world.runtime, expired, issuer.url, subject="repo:octo-org/old:ref:refs/heads/main"
    )
    soon = add_service_account(
        world.runtime,
        world.org,
        "soon",
        role="viewer",
        expires_at=utcnow() + timedelta(seconds=400),
    )
    add_trust_policy(
        world.runtime, soon, issuer.url, subject="repo:octo-org/soon:ref:refs/heads/main"
    )
    clock.advance(timedelta(seconds=10))

    old = issuer.token(sub="repo:octo-org/old:ref:refs/heads/main")
    assert "expired" in refused(exchange(world.client, old, audience=f"sa:{expired.uuid}"))
    response = exchange(
        world.client,
        issuer.token(sub="repo:octo-org/soon:ref:refs/heads/main"),
        audience=f"sa:{soon.uuid}",
    )
    assert response.status_code == 200
    assert 380 <= response.json()["expires_in"] <= 390


def test_the_policy_lifetime_bounds_the_token(world: World, issuer: LocalIssuer) -> None:
    short = add_service_account(world.runtime, world.org, "short", role="viewer")
    add_trust_policy(world.runtime, short, issuer.url, max_token_lifetime_seconds=120)
    response = exchange(world.client, issuer.token(), audience=f"sa:{short.uuid}")
    assert response.json()["expires_in"] == 120


def test_deleting_the_sa_or_the_policy_revokes_minted_tokens(
    world: World, issuer: LocalIssuer
) -> None:
    admin = world.org.people["admin"].headers
    first = exchange(world.client, issuer.token()).json()["access_token"]
    assert authenticated(world.client, auth(first))
    policies = f"/api/v1/service-accounts/{world.account.uuid}/trust-policies"
    assert world.client.delete(f"{policies}/{world.policy_uuid}", headers=admin).status_code == 200
    assert not authenticated(world.client, auth(first))

    add_trust_policy(world.runtime, world.account, issuer.url)
    second = exchange(world.client, issuer.token()).json()["access_token"]
    assert authenticated(world.client, auth(second))
    assert (
        world.client.delete(
            f"/api/v1/service-accounts/{world.account.uuid}", headers=admin
        ).status_code
        == 200
    )
    assert not authenticated(world.client, auth(second))


@pytest.mark.parametrize(
    ("form", "error"),
    [
        pytest.param({"grant_type": "client_credentials"}, "unsupported_grant_type", id="grant"),
        pytest.param(
            {"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"},
            "invalid_request",
            id="type",
        ),
        pytest.param({"subject_token": ""}, "invalid_request", id="no-token"),
        pytest.param({"subject_token": "not-a-jwt"}, "invalid_grant", id="garbage"),
        pytest.param({"actor_token": "x"}, "invalid_request", id="delegation"),
        pytest.param({"audience": "sa:\x00"}, "invalid_request", id="nul"),
    ],
)
def test_malformed_requests(
    world: World, issuer: LocalIssuer, form: dict[str, str], error: str
) -> None:
    params = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": issuer.token(),
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        **form,
    }
    refused(world.client.post(TOKEN_URL, data=params), error)
    _no_exchange_audited(world)


def test_unstorable_json_is_refused_in_the_oauth_shape(world: World, issuer: LocalIssuer) -> None:
    body = (
        '{"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", '
        '"subject_token_type": "urn:ietf:params:oauth:token-type:jwt", '
        '"subject_token": "\\ud800"}'
    )
    response = world.client.post(
        TOKEN_URL, content=body, headers={"Content-Type": "application/json"}
    )
    assert "subject_token" in refused(response, "invalid_request")
    _no_exchange_audited(world)


def test_an_authorization_header_is_refused(world: World, issuer: LocalIssuer) -> None:
    response = world.client.post(
        TOKEN_URL,
        headers=world.org.people["admin"].headers,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": issuer.token(),
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        },
    )
    assert "Authorization" in refused(response, "invalid_request")


def test_plain_http_issuers_need_the_test_setting(
    make_client, runtime, issuer: LocalIssuer
) -> None:  # type: ignore[no-untyped-def]
    client = make_client(runtime)
    from tests.support import make_org as _make_org

    org = _make_org(runtime, "Plain")
    account = add_service_account(runtime, org, "ci")
    add_trust_policy(runtime, account, issuer.url)
    assert "https" in refused(exchange(client, issuer.token()))
    response = client.post(
        f"/api/v1/service-accounts/{account.uuid}/trust-policies",
        headers=org.people["admin"].headers,
        json={"issuer": issuer.url, "claims": {"repository_owner_id": "1"}},
    )
    assert response.status_code == 400
    assert "https://" in response.json()["error"]["message"]


def test_a_far_expiry_and_odd_claim_text_are_handled(world: World, issuer: LocalIssuer) -> None:
    now = int(utcnow().timestamp())
    token = issuer.token(exp=now + 10 * 365 * 86400, workflow="de\x00ploy\ud800", run_id=4242)
    assert exchange(world.client, token).status_code == 200
    (event,) = audit_events(world.runtime, EXCHANGED)
    assert event.details["claims"]["workflow"] == "deploy?"
    assert event.details["claims"]["run_id"] == 4242
    # Still refused as reused seven hours later: by then its iat is too old.
    clock.advance(timedelta(hours=7))
    assert "too old" in refused(exchange(world.client, token))


def test_with_service_accounts_disabled_nothing_is_exchanged(
    make_client,
    world: World,
    issuer: LocalIssuer,  # type: ignore[no-untyped-def]
) -> None:
    disabled = make_client(SERVICE_ACCOUNT_ENABLED=False, LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS=True)
    assert "SERVICE_ACCOUNT_ENABLED" in refused(
        exchange(disabled, issuer.token()), "invalid_request"
    )
    assert issuer.key_set_fetches == 0
    _no_exchange_audited(world)


def test_an_issuer_no_database_can_compare_is_refused(world: World, issuer: LocalIssuer) -> None:
    token = issuer.token(iss="https://ci.example/\x00")
    assert "iss" in refused(exchange(world.client, token))


def test_a_minted_token_obeys_the_service_accounts_network_rules(
    world: World, issuer: LocalIssuer
) -> None:
    admin = world.org.people["admin"].headers
    edited = world.client.patch(
        f"/api/v1/service-accounts/{world.account.uuid}",
        headers=admin,
        json={"description": "CI deploys", "allowedIpRanges": ["203.0.113.0/24"]},
    )
    assert edited.status_code == 200, edited.text
    token = exchange(world.client, issuer.token()).json()["access_token"]

    def from_address(ip: str) -> TestClient:
        return TestClient(create_app(runtime=world.runtime), client=(ip, 50000))

    assert from_address("203.0.113.7").get("/api/v1/user", headers=auth(token)).status_code == 200
    outside = from_address("198.51.100.1").get("/api/v1/user", headers=auth(token))
    assert outside.status_code == 401
    assert outside.json()["error"]["message"] == (
        "Invalid service account token. Authentication failed."
    )
    (event,) = audit_events(world.runtime, "service_account.network_denied")
    assert event.details["ip"] == "198.51.100.1" and event.actor_uuid == world.account.uuid


def test_allowing_plain_http_issuers_is_warned_about_at_start(make_runtime) -> None:  # type: ignore[no-untyped-def]
    with structlog.testing.capture_logs() as logs:
        make_runtime(LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS=True)
    warned = [e for e in logs if e["event"] == "oidc.http_issuers_allowed"]
    assert len(warned) == 1 and warned[0]["log_level"] == "warning"
    assert "never in production" in warned[0]["detail"]
    with structlog.testing.capture_logs() as logs:
        make_runtime()
    assert not [e for e in logs if e["event"] == "oidc.http_issuers_allowed"]
