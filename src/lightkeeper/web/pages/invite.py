"""`/invite/{code}`: a person invited by an admin chooses a name and password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.identity.endpoints import set_session_cookie
from lightkeeper.invite import service as invite_service
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.registration import service as registration
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    AnonymousCsrf,
    Failure,
    PageRoute,
    redirect,
    render,
    render_failure,
)
from lightkeeper.web.forms import FormText

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

INVITE_NOT_VALID = (
    "This invite link is not valid: ask an administrator of your organization for a new one."
)
INVITE_EXPIRED = (
    "This invite link has expired: ask an administrator of your organization for a new one."
)


def _invite_page(
    request: Request,
    session: Session,
    code: str,
    form: dict[str, str] | None = None,
    failure: Failure | None = None,
) -> Response:
    found = invite_service.look_up_invite(session, code)
    problem = None
    if found.invite is None:
        problem = INVITE_EXPIRED if found.expired else INVITE_NOT_VALID
    status = failure.status if failure else 200 if found.invite is not None else 404
    return render(
        request,
        "invite.html",
        {
            "invite": found.invite,
            "organization_name": found.organization_name,
            "problem": problem,
            "code": code,
            "form": form or {},
            "error": failure.message if failure else None,
            "error_fields": failure.fields if failure else (),
        },
        status=status,
        anonymous=True,
    )


@router.get("/invite/{code}")
def invite_page(request: Request, code: str, session: SessionDep) -> Response:
    return _invite_page(request, session, code)


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
        values = {"firstName": first_name, "lastName": last_name}
        return render_failure(
            request,
            session,
            lambda failure: _invite_page(request, session, code, values, failure),
            error,
        )
    response = redirect("/generalSettings")
    set_session_cookie(request, response, runtime, new)
    return response
