"""No two routers answer the same method and path, so the order of `app.ROUTERS` decides nothing.

A route added to one router that another router's route would shadow (or be shadowed
by) fails here. The one overlap meant to be is the web UI's catch-all 404 under
/generalSettings, in the last router: every settings page comes before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from lightkeeper.app import ROUTERS

CATCH_ALL = "/generalSettings/{rest:path}"


def _served(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _served(included.routes) if included is not None else (route,)


def _segments(path: str) -> list[str]:
    return path.rstrip("/").split("/")


def _may_both_match(first: str, second: str) -> bool:
    """Could one request path match both templates? A `{param}` matches any one segment,
    a `{param:path}` the rest of the path, anything else only itself."""
    a, b = _segments(first), _segments(second)
    for x, y in zip(a, b, strict=False):
        if x.endswith(":path}") or y.endswith(":path}"):
            return True
        if x != y and not x.startswith("{") and not y.startswith("{"):
            return False
    return len(a) == len(b)


def test_the_overlap_check_sees_overlaps() -> None:
    assert _may_both_match("/api/v1/things/{id}", "/api/v1/things/special")
    assert _may_both_match("/a/{x}/b", "/a/lit/{y}")
    assert _may_both_match("/pages/{rest:path}", "/pages/a/b/c")
    assert not _may_both_match("/api/v1/things/{id}", "/api/v1/things/{id}/parts")
    assert not _may_both_match("/api/v1/org/projects", "/api/v1/org/users")


def test_no_two_routers_answer_the_same_method_and_path() -> None:
    routes = [
        (index, route.path, frozenset(route.methods or ()))
        for index, router in enumerate(ROUTERS)
        for route in _served(router.routes)
        if isinstance(route, APIRoute)
    ]
    assert len({index for index, _path, _methods in routes}) == len(ROUTERS)

    last = len(ROUTERS) - 1
    clashes = [
        f"{sorted(m1 & m2)} {p1} (router {i1}) and {p2} (router {i2})"
        for n, (i1, p1, m1) in enumerate(routes)
        for i2, p2, m2 in routes[n + 1 :]
        if i1 != i2 and m1 & m2 and _may_both_match(p1, p2)
        if not (i2 == last and p2 == CATCH_ALL)
    ]

    assert clashes == []


def test_the_catch_all_comes_after_every_settings_page() -> None:
    paths = [route.path for router in ROUTERS for route in router.routes]
    settings_pages = [n for n, path in enumerate(paths) if path.startswith("/generalSettings/")]
    assert paths.index(CATCH_ALL) == max(settings_pages)
    assert len(settings_pages) > 1
