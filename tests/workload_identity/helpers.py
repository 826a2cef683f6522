"""Requests to the token endpoint (this folder's own helpers)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

TOKEN_URL = "/api/v1/oauth/token"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


def exchange(client: TestClient, subject_token: str, **extra: Any) -> Response:
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ID_TOKEN,
    }
    form.update({k: v for k, v in extra.items() if v is not None})
    return client.post(TOKEN_URL, data=form)


def refused(response: Response, error: str = "invalid_grant", status: int = 400) -> str:
    """The error description, after checking the RFC 6749 shape, status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert response.headers["cache-control"] == "no-store"
    return str(body["error_description"])
