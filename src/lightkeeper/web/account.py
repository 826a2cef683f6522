"""Pages of one's own account: first-run registration, invites, login, logout, password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lightkeeper.auth.credentials import SESSION_COOKIE
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.identity import registration, sessions
from lightkeeper.identity import repository as identity_repository
from lightkeeper.identity.endpoints import cookie_is_secure, set_session_cookie
from lightkeeper.invite import repository as invite_repository
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.models import Organization
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    AnonymousCsrf,
    Csrf,
    OptionalUser,
    PageRoute,
    SignedIn,
    error_message,
    menu,
    redirect,
    render,
    safe_next,
)

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES
)

FormText = Annotated[str, Form()]
PASSWORDS_DIFFER = "The new passwords do not match: type the same password twice"


def _fields(error: LightkeeperError) -> set[str]:
    fields = error.data.get("fields") if isinstance(error.data, dict) else None
    return set(fields) if isinstance(fields, dict) else set()


def _organization_exists(session: SessionDep) -> bool:
    return identity_repository.organization_count(session) > 0


@router.get("/")
def root(principal: OptionalUser) -> Response:
    return redirect("/generalSettings" if principal is not None else "/login", status=302)


# -- first-run registration ---------------------------------------------------------------


@router.get("/register")
def register_page(request: Request, session: SessionDep) -> Response:
    if _organization_exists(session):
        return redirect("/login", status=302)
    return render(request, "register.html", {"form": {}, "error_fields": set()}, anonymous=True)


@router.post("/register")
def register(
    request: Request,
    _csrf: AnonymousCsrf,
    runtime: RuntimeDep,
    session: SessionDep,
    first_name: Annotated[str, Form(alias="firstName")] = "",
    last_name: Annotated[str, Form(alias="lastName")] = "",
    email: FormText = "",
    organization_name: Annotated[str, Form(alias="organizationName")] = "",
    password: FormText = "",
) -> Response:
    if _organization_exists(session):
        return redirect("/login")
    form = registration.Registration(
        first_name=first_name,
        last_name=last_name,
        email=email,
        password=password,
        organization_name=organization_name,
        invite_code=None,
    )
    try:
        _user, new = registration.register(runtime, session, form)
    except LightkeeperError as error:
        session.rollback()
        values = {
            "firstName": first_name,
            "lastName": last_name,
            "email": email,
            "organizationName": organization_name,
        }
        return render(
            request,
            "register.html",
            {"form": values, "error": error_message(error), "error_fields": _fields(error)},
            status=error.status_code,
            anonymous=True,
        )
    response = redirect("/generalSettings")
    set_session_cookie(request, response, runtime, new)
    return response


# -- invites ------------------------------------------------------------------------------


def _invite_context(session: SessionDep, code: str) -> dict[str, Any]:
    invite = invite_repository.invite_by_code(session, code.strip())
    if invite is None:
        return {"invite": None, "problem": "This invite link is not valid: ask an administrator "
                "of your organization for a new one."}
    if invite.expires_at <= utcnow():
        return {"invite": None, "problem": "This invite link has expired: ask an administrator "
                "of your organization for a new one."}
    organization = session.get(Organization, invite.organization_uuid)
    return {
        "invite": invite,
        "organization_name": organization.name if organization else "",
        "problem": None,
    }


@router.get("/invite/{code}")
def invite_page(request: Request, code: str, session: SessionDep) -> Response:
    context = _invite_context(session, code)
    status = 200 if context["invite"] is not None else 404
    return render(
        request,
        "invite.html",
        {**context, "code": code, "form": {}, "error_fields": set()},
        status=status,
        anonymous=True,
    )


@router.post("/invite/{code}")
def accept_invite(
    request: Request,
    code: str,
    _csrf: AnonymousCsrf,
    runtime: RuntimeDep,
    session: SessionDep,
    first_name: Annotated[str, Form(alias="firstName")] = "",
    last_name: Annotated[str, Form(alias="lastName")] = "",
    password: FormText = "",
) -> Response:
    form = registration.Registration(
        first_name=first_name,
        last_name=last_name,
        email=None,
        password=password,
        organization_name=None,
        invite_code=code,
    )
    try:
        _user, new = registration.register(runtime, session, form)
    except LightkeeperError as error:
        session.rollback()
        context = _invite_context(session, code)
        return render(
            request,
            "invite.html",
            {
                **context,
                "code": code,
                "form": {"firstName": first_name, "lastName": last_name},
                "error": error_message(error),
                "error_fields": _fields(error),
            },
            status=error.status_code,
            anonymous=True,
        )
    response = redirect("/generalSettings")
    set_session_cookie(request, response, runtime, new)
    return response


# -- login and logout ---------------------------------------------------------------------


@router.get("/login")
def login_page(
    request: Request, principal: OptionalUser, session: SessionDep, next: str | None = None
) -> Response:
    if principal is not None:
        return redirect(safe_next(next), status=302)
    if not _organization_exists(session):
        return redirect("/register", status=302)
    return render(
        request, "login.html", {"email": "", "next": safe_next(next)}, anonymous=True
    )


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
        session.rollback()
        response = render(
            request,
            "login.html",
            {"email": email, "next": safe_next(next), "error": error_message(error)},
            status=error.status_code,
            anonymous=True,
        )
        for name, value in error.headers.items():
            response.headers[name] = value
        return response
    response = redirect(safe_next(next))
    set_session_cookie(request, response, runtime, new)
    return response


@router.post("/logout")
def logout(
    request: Request, _csrf: Csrf, runtime: RuntimeDep, session: SessionDep
) -> Response:
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


# -- settings home and password ----------------------------------------------------------


@router.get("/generalSettings")
def settings_home(principal: SignedIn, runtime: RuntimeDep) -> Response:
    return redirect(menu(runtime, principal)[0].href, status=302)


@router.get("/generalSettings/password")
def password_page(request: Request, principal: SignedIn) -> Response:
    return render(request, "password.html", {"error_fields": set()}, active="password")


@router.post("/generalSettings/password")
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
        return render(
            request,
            "password.html",
            {"error": PASSWORDS_DIFFER, "error_fields": {"confirmPassword"}},
            status=400,
            active="password",
        )
    try:
        sessions.change_password(
            runtime, session, principal, current_password, new_password
        )
    except LightkeeperError as error:
        session.rollback()
        return render(
            request,
            "password.html",
            {"error": error_message(error), "error_fields": _fields(error)},
            status=error.status_code,
            active="password",
        )
    return redirect("/generalSettings/password?notice=password_changed")
