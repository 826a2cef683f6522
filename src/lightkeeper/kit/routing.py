"""Route dispatch by path segments: the routes a path could match, found without trying them all.

Starlette's router tries every route in order until one matches, and FastAPI's
included routers try theirs twice (once to match, once to hand over): with the
app's ~190 routes that was 15 µs for the first and up to 900 µs for the last
(docs/decisions.md, "Request path", seventh pass). `RouteIndex` runs in the
router's own middleware slot (Starlette's `Router.middleware_stack`, inside the
exception handlers): it walks a tree of the routes' path segments to the few
routes whose pattern could match, tries those in their original order as the
router would, and hands the first full match over (a route that matches the
path but not the method does not stop the search, as in the router). Anything
else (a path no route matches, a method no route of the path takes, a slash to
redirect) goes to the router's own loop, so the answers are the router's.

A route's segments are literals, parameters (one segment) or a `:path`
parameter (the rest). A route the tree cannot place is tried for every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from starlette._utils import get_route_path  # the path as Route.matches sees it
from starlette.convertors import PathConvertor
from starlette.routing import BaseRoute, Match, Route, Router

from lightkeeper.kit.http import ASGIApp, Receive, Scope, Send


class _Node:
    __slots__ = ("ends", "literal", "param", "rest")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.ends: list[int] = []  # routes whose path ends here
        self.rest: list[int] = []  # routes whose `:path` parameter takes what follows


class _Tree:
    """The routes of one `routes` list, by path segment."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = list(routes)
        self.always: list[int] = []
        self.root = _Node()
        for position, route in enumerate(self.routes):
            self._add(position, route)
        self.candidates = lru_cache(maxsize=2048)(self._candidates)

    def _add(self, position: int, route: BaseRoute) -> None:
        if not isinstance(route, Route):  # a mount, a host, a websocket route: tried for every path
            self.always.append(position)
            return
        rest_params = {
            name
            for name, convertor in route.param_convertors.items()
            if isinstance(convertor, PathConvertor)
        }
        node = self.root
        for segment in route.path.split("/"):
            if "{" not in segment:
                node = node.literal.setdefault(segment, _Node())
            elif any("{" + name in segment for name in rest_params):
                node.rest.append(position)
                return
            else:  # a parameter, alone or within text: one non-empty segment
                node.param = node.param or _Node()
                node = node.param
        node.ends.append(position)

    def _candidates(self, path: str) -> tuple[BaseRoute, ...]:
        """The routes whose pattern may match `path`, in their order (a superset of those that do)."""
        segments = path.split("/")
        found = list(self.always)
        pending = [(self.root, 0)]
        while pending:
            node, depth = pending.pop()
            found += node.rest
            if depth == len(segments):
                found += node.ends
                continue
            segment = segments[depth]
            if (child := node.literal.get(segment)) is not None:
                pending.append((child, depth + 1))
            if node.param is not None and segment:
                pending.append((node.param, depth + 1))
        return tuple(self.routes[position] for position in sorted(found))


class RouteIndex:
    """The router's dispatch, with the routes to try chosen by `_Tree` (see the module)."""

    def __init__(self, router: Router) -> None:
        self._router = router
        self._fallback: ASGIApp = router.app
        self._tree: _Tree | None = None

    def _current(self) -> _Tree:
        routes = self._router.routes
        tree = self._tree
        if tree is None or len(tree.routes) != len(routes):  # routes were added (e.g. by a test)
            tree = self._tree = _Tree(routes)
        return tree

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._fallback(scope, receive, send)
            return
        for route in self._current().candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.setdefault("router", self._router)
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        # No route takes this path and method: the router's loop answers (405, a redirect, 404).
        await self._fallback(scope, receive, send)


def index_routes(router: Router) -> None:
    """Dispatch `router`'s requests through a `RouteIndex` (in the slot Starlette keeps for a router's middleware)."""
    router.middleware_stack = RouteIndex(router)


def flat_routes(routers: Sequence[Router]) -> list[BaseRoute]:
    """Every route of `routers`, in order: each carries its router's prefix, tags and dependencies already.

    A router that includes another is refused: list the included one beside it instead.
    """
    routes = [route for router in routers for route in router.routes]
    for route in routes:
        if not isinstance(route, Route):
            raise TypeError(f"{route!r} is not a route: list its router in the app's routers")
    return routes
