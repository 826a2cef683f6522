"""Every route runs its handler, commit and close in one thread hop (deps.RequestRoute).

A router created without `route_class=RequestRoute` would silently bring back a
threadpool hop per sync dependency and a session that commits outside the
handler's hop; this fails first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from lightkeeper.deps import RequestRoute


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
