"""`/generalSettings/users`: members and their org role; change role, remove, invite links;
groups and their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import ORG_ROLES, ROLE_LABELS
from lightkeeper.authz.access import allows_org
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.groups import service as groups_service
from lightkeeper.groups.schemas import GroupCreate
from lightkeeper.invite import service as invite_service
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.membership import service as membership_service
from lightkeeper.organization import service as organization_service
from lightkeeper.runtime import Runtime
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    Csrf,
    Failure,
    FormProblem,
    PageRoute,
    SignedIn,
    redirect,
    render,
    render_failure,
)
from lightkeeper.web.forms import FormText, page_uuid

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/users"


def _users_page(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    failure: Failure | None = None,
    new_invite: dict[str, Any] | None = None,
) -> Response:
    members = organization_service.list_members(session, principal, None).data
    can_invite = allows_org(principal, "manage", "InviteLink")
    invites = invite_service.list_invites(session, principal) if can_invite else []
    organization = organization_service.get_organization(session, principal)
    every_group = groups_service.GroupListRequest(
        page=None, page_size=groups_service.DEFAULT_PAGE_SIZE, include_members=True, search=None
    )
    return render(
        request,
        "users.html",
        {
            "members": members,
            "can_manage": allows_org(principal, "manage", "OrganizationMemberProfile"),
            "can_invite": can_invite,
            "invites": [(i, invite_service.invite_url(runtime, i)) for i in invites],
            "roles": [(r, ROLE_LABELS[r]) for r in ORG_ROLES],
            "default_role": organization.default_role,
            "new_invite": new_invite,
            "can_view_groups": allows_org(principal, "view", "Group"),
            "can_manage_groups": allows_org(principal, "manage", "Group"),
            "groups": groups_service.list_groups(session, principal, every_group).data,
            "error": failure.message if failure else None,
        },
        status=failure.status if failure else 200,
        active="users",
    )


def _failed(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    error: LightkeeperError | FormProblem,
) -> Response:
    return render_failure(
        request,
        session,
        lambda failure: _users_page(request, runtime, session, principal, failure),
        error,
    )


@router.get(PAGE)
def users_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _users_page(request, runtime, session, principal)


@router.post(PAGE + "/{user_uuid}/role")
def change_member_role(
    request: Request,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    role: FormText = "",
) -> Response:
    try:
        membership_service.change_member_role(runtime.settings, session, principal, user_uuid, role)
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=role_changed")


@router.post(PAGE + "/{user_uuid}/remove")
def remove_member(
    request: Request,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        membership_service.remove_member(runtime.settings, session, principal, user_uuid)
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=member_removed")


@router.post(PAGE + "/invites")
def create_invite(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    email: FormText = "",
    role: FormText = "",
) -> Response:
    try:
        invite = invite_service.create_invite(
            runtime, session, principal, email=email, role=role or None, expires_at=None
        )
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    new_invite = {
        "email": invite.email,
        "role": invite.role,
        "url": invite_service.invite_url(runtime, invite),
        "expires_at": invite.expires_at,
    }
    return _users_page(request, runtime, session, principal, new_invite=new_invite)


@router.post(PAGE + "/invites/{code}/delete")
def delete_invite(
    request: Request,
    code: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        invite_service.delete_invite(session, principal, code)
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=invite_deleted")


# -- groups ----------------------------------------------------------------------------------


@router.post(PAGE + "/groups")
def create_group(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    name: FormText = "",
) -> Response:
    try:
        name = name.strip()
        if not name or len(name) > 255:
            raise FormProblem("Give the group a name of 1 to 255 characters", "name")
        groups_service.create_group(session, principal, GroupCreate(name=name))
    except (LightkeeperError, FormProblem) as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=group_created")


@router.post(PAGE + "/groups/{group_uuid}/members")
def add_group_member(
    request: Request,
    group_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    user_uuid: FormText = "",
) -> Response:
    try:
        groups_service.add_member(
            session, principal, page_uuid(group_uuid, "Group"), page_uuid(user_uuid, "User")
        )
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=group_member_added")


@router.post(PAGE + "/groups/{group_uuid}/members/{user_uuid}/remove")
def remove_group_member(
    request: Request,
    group_uuid: str,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        groups_service.remove_member(
            session, principal, page_uuid(group_uuid, "Group"), page_uuid(user_uuid, "User")
        )
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=group_member_removed")


@router.post(PAGE + "/groups/{group_uuid}/delete")
def delete_group(
    request: Request,
    group_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        groups_service.delete_group(session, principal, page_uuid(group_uuid, "Group"))
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    return redirect(PAGE + "?notice=group_deleted")
