"""`lightkeeper deploy` with only the CI's identity token, end to end against a local issuer.

A real server (SQLite, plain-http issuers allowed for the test), a project-scoped service
account trusted for the local issuer's octo-org/app, and the CLI run as GitHub Actions runs it
(ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN with LIGHTDASH_OIDC_AUDIENCE) and as GitLab CI does
(LIGHTDASH_OIDC_TOKEN). No API key anywhere in the job's environment.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lightkeeper.kit.tokens import TokenKind, generate
from tests.client.test_client_cli import clean_env
from tests.oidc_issuer import OWNER_ID, REPOSITORY_ID, LocalIssuer, local_issuer
from tests.servers import running_server, server_env
from tests.support import JAFFLE_MANIFEST

AUDIENCE = "https://analytics.example.com"


@dataclass
class Setup:
    url: str
    admin: dict[str, str]
    project_uuid: str
    issuer: LocalIssuer


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("keyless")
    pat = generate(TokenKind.PERSONAL)
    env = server_env(
        root,
        LD_SETUP_ADMIN_EMAIL="admin@example.com",
        LD_SETUP_ORGANIZATION_NAME="Acme",
        LD_SETUP_ADMIN_API_KEY=pat,
        LD_SETUP_PROJECT_NAME="Analytics",
        LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS="true",
    )
    with local_issuer() as issuer, running_server(env) as server:
        admin = {"Authorization": f"ApiKey {pat}"}
        [project] = httpx.get(f"{server.url}/api/v1/org/projects", headers=admin).json()["results"]
        created = httpx.post(
            f"{server.url}/api/v1/service-accounts",
            headers=admin,
            json={
                "description": "dbt deploys",
                "scopes": ["system:member"],
                "projectAccess": [{"projectUuid": project["projectUuid"], "role": "developer"}],
            },
        )
        assert created.status_code == 201, created.text
        policy = httpx.post(
            f"{server.url}/api/v1/service-accounts/{created.json()['results']['uuid']}/trust-policies",
            headers=admin,
            json={
                "preset": "github",
                "issuer": issuer.url,
                "audience": AUDIENCE,
                "claims": {"repository_owner_id": OWNER_ID, "repository_id": REPOSITORY_ID},
            },
        )
        assert policy.status_code == 201, policy.text
        yield Setup(server.url, admin, project["projectUuid"], issuer)


def _deploy(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lightkeeper", "deploy", "--manifest", str(JAFFLE_MANIFEST)],
        env=clean_env()
        | {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "CI": "true"}
        | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _exchanges(setup: Setup) -> list[dict[str, object]]:
    response = httpx.get(
        f"{setup.url}/api/v1/org/audit-log",
        params={"action": "service_account.token_exchanged"},
        headers=setup.admin,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["results"]["data"])


def test_github_actions_deploys_with_only_the_job_identity(setup: Setup, tmp_path: Path) -> None:
    before = len(_exchanges(setup))
    result = _deploy(
        tmp_path,
        {
            "LIGHTDASH_URL": setup.url,
            "LIGHTDASH_PROJECT": setup.project_uuid,
            "LIGHTDASH_OIDC_AUDIENCE": AUDIENCE,
            "ACTIONS_ID_TOKEN_REQUEST_URL": setup.issuer.actions_request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": setup.issuer.actions_bearer,
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Deployed 22 explores" in result.stdout
    explores = httpx.get(
        f"{setup.url}/api/v1/projects/{setup.project_uuid}/explores", headers=setup.admin
    ).json()["results"]
    assert len(explores) == 22
    events = _exchanges(setup)
    assert len(events) == before + 1
    assert "ldsvc_" not in result.stdout + result.stderr


def test_gitlab_ci_deploys_with_an_id_token_in_the_environment(
    setup: Setup, tmp_path: Path
) -> None:
    result = _deploy(
        tmp_path,
        {
            "LIGHTDASH_URL": setup.url,
            "LIGHTDASH_PROJECT": setup.project_uuid,
            "LIGHTDASH_OIDC_TOKEN": setup.issuer.token(audience=AUDIENCE),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Deployed 22 explores" in result.stdout


def test_a_token_no_policy_trusts_fails_with_the_servers_reason(
    setup: Setup, tmp_path: Path
) -> None:
    result = _deploy(
        tmp_path,
        {
            "LIGHTDASH_URL": setup.url,
            "LIGHTDASH_PROJECT": setup.project_uuid,
            "LIGHTDASH_OIDC_TOKEN": setup.issuer.token(audience=AUDIENCE, repository_owner_id="1"),
        },
    )
    assert result.returncode != 0
    assert "refused the CI identity token (invalid_grant)" in result.stderr
    assert "repository_owner_id" in result.stderr


def test_audience_outside_github_actions_says_what_to_do(setup: Setup, tmp_path: Path) -> None:
    result = _deploy(
        tmp_path,
        {
            "LIGHTDASH_URL": setup.url,
            "LIGHTDASH_PROJECT": setup.project_uuid,
            "LIGHTDASH_OIDC_AUDIENCE": AUDIENCE,
        },
    )
    assert result.returncode != 0
    assert "id-token: write" in result.stderr
