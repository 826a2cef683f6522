"""The Service Accounts page's form posts for ranges, grace periods and trust policies (HTTP)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lightkeeper.models import TrustPolicy
from lightkeeper.runtime import Runtime
from tests.support import audit_events, count_rows, make_org
from tests.web.helpers import login

PAGE = "/generalSettings/serviceAccounts"
JSON = {"Accept": "application/json"}


def test_ranges_grace_and_trust_policies_through_the_page(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    csrf = login(client, org.people["admin"])
    created = client.post(
        PAGE,
        data={
            "csrf_token": csrf,
            "description": "CI",
            "expiration": "30",
            "scope": "organization",
            "role": "viewer",
            "allowed_ip_ranges": "203.0.113.0/24, 2001:db8::/32",
        },
        headers=JSON,
    ).json()
    uuid = created["uuid"]
    html = client.get(PAGE).text
    assert "Only from 203.0.113.0/24, 2001:db8::/32" in html

    bad_grace = client.post(
        f"{PAGE}/{uuid}/rotate",
        data={"csrf_token": csrf, "expiration": "30", "grace_period_minutes": "soon"},
        headers=JSON,
    )
    assert (
        bad_grace.status_code == 400
        and bad_grace.json()["error"]["message"] == "Choose a grace period"
    )
    rotated = client.post(
        f"{PAGE}/{uuid}/rotate",
        data={"csrf_token": csrf, "expiration": "30", "grace_period_minutes": "60"},
        headers=JSON,
    ).json()
    assert rotated["previousTokenExpiresAt"] and "keeps working until" in rotated["notice"]
    assert "Previous token works until" in client.get(PAGE).text

    refused = client.post(
        f"{PAGE}/{uuid}/trust-policies",
        data={
            "csrf_token": csrf,
            "preset": "github",
            "first_id": "9919",
            "second_id": "42",
            "claims": "environment",
        },
        headers=JSON,
    )
    assert refused.status_code == 400 and "name=value" in refused.json()["error"]["message"]
    added = client.post(
        f"{PAGE}/{uuid}/trust-policies",
        data={
            "csrf_token": csrf,
            "preset": "gitlab",
            "first_id": "12885807",
            "second_id": "42",
            "claims": "ref_protected=true",
        },
        headers=JSON,
    )
    assert added.status_code == 200, added.text
    (event,) = audit_events(runtime, "trust_policy.created")
    assert event.details["issuer"] == "https://gitlab.com"
    assert event.details["claims"] == {
        "namespace_id": "12885807",
        "project_id": "42",
        "ref_protected": "true",
    }
    assert "namespace_id=12885807" in client.get(PAGE).text

    removed = client.post(
        f"{PAGE}/{uuid}/trust-policies/{added.json()['uuid']}/delete",
        data={"csrf_token": csrf},
        headers=JSON,
    )
    assert removed.status_code == 200
    assert count_rows(runtime, TrustPolicy) == 0
