"""`/login` and `POST /logout`: session sign-in and sign-out (a fresh install goes to /register)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lightkeeper.auth.credentials import SESSION_COOKIE
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.identity import sessions
from lightkeeper.identity.endpoints import cookie_is_secure, set_session_cookie
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.registration import service as registration
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    AnonymousCsrf,
    Csrf,
    Failure,
    OptionalUser,
    PageRoute,
    redirect,
    render,
    render_failure,
    safe_next,
)
from lightkeeper.web.forms import FormText

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


def _login_page(
    request: Request, email: str, next: str | None, failure: Failure | None = None
) -> Response:
    return render(
        request,
        "login.html",
        {"email": email, "next": safe_next(next), "error": failure.message if failure else None},
        status=failure.status if failure else 200,
        anonymous=True,
    )


@router.get("/login")
def login_page(
    request: Request, principal: OptionalUser, session: SessionDep, next: str | None = None
) -> Response:
    if principal is not None:
        return redirect(safe_next(next), status=302)
    if not registration.organization_exists(session):
        return redirect("/register", status=302)
    return _login_page(request, "", next)


@router.post("/login")
def login(
    request: Request,
    _csrf: AnonymousCsrf,
    runtime: RuntimeDep,
    session: SessionDep,
    email: FormText = "",
    password: FormText = "",
    next: FormText = "",
) -> Response:
    try:
        _user, new = sessions.login(
            runtime,
            session,
            email,
            password,
            previous_cookie=request.cookies.get(SESSION_COOKIE),
        )
    except LightkeeperError as error:
        return render_failure(
            request, session, lambda failure: _login_page(request, email, next, failure), error
        )
    response = redirect(safe_next(next))
    set_session_cookie(request, response, runtime, new)
    return response


@router.post("/logout")
def logout(request: Request, _csrf: Csrf, runtime: RuntimeDep, session: SessionDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        sessions.end_session(runtime, session, cookie)
    response = redirect("/login?notice=logged_out")
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=cookie_is_secure(request, runtime),
        httponly=True,
        samesite="lax",
    )
    return response
