"""Invite-link routes: `/api/v1/invite-links` (needs manage:InviteLink)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep
from lightkeeper.invite import service
from lightkeeper.invite.schemas import InviteCreate, InviteOut
from lightkeeper.kit.schemas import Envelope, OkResponse, ok

router = APIRouter(tags=["Identity"], route_class=RequestRoute)

InviteCode = Annotated[str, Path(alias="inviteCode")]


@router.post("/api/v1/invite-links", response_model=Envelope[InviteOut])
def create_invite(
    body: InviteCreate, principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Invite a person; the link lets them register with the invite's email and role."""
    invite = service.create_invite(
        runtime, session, principal, email=body.email, role=body.role, expires_at=body.expires_at
    )
    return ok(InviteOut.of(invite, service.invite_url(runtime, invite)))


@router.get("/api/v1/invite-links", response_model=Envelope[list[InviteOut]])
def list_invites(
    principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The organization's open invites."""
    invites = service.list_invites(session, principal)
    return ok([InviteOut.of(i, service.invite_url(runtime, i)) for i in invites])


@router.delete(
    "/api/v1/invite-links/{inviteCode}",
    response_model=OkResponse,
    response_model_exclude_none=True,
)
def delete_invite(
    invite_code: InviteCode, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Withdraw an invite."""
    service.delete_invite(session, principal, invite_code)
    return {"status": "ok"}
