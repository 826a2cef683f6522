"""Custom roles (Enterprise), Lightdash's v2 API: the role catalogue, holders and assignments.

Every route authenticates first (401), then checks the Enterprise gate (403
naming `LIGHTDASH_LICENSE_KEY` / `CUSTOM_ROLES_ENABLED`), then the rules.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query

from lightkeeper.auth.dependencies import CurrentPrincipal
from lightkeeper.auth.principal import Principal
from lightkeeper.deps import RequestRoute, SessionDep, SettingsDep
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.roles import service
from lightkeeper.roles.schemas import (
    AssigneeOut,
    RoleAssignmentOut,
    RoleAssignmentRequest,
    RoleCreate,
    RoleOut,
    RoleUpdate,
    ScopeOut,
)

router = APIRouter(tags=["Roles"], route_class=RequestRoute)


async def _custom_roles_principal(principal: CurrentPrincipal, settings: SettingsDep) -> Principal:
    """Authenticated first (401), then the Enterprise gate (403)."""
    service.require_enabled(settings)
    return principal


RolesPrincipal = Annotated[Principal, Depends(_custom_roles_principal)]
OrgUuid = Annotated[UUID, Path(alias="orgUuid")]
RoleUuid = Annotated[
    str,
    Path(alias="roleUuid", description="A custom role's roleUuid (or a system role name, for GET)"),
]
UserUuid = Annotated[UUID, Path(alias="userUuid")]
ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
AssignmentBody = Annotated[RoleAssignmentRequest, Body()]

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


@router.post(
    f"{ORG_ROLES}/assignments/user/{{userUuid}}", response_model=Envelope[RoleAssignmentOut]
)
def assign_organization_role(
    org_uuid: OrgUuid,
    user_uuid: UserUuid,
    body: AssignmentBody,
    principal: RolesPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Organization-level role: `{"roleId": "<system role name or custom roleUuid>"}`."""
    return ok(
        service.assign_organization_role(
            settings, session, principal, str(org_uuid), str(user_uuid), body.role_id
        )
    )


@router.delete(f"{ORG_ROLES}/assignments/user/{{userUuid}}", response_model=OkResponse)
def unassign_organization_role(
    org_uuid: OrgUuid,
    user_uuid: UserUuid,
    principal: RolesPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Remove the person's organization-level custom role (their system role stays)."""
    service.unassign_organization_role(settings, session, principal, str(org_uuid), str(user_uuid))
    return ok()


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


PROJECT_ASSIGNMENT = "/api/v2/projects/{projectUuid}/roles/assignments/user/{userUuid}"


@router.post(PROJECT_ASSIGNMENT, response_model=Envelope[RoleAssignmentOut])
def assign_project_role(
    project_uuid: ProjectUuid,
    user_uuid: UserUuid,
    body: AssignmentBody,
    principal: RolesPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Project-level role (creates or replaces the membership): `{"roleId": ...}`."""
    return ok(
        service.assign_project_role(
            settings, session, principal, str(project_uuid), str(user_uuid), body.role_id
        )
    )


@router.delete(PROJECT_ASSIGNMENT, response_model=OkResponse)
def unassign_project_role(
    project_uuid: ProjectUuid,
    user_uuid: UserUuid,
    principal: RolesPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Remove the person's membership of the project."""
    service.unassign_project_role(settings, session, principal, str(project_uuid), str(user_uuid))
    return ok()
