"""The envelope and request plumbing, as any client sees them."""

from __future__ import annotations

import gzip
import json
import uuid

from fastapi.testclient import TestClient
from pydantic import BaseModel

from lightkeeper.app import create_app
from lightkeeper.kit.http import new_request_id
from lightkeeper.kit.schemas import InputTime, ok


class Probe(BaseModel):
    name: str
    count: int
    at: InputTime | None = None


def _client(make_runtime, **env) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(runtime=make_runtime(**env))

    @app.post("/api/v1/_probe")
    def probe(body: Probe) -> dict[str, object]:
        return ok(body.model_dump(mode="json"))

    @app.get("/api/v1/_boom")
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM users WHERE token='ldsvc_leak'")

    return TestClient(app, raise_server_exceptions=False)


def test_validation_errors_are_400_parameter_errors_naming_fields(make_runtime) -> None:
    response = _client(make_runtime).post("/api/v1/_probe", json={"name": "x", "count": "many"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["name"] == "ParameterError"
    assert "count" in error["data"]["fields"]


def test_malformed_json_is_a_400(make_runtime) -> None:
    response = _client(make_runtime).post(
        "/api/v1/_probe", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["name"] == "ParameterError"
    assert "JSON" in response.json()["error"]["message"]


def test_times_without_an_offset_are_refused(make_runtime) -> None:
    client = _client(make_runtime)
    bad = client.post("/api/v1/_probe", json={"name": "x", "count": 1, "at": "2027-01-01T00:00:00"})
    assert bad.status_code == 400
    good = client.post(
        "/api/v1/_probe", json={"name": "x", "count": 1, "at": "2027-01-01T02:00:00+02:00"}
    )
    assert good.status_code == 200


def test_gzip_bodies_are_accepted(make_runtime) -> None:
    body = gzip.compress(json.dumps({"name": "x" * 2000, "count": 2}).encode())
    response = _client(make_runtime).post(
        "/api/v1/_probe",
        content=body,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.json()["results"]["count"] == 2


def test_bodies_over_the_limit_are_413_even_when_gzipped(make_runtime) -> None:
    client = _client(make_runtime, LIGHTDASH_MAX_PAYLOAD="1kb")
    plain = client.post("/api/v1/_probe", json={"name": "x" * 2000, "count": 1})
    assert plain.status_code == 413
    assert plain.json()["error"]["name"] == "PayloadTooLargeError"
    bomb = gzip.compress(json.dumps({"name": "x" * 100_000, "count": 1}).encode())
    assert len(bomb) < 1024
    zipped = client.post(
        "/api/v1/_probe",
        content=bomb,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert zipped.status_code == 413


def test_unexpected_errors_reveal_nothing(make_runtime, capsys) -> None:
    response = _client(make_runtime).get("/api/v1/_boom", headers={"x-request-id": "req-123"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["name"] == "UnexpectedServerError"
    assert "req-123" in body["error"]["message"]
    assert "SELECT" not in response.text and "ldsvc_leak" not in response.text
    logged = capsys.readouterr().err
    assert "request.failed" in logged and "req-123" in logged
    assert "SELECT" not in logged and "ldsvc_leak" not in logged


def test_request_id_is_echoed_or_made(make_runtime) -> None:
    client = _client(make_runtime)
    assert (
        client.get("/api/v1/health", headers={"x-request-id": "abc"}).headers["x-request-id"]
        == "abc"
    )
    assert len(client.get("/api/v1/health").headers["x-request-id"]) == 36


def test_openapi_lists_security_schemes(make_runtime) -> None:
    client = _client(make_runtime)
    schema = client.get("/api/v1/openapi.json").json()
    assert {"BearerAuth", "ApiKeyAuth", "SessionCookie"} <= set(
        schema["components"]["securitySchemes"]
    )
    assert client.get("/api/docs").status_code == 200
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert not [op for op in operations if "422" in op.get("responses", {})]
    assert "/api/v1/service-accounts" in schema["paths"]


def test_made_request_ids_are_random_uuid4s() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for made in ids:
        parsed = uuid.UUID(made)
        assert (str(parsed), parsed.version, parsed.variant) == (made, 4, uuid.RFC_4122)
