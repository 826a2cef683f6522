"""One identity token exchanged concurrently on two real server processes: exactly one token."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from lightkeeper.kit.tokens import TokenKind, generate, hint
from tests.oidc_issuer import LocalIssuer
from tests.servers import running_server, server_env
from tests.workload_identity.helpers import ID_TOKEN, TOKEN_EXCHANGE, TOKEN_URL


@pytest.fixture
def two_servers(
    engine: Engine, tmp_path: Path, issuer: LocalIssuer
) -> Iterator[tuple[str, str, str, str]]:
    url = engine.url.render_as_string(hide_password=False)
    admin_key = generate(TokenKind.PERSONAL)
    setup = {
        "LD_SETUP_ORGANIZATION_NAME": "Acme",
        "LD_SETUP_ADMIN_EMAIL": "admin@acme.example",
        "LD_SETUP_ADMIN_API_KEY": admin_key,
        "LD_SETUP_SERVICE_ACCOUNT_TOKEN": generate(TokenKind.SERVICE_ACCOUNT),
        "LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS": "true",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        running_server(server_env(tmp_path / "a", url, **setup)) as first,
        running_server(server_env(tmp_path / "b", url, **setup)) as second,
    ):
        admin = {"Authorization": f"ApiKey {admin_key}"}
        [account] = httpx.get(first.url + "/api/v1/service-accounts", headers=admin).json()[
            "results"
        ]
        created = httpx.post(
            f"{first.url}/api/v1/service-accounts/{account['uuid']}/trust-policies",
            headers=admin,
            json={
                "preset": "github",
                "issuer": issuer.url,
                "claims": {"repository_owner_id": "9919", "repository_id": "123456789"},
            },
        )
        assert created.status_code == 201, created.text
        yield first.url, second.url, account["userUuid"], admin_key


def test_concurrent_exchanges_of_one_token_across_processes_yield_one(
    two_servers: tuple[str, str, str, str], issuer: LocalIssuer
) -> None:
    first, second, principal_uuid, admin_key = two_servers
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": issuer.token(),
        "subject_token_type": ID_TOKEN,
    }

    def attempt(i: int) -> httpx.Response:
        return httpx.post((first if i % 2 else second) + TOKEN_URL, data=form, timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(attempt, range(12)))

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [400] * 11, [r.text for r in responses]
    losers = [r.json() for r in responses if r.status_code == 400]
    assert {body["error"] for body in losers} == {"invalid_grant"}
    assert all("already been exchanged" in body["error_description"] for body in losers)
    [winner] = [r for r in responses if r.status_code == 200]
    token = winner.json()["access_token"]
    for base in (first, second):
        me = httpx.get(base + "/api/v1/user", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["results"]["userUuid"] == principal_uuid
    exchanged = httpx.get(
        first + "/api/v1/org/audit-log",
        params={"action": "service_account.token_exchanged"},
        headers={"Authorization": f"ApiKey {admin_key}"},
    )
    assert exchanged.status_code == 200, exchanged.text
    [event] = exchanged.json()["results"]["data"]
    assert event["details"]["tokenHint"] == hint(token)  # the winner's, and only one
