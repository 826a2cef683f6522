"""After a full lifecycle no plaintext token is in any table nor in any log line."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.service_account.helpers import URL, bearer, created
from tests.support import authenticated, database_text, in_days, make_org, make_project


def test_tokens_are_never_stored_nor_logged(
    make_runtime: Callable[..., Runtime],
    make_client: Callable[..., TestClient],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime = make_runtime(LOG_LEVEL="debug")
    client = make_client(runtime)
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    project = make_project(runtime, org, "Jaffle")
    tokens: list[str] = []

    sa = created(client, admin, description="Lifecycle", scopes=["system:admin"])
    tokens.append(sa["token"])
    member = created(
        client,
        admin,
        description="Member",
        scopes=["system:member"],
        projectAccess=[{"projectUuid": project, "role": "editor"}],
    )
    tokens.append(member["token"])
    for header in (f"Bearer {sa['token']}", f"ApiKey {sa['token']}", sa["token"]):
        assert client.get(URL, headers={"Authorization": header}).status_code == 200
    assert authenticated(client, bearer(member["token"]))
    # A bad checksum and an unknown token are logged as failures: without the token.
    wrong = sa["token"][:-1] + ("A" if sa["token"][-1] != "A" else "B")
    tokens.append(wrong)
    assert client.get(URL, headers=bearer(wrong)).status_code == 401
    assert (
        client.patch(
            f"{URL}/{sa['uuid']}",
            json={"description": "Renamed", "scopes": ["org:admin"]},
            headers=bearer(sa["token"]),
        ).status_code
        == 200
    )
    rotated = client.patch(
        f"{URL}/{sa['uuid']}/rotate", json={"expiresAt": in_days(3)}, headers=admin
    )
    assert rotated.status_code == 200
    tokens.append(rotated.json()["results"]["token"])
    assert client.get(URL, headers=bearer(sa["token"])).status_code == 401  # the old one, logged
    limited = client.patch(
        f"{URL}/{sa['uuid']}/rotate", json={"expiresAt": in_days(3)}, headers=admin
    )
    assert limited.status_code == 429
    assert client.delete(f"{URL}/{member['uuid']}", headers=bearer(tokens[-1])).status_code == 200
    assert client.get(URL, headers=bearer(member["token"])).status_code == 401
    assert client.delete(f"{URL}/{sa['uuid']}", headers=admin).status_code == 200

    dump = database_text(runtime)
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "service_account.rotated" in logs and "auth.failed" in logs  # the logs were captured
    assert "Lifecycle" in dump  # the dump holds the rows
    for token in tokens:
        body = token.removeprefix("ldsvc_")
        assert body not in dump, "a token is stored in plaintext"
        assert body not in logs, "a token reached the logs"
