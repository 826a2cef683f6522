"""Custom roles (Enterprise), Lightdash's v2 API: the role catalogue and its holders.

Assignments (`…/roles/assignments/user/{userUuid}`) are membership routes: `membership/endpoints.py`.

Every route authenticates first (401), then checks the Enterprise gate (403
naming `LIGHTDASH_LICENSE_KEY` / `CUSTOM_ROLES_ENABLED`), then the rules.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query

from lightkeeper.deps import RequestRoute, SessionDep
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.roles import service
from lightkeeper.roles.dependencies import RolesPrincipal
from lightkeeper.roles.schemas import (
    AssigneeOut,
    RoleCreate,
    RoleOut,
    RoleUpdate,
    ScopeOut,
)

router = APIRouter(tags=["Roles"], route_class=RequestRoute)


OrgUuid = Annotated[UUID, Path(alias="orgUuid")]
RoleUuid = Annotated[
    str,
    Path(alias="roleUuid", description="A custom role's roleUuid (or a system role name, for GET)"),
]

ORG_ROLES = "/api/v2/orgs/{orgUuid}/roles"


@router.get(f"{ORG_ROLES}/scopes", response_model=Envelope[list[ScopeOut]])
def list_scopes(org_uuid: OrgUuid, principal: RolesPrincipal) -> dict[str, Any]:
    """The scope vocabulary: name, description, group and level of every scope."""
    return ok(service.list_scopes(principal, str(org_uuid)))


@router.get(ORG_ROLES, response_model=Envelope[list[RoleOut]])
def list_roles(
    org_uuid: OrgUuid,
    principal: RolesPrincipal,
    session: SessionDep,
    role_type_filter: Annotated[str | None, Query(alias="roleTypeFilter")] = None,
    load: Annotated[
        str | None,
        Query(description="Accepted for Lightdash compatibility; scopes are always loaded"),
    ] = None,
) -> dict[str, Any]:
    """System roles, then the organization's custom roles (`roleTypeFilter=user|system` narrows)."""
    return ok(service.list_roles(session, principal, str(org_uuid), role_type_filter))


@router.post(ORG_ROLES, response_model=Envelope[RoleOut], status_code=201)
def create_role(
    org_uuid: OrgUuid, body: RoleCreate, principal: RolesPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.create_role(session, principal, str(org_uuid), body))


@router.get(f"{ORG_ROLES}/{{roleUuid}}", response_model=Envelope[RoleOut])
def get_role(
    org_uuid: OrgUuid, role_uuid: RoleUuid, principal: RolesPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.get_role(session, principal, str(org_uuid), role_uuid))


@router.patch(f"{ORG_ROLES}/{{roleUuid}}", response_model=Envelope[RoleOut])
def update_role(
    org_uuid: OrgUuid,
    role_uuid: RoleUuid,
    body: RoleUpdate,
    principal: RolesPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """`scopes` is the complete new list, or Lightdash's `{"add": [...], "remove": [...]}`."""
    return ok(service.update_role(session, principal, str(org_uuid), role_uuid, body))


@router.delete(f"{ORG_ROLES}/{{roleUuid}}", response_model=OkResponse)
def delete_role(
    org_uuid: OrgUuid, role_uuid: RoleUuid, principal: RolesPrincipal, session: SessionDep
) -> dict[str, Any]:
    """409 while the role is assigned anywhere (the message says where)."""
    service.delete_role(session, principal, str(org_uuid), role_uuid)
    return ok()


@router.get(f"{ORG_ROLES}/{{roleUuid}}/assignees", response_model=Envelope[list[AssigneeOut]])
def list_assignees(
    org_uuid: OrgUuid, role_uuid: RoleUuid, principal: RolesPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Every person (org level), service account and project membership holding the role."""
    return ok(service.list_assignees(session, principal, str(org_uuid), role_uuid))
