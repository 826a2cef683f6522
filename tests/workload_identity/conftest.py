from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.oidc_issuer import LocalIssuer, local_issuer
from tests.support import Org, ServiceAccountMade, add_service_account, add_trust_policy, make_org


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with local_issuer() as running:
        yield running


@dataclass
class World:
    runtime: Runtime
    client: TestClient
    org: Org
    account: ServiceAccountMade
    policy_uuid: str


@pytest.fixture
def world(
    make_runtime: Callable[..., Runtime],
    make_client: Callable[..., TestClient],
    issuer: LocalIssuer,
) -> World:
    """An organization with a viewer SA trusted for the local issuer's octo-org/app (GitHub-shaped)."""
    runtime = make_runtime(LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS=True)
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    account = add_service_account(runtime, org, "CI deploys", role="viewer")
    policy_uuid = add_trust_policy(runtime, account, issuer.url)
    return World(runtime, make_client(runtime), org, account, policy_uuid)
