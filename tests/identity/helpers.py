"""Identity test helpers: logging in through the API."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.support import PASSWORD


def logged_in(make_client: Callable[..., TestClient], runtime: Runtime, email: str) -> TestClient:
    """A client of its own (its own cookie jar) holding a fresh browser session for `email`."""
    client = make_client(runtime)
    response = client.post("/api/v1/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client
