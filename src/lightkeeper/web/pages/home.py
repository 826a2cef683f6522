"""`/` and `/generalSettings`: where a person lands."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from lightkeeper.deps import RuntimeDep
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    OptionalUser,
    PageRoute,
    SignedIn,
    menu,
    redirect,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


@router.get("/")
def root(principal: OptionalUser) -> Response:
    return redirect("/generalSettings" if principal is not None else "/login", status=302)


@router.get("/generalSettings")
def settings_home(principal: SignedIn, runtime: RuntimeDep) -> Response:
    """The first page of the side menu this person may use."""
    return redirect(menu(runtime, principal)[0].href, status=302)
