"""Input no database can store (NUL, lone surrogates, integers past 64 bits) is a 400, never a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightkeeper.runtime import Runtime
from tests.support import Org, make_org, make_project

BAD_CHARACTERS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]
bad_text = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=8),
    st.sampled_from(BAD_CHARACTERS),
    st.text(max_size=8),
)
huge_int = st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1))


def _raw_json(body: Any) -> bytes:
    # ensure_ascii keeps a lone surrogate as the JSON escape "\ud800", as a client sends it.
    return json.dumps(body).encode()


def _post(client: TestClient, url: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(
        url, content=_raw_json(body), headers={**headers, "content-type": "application/json"}
    )


def _assert_names(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["name"] == "ParameterError"
    assert field in error["data"]["fields"], error


@pytest.fixture
def acme(runtime: Runtime) -> Org:
    return make_org(runtime, "Acme", roles=("admin",))


@pytest.mark.parametrize(
    "email", ["admin\x00@acme.example", "\ud800@acme.example", "admin@acme.example\udfff"]
)
def test_login_with_an_unstorable_email_is_a_400(client: TestClient, acme: Org, email: str) -> None:
    response = _post(client, "/api/v1/login", {"email": email, "password": "x"}, {})
    _assert_names(response, "email")


def test_names_and_descriptions_with_nul_or_surrogates_are_400s(
    client: TestClient, runtime: Runtime, acme: Org
) -> None:
    headers = acme.people["admin"].headers
    project = make_project(runtime, acme, "Jaffle")
    spaces = f"/api/v1/projects/{project}/spaces"
    _assert_names(_post(client, spaces, {"name": "Sales\x00"}, headers), "name")
    _assert_names(_post(client, "/api/v1/org/projects", {"name": "P\ud800"}, headers), "name")
    service_accounts = "/api/v1/service-accounts"
    body = {"description": "CI\x00", "expiresAt": None, "scopes": ["system:admin"]}
    _assert_names(_post(client, service_accounts, body, headers), "description")
    # Nested values and keys are checked too; a bad key is reported on its object.
    chart = {"name": "c", "spaceUuid": str(uuid.uuid4()), "metricQuery": {"filters": ["\x00"]}}
    _assert_names(
        _post(client, f"/api/v1/projects/{project}/saved", chart, headers), "metricQuery.filters.0"
    )
    chart["metricQuery"] = {"\ud800": 1}
    _assert_names(_post(client, f"/api/v1/projects/{project}/saved", chart, headers), "metricQuery")


def test_a_body_field_named_like_a_location_keeps_its_name(
    client: TestClient, runtime: Runtime, acme: Org
) -> None:
    # "query" is both a location (query string) and the metric-query body's field.
    project = make_project(runtime, acme, "Jaffle")
    url = f"/api/v2/projects/{project}/query/metric-query"
    response = _post(client, url, {"query": ["\x00"]}, acme.people["admin"].headers)
    _assert_names(response, "query.0")


def test_search_queries_and_paging_parameters_are_bounded(
    client: TestClient, runtime: Runtime, acme: Org
) -> None:
    headers = acme.people["admin"].headers
    members = "/api/v1/org/users"
    _assert_names(
        client.get(members, params={"searchQuery": "a\x00"}, headers=headers), "searchQuery"
    )
    _assert_names(client.get(members, params={"page": str(2**70)}, headers=headers), "page")
    _assert_names(
        client.get(members, params={"page": "1", "pageSize": str(2**70)}, headers=headers),
        "pageSize",
    )
    project = make_project(runtime, acme, "Jaffle")
    code = f"/api/v1/projects/{project}/charts/code"
    _assert_names(client.get(code, params={"offset": str(2**70)}, headers=headers), "offset")
    assert client.get(code, params={"offset": "0"}, headers=headers).status_code == 200


def test_integers_past_64_bits_in_a_body_are_400s(
    client: TestClient, runtime: Runtime, acme: Org
) -> None:
    headers = acme.people["admin"].headers
    project = make_project(runtime, acme, "Jaffle")
    space = _post(client, f"/api/v1/projects/{project}/spaces", {"name": "S"}, headers)
    assert space.status_code == 200, space.text
    document = {"version": 2**64, "name": "c", "spaceSlug": "s", "tableName": "t"}
    response = client.post(
        f"/api/v1/projects/{project}/charts/chart-a/code", json=document, headers=headers
    )
    _assert_names(response, "version")


def test_web_form_posts_with_nul_are_a_400_page(client: TestClient, acme: Org) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post("/login", data={"email": "a\x00@acme.example", "password": "x"})
    assert response.status_code == 400, response.text
    assert "text/html" in response.headers["content-type"]
    assert "email" in response.text


def _json_targets(openapi: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path, top-level body property) for every JSON request body in the document."""
    schemas = openapi["components"]["schemas"]
    targets = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            targets += [(method, path, name) for name in schema.get("properties", {})]
    return targets


def _query_targets(openapi: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (method, path, parameter["name"])
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]


def _fill_path(path: str) -> str:
    for part in path.split("/"):
        if part.startswith("{"):
            path = path.replace(part, str(uuid.uuid4()))
    return path


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_json_field_refuses_unstorable_values_with_a_400_naming_it(
    client: TestClient, acme: Org, data: st.DataObject
) -> None:
    openapi = client.get("/api/v1/openapi.json").json()
    targets = _json_targets(openapi)
    assert len(targets) > 30
    method, path, field = data.draw(st.sampled_from(targets))
    value = data.draw(st.one_of(bad_text, huge_int, st.lists(bad_text, min_size=1, max_size=2)))
    response = client.request(
        method,
        _fill_path(path),
        content=_raw_json({field: value}),
        headers={**acme.people["admin"].headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, (method, path, field, response.text)
    assert any(name.split(".")[0] == field for name in response.json()["error"]["data"]["fields"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_query_parameter_refuses_nul_with_a_400_naming_it(
    client: TestClient, acme: Org, data: st.DataObject
) -> None:
    targets = _query_targets(client.get("/api/v1/openapi.json").json())
    assert len(targets) > 5
    method, path, name = data.draw(st.sampled_from(targets))
    value = data.draw(
        st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=8), st.text(max_size=8))
    )
    response = client.request(
        method, _fill_path(path), params={name: value}, headers=acme.people["admin"].headers
    )
    _assert_names(response, name)


def test_every_integer_parameter_has_bounds(client: TestClient) -> None:
    openapi = client.get("/api/v1/openapi.json").json()
    unbounded = [
        (path, parameter["name"])
        for path, item in openapi["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        for schema in [parameter.get("schema", {}), *parameter.get("schema", {}).get("anyOf", [])]
        if schema.get("type") == "integer" and "maximum" not in schema
    ]
    assert not unbounded
