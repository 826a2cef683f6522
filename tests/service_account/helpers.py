"""Shared helpers of the service-account tests: the API's URL and messages, requests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.support import in_days

URL = "/api/v1/service-accounts"
REJECTED = "Invalid service account token. Authentication failed."
DISABLED = "Service accounts require an Enterprise License Key and SERVICE_ACCOUNT_ENABLED=true"
CEILING = "Cannot grant permissions exceeding your own"


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Response:
    body.setdefault("description", "CI deploys")
    body.setdefault("expiresAt", in_days())
    response: Response = client.post(URL, json=body, headers=headers)
    return response


def created(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = create(client, headers, **body)
    assert response.status_code == 201, response.text
    results: dict[str, Any] = response.json()["results"]
    return results


def error(response: Response) -> tuple[int, str]:
    body = response.json()
    assert body["status"] == "error", body
    return response.status_code, body["error"]["message"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
