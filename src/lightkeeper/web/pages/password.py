"""`/generalSettings/password`: change one's password (the other sessions end)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.identity import sessions
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    Csrf,
    Failure,
    PageRoute,
    SignedIn,
    redirect,
    render,
    render_failure,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/password"
PASSWORDS_DIFFER = "The new passwords do not match: type the same password twice"


def _password_page(request: Request, failure: Failure | None = None) -> Response:
    return render(
        request,
        "password.html",
        {
            "error": failure.message if failure else None,
            "error_fields": failure.fields if failure else (),
        },
        status=failure.status if failure else 200,
        active="password",
    )


@router.get(PAGE)
def password_page(request: Request, principal: SignedIn) -> Response:
    return _password_page(request)


@router.post(PAGE)
def change_password(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    current_password: Annotated[str, Form(alias="currentPassword")] = "",
    new_password: Annotated[str, Form(alias="newPassword")] = "",
    confirm_password: Annotated[str, Form(alias="confirmPassword")] = "",
) -> Response:
    if new_password != confirm_password:
        return _password_page(request, Failure(400, PASSWORDS_DIFFER, ("confirmPassword",)))
    try:
        sessions.change_password(runtime, session, principal, current_password, new_password)
    except LightkeeperError as error:
        return render_failure(
            request, session, lambda failure: _password_page(request, failure), error
        )
    return redirect(PAGE + "?notice=password_changed")
