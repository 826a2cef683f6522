"""`ok_response` writes the very bytes FastAPI writes for the same `response_model`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from lightkeeper.kit.schemas import CamelModel, Envelope, UTCTime, ok, ok_response


class Nested(CamelModel):
    user_uuid: str
    first_name: str | None


class Row(CamelModel):
    project_uuid: str
    upstream_project_uuid: str | None
    created_at: UTCTime
    created_by: Nested | None
    tags: list[str]


ROWS = [
    Row(
        project_uuid="p1",
        upstream_project_uuid=None,
        created_at=datetime(2030, 1, 2, 3, 4, 5, 678901),  # naive, as SQLite gives it back
        created_by=Nested(user_uuid="u1", first_name='Ünïcode "quoted"'),
        tags=["a", "b"],
    ),
    Row(
        project_uuid="p2",
        upstream_project_uuid="p1",
        created_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        created_by=None,
        tags=[],
    ),
]


def test_same_bytes_as_the_response_model_path() -> None:
    app = FastAPI()

    @app.get("/model", response_model=Envelope[list[Row]])
    def through_the_model() -> dict[str, Any]:
        return ok(ROWS)

    @app.get("/bytes", response_model=Envelope[list[Row]])
    def serialised_once() -> Response:
        return ok_response(list[Row], ROWS)

    client = TestClient(app)
    by_model, by_bytes = client.get("/model"), client.get("/bytes")
    assert by_bytes.status_code == by_model.status_code == 200
    assert by_bytes.headers["content-type"] == by_model.headers["content-type"]
    assert by_bytes.content == by_model.content
    assert b'"createdAt":"2030-01-02T03:04:05.678Z"' in by_bytes.content
    # The OpenAPI document still describes the body.
    schema = client.get("/openapi.json").json()
    ok_schema = schema["paths"]["/bytes"]["get"]["responses"]["200"]["content"]["application/json"]
    assert (
        ok_schema
        == schema["paths"]["/model"]["get"]["responses"]["200"]["content"]["application/json"]
    )
