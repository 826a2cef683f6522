"""Every route runs its handler, commit and close in one thread hop (deps.RequestRoute).

A router created without `route_class=RequestRoute` would silently bring back a
threadpool hop per sync dependency and a session that commits outside the
handler's hop; this fails first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from lightkeeper.deps import RequestRoute
from lightkeeper.kit import threadpool
from lightkeeper.runtime import Runtime
from tests.support import make_org, make_project


def _served(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route the app serves (FastAPI keeps an included router's own routes inside it)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _served(included.routes) if included is not None else (route,)


def test_every_route_is_a_request_route(client: TestClient) -> None:
    served = _served(client.app.routes)  # type: ignore[attr-defined]
    routes = [r for r in served if isinstance(r, APIRoute)]

    plain = sorted(
        f"{sorted(r.methods)} {r.path}" for r in routes if not isinstance(r, RequestRoute)
    )

    assert len(routes) > 50
    assert plain == []


class _CountingExecutor(ThreadPoolExecutor):
    """The executor of `kit.threadpool.run_sync`, counting the calls handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.calls = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        return super().submit(fn, *args, **kwargs)


def test_a_request_makes_one_thread_hop_and_a_health_check_none(
    client: TestClient, runtime: Runtime, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync handler costs one hop; health, the user and the two lists (reads on the loop) none."""
    org = make_org(runtime, "Hops")
    project = make_project(runtime, org, "Jaffle")
    headers = org.people["admin"].headers
    assert client.get("/api/v1/org/projects", headers=headers).status_code == 200
    deadline = time.monotonic() + 30
    while backend == "postgresql" and not runtime.principal_cache.listening:
        assert time.monotonic() < deadline, "the listener did not connect"
        time.sleep(0.05)  # PostgreSQL: the cache answers once its listener is connected
    assert client.get("/api/v1/org/projects", headers=headers).status_code == 200  # fills the cache
    client.get("/api/v1/health")  # learns that an organization exists
    runtime.principal_cache.poll_interval = 3600.0  # no cross-process check due meanwhile (SQLite)
    counting = _CountingExecutor()
    monkeypatch.setattr(threadpool, "_executor", counting)

    one = client.get(f"/api/v1/projects/{project}", headers=headers)
    assert one.status_code == 200
    assert one.json()["results"]["name"] == "Jaffle"
    assert counting.calls == 1  # handler, commit and close together

    counting.calls = 0
    assert client.get("/api/v1/health", headers=headers).json()["results"]["isAuthenticated"]
    assert client.get("/api/v1/user", headers=headers).status_code == 200
    listed = client.get("/api/v1/org/projects", headers=headers)
    assert [p["name"] for p in listed.json()["results"]] == ["Jaffle"]
    spaces = client.get(f"/api/v1/projects/{project}/spaces", headers=headers)
    assert spaces.status_code == 200
    assert counting.calls == 0
    counting.shutdown()
