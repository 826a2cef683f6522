"""The registration route: POST /api/v1/user (first organization, or with an invite)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from lightkeeper.deps import RequestRoute, RuntimeDep, SessionDep
from lightkeeper.identity import sessions
from lightkeeper.identity.endpoints import set_session_cookie
from lightkeeper.identity.schemas import RegisterRequest, UserOut
from lightkeeper.kit.schemas import Envelope, ok
from lightkeeper.registration import service as registration

router = APIRouter(tags=["Identity"], route_class=RequestRoute)

_PUBLIC: dict[str, Any] = {"security": []}


@router.post("/api/v1/user", response_model=Envelope[UserOut], openapi_extra=_PUBLIC)
def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Register: the first organization and its admin, or later a person with an invite."""
    form = registration.Registration(
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        password=body.password,
        organization_name=body.organization_name,
        invite_code=body.invite_code,
    )
    user, new = registration.register(runtime, session, form)
    set_session_cookie(request, response, runtime, new)
    return ok(UserOut.of(sessions.session_principal(runtime, session, user, new)))
