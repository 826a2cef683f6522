"""The route index (kit.routing) picks the route the router's own loop would, for every path."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Match, Route

from lightkeeper.app import ROUTERS, create_app
from lightkeeper.kit.routing import RouteIndex, _Tree, flat_routes
from lightkeeper.runtime import Runtime

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _linear(routes: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    """What Starlette's router does: the first full match, else the first partial one."""
    partial = None
    for route in routes:
        match, _ = route.matches(_scope(method, path))
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _indexed(tree: _Tree, method: str, path: str) -> BaseRoute | None:
    """The index's choice; None where it hands the request to the router's loop."""
    for route in tree.candidates(path):
        if route.matches(_scope(method, path))[0] is Match.FULL:
            return route
    return None


def _paths_of(template: str) -> list[str]:
    """Request paths a template answers, and near misses of it."""
    one = re.sub(r"\{[^}:]+\}", "0f8fad5b-d9cb-469f-a165-70867728950e", template)
    filled = [re.sub(r"\{[^}]+:path\}", rest, one) for rest in ("a", "a/b/c", "")]
    return [*filled, *(p + "/" for p in filled), *(p.rsplit("/", 1)[0] for p in filled)]


def test_every_route_of_the_app_is_found_as_the_router_finds_it() -> None:
    routes = flat_routes(ROUTERS)
    tree = _Tree(routes)
    paths = {path for route in routes if isinstance(route, Route) for path in _paths_of(route.path)}
    assert len(paths) > 300
    checked = 0
    for path in sorted(paths | {"/", "/nowhere", "/api/v1/nowhere", "//", "/api//v1"}):
        for method in METHODS:
            expected = _linear(routes, method, path)
            if expected is not None and expected.matches(_scope(method, path))[0] is Match.FULL:
                assert _indexed(tree, method, path) is expected, (method, path)
                checked += 1
            else:  # no route takes it: the router's loop answers (405, redirect, 404)
                assert _indexed(tree, method, path) is None, (method, path)
    assert checked > 200


_SEGMENTS = st.sampled_from(["a", "b", "{x}", "{y:int}", "{rest:path}", "c{z}.json", ""])
_PATH_SEGMENTS = st.sampled_from(["a", "b", "1", "c7.json", "", "a/b"])


@settings(max_examples=300, deadline=None)
@given(
    templates=st.lists(st.lists(_SEGMENTS, min_size=1, max_size=4), min_size=1, max_size=12),
    methods=st.lists(st.sampled_from(["GET", "POST"]), min_size=12, max_size=12),
    path=st.lists(_PATH_SEGMENTS, min_size=1, max_size=5),
    method=st.sampled_from(["GET", "POST"]),
)
def test_the_index_agrees_with_the_router_on_any_routes(
    templates: list[list[str]], methods: list[str], path: list[str], method: str
) -> None:
    routes: list[BaseRoute] = []
    for template, route_method in zip(templates, methods, strict=False):
        text = "/" + "/".join(template)
        if text.count("{rest:path}") > 1 or len(set(re.findall(r"\{(\w+)", text))) != len(
            re.findall(r"\{(\w+)", text)
        ):
            continue  # one parameter of a name per route
        routes.append(Route(text, endpoint=lambda request: None, methods=[route_method]))
    request_path = "/" + "/".join(path)
    tree = _Tree(routes)
    matching = [r for r in routes if r.matches(_scope(method, request_path))[0] is not Match.NONE]
    assert {id(r) for r in matching} <= {id(r) for r in tree.candidates(request_path)}
    expected = _linear(routes, method, request_path)
    found = _indexed(tree, method, request_path)
    if expected is not None and expected.matches(_scope(method, request_path))[0] is Match.FULL:
        assert found is expected
    else:
        assert found is None


def test_the_app_dispatches_through_the_index(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    assert isinstance(app.router.middleware_stack, RouteIndex)
    client = TestClient(app, follow_redirects=False)
    assert client.get("/api/v1/health").status_code == 200
    # what the index leaves to the router: a method the path does not take, a slash too
    # many, a path no route has
    refused = client.put("/api/v1/health")
    assert refused.status_code == 405
    assert refused.json()["error"]["name"] == "MethodNotAllowedError"
    redirected = client.get("/api/v1/health/")
    assert redirected.status_code == 307
    assert redirected.headers["location"].endswith("/api/v1/health")
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["status"] == "error"


def test_a_route_added_after_the_first_request_is_served(runtime: Runtime) -> None:
    app: FastAPI = create_app(runtime=runtime)
    client = TestClient(app)
    assert client.get("/api/v1/health").status_code == 200

    @app.get("/api/v1/added-later")
    async def added_later() -> dict[str, str]:
        return {"added": "later"}

    assert client.get("/api/v1/added-later").json() == {"added": "later"}


def test_a_router_that_includes_another_is_refused() -> None:
    from fastapi import APIRouter

    outer, inner = APIRouter(), APIRouter()

    @inner.get("/inner")
    def inner_route() -> None: ...

    outer.include_router(inner)
    try:
        flat_routes([outer])
    except TypeError as refused:
        assert "list its router" in str(refused)
    else:
        raise AssertionError("an included router was accepted")
