"""Who holds which role where, through three families of routes that share one service:

- v1 organization members: `PATCH /api/v1/org/users/{userUuid}`, `DELETE /api/v1/org/user/{userUuid}`;
- v1 project members: `GET|POST /api/v1/projects/{p}/access`, `PATCH|DELETE …/access/{userUuid}`;
- v2 role assignments (Enterprise gate first): `POST|DELETE
  /api/v2/orgs/{orgUuid}/roles/assignments/user/{userUuid}` and `POST|DELETE
  /api/v2/projects/{projectUuid}/roles/assignments/user/{userUuid}`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path

from lightkeeper.deps import CurrentPrincipal, RequestRoute, SessionDep, SettingsDep
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.membership import service
from lightkeeper.membership.schemas import (
    MemberOut,
    MemberRoleUpdate,
    ProjectMemberCreate,
    ProjectMemberOut,
    ProjectMemberUpdate,
    RoleAssignmentOut,
    RoleAssignmentRequest,
)
from lightkeeper.roles.dependencies import RolesPrincipal

router = APIRouter(route_class=RequestRoute)

OrgUuid = Annotated[UUID, Path(alias="orgUuid")]
ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
UserUuid = Annotated[UUID, Path(alias="userUuid")]
AssignmentBody = Annotated[RoleAssignmentRequest, Body()]

# The OpenAPI tags the routes had in their former packages, so the published document is unchanged.
ORG: list[str | Enum] = ["organization"]
PROJECTS: list[str | Enum] = ["projects"]
ROLES: list[str | Enum] = ["Roles"]

# -- v1: organization members ------------------------------------------------------------


@router.patch("/api/v1/org/users/{userUuid}", response_model=Envelope[MemberOut], tags=ORG)
def change_member_role(
    user_uuid: UserUuid,
    body: MemberRoleUpdate,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    user = service.change_member_role(settings, session, principal, str(user_uuid), body.role)
    return ok(service.member_out(user))


@router.delete("/api/v1/org/user/{userUuid}", response_model=OkResponse, tags=ORG)
def remove_member(
    user_uuid: UserUuid, principal: CurrentPrincipal, settings: SettingsDep, session: SessionDep
) -> dict[str, Any]:
    service.remove_member(settings, session, principal, str(user_uuid))
    return ok()


# -- v1: project members -----------------------------------------------------------------

ACCESS = "/api/v1/projects/{projectUuid}/access"


@router.get(ACCESS, response_model=Envelope[list[ProjectMemberOut]], tags=PROJECTS)
def list_project_members(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.list_project_members(session, principal, str(project_uuid)))


@router.get(
    "/api/v1/projects/{projectUuid}/user/{userUuid}",
    response_model=Envelope[ProjectMemberOut],
    tags=PROJECTS,
)
def get_project_member(
    project_uuid: ProjectUuid, user_uuid: UserUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """One person's explicit membership of the project (Lightdash's `ProjectMemberProfile`)."""
    return ok(service.get_project_member(session, principal, str(project_uuid), str(user_uuid)))


@router.post(ACCESS, response_model=Envelope[ProjectMemberOut], tags=PROJECTS)
def add_project_member(
    project_uuid: ProjectUuid,
    body: ProjectMemberCreate,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    membership, user = service.add_project_member(
        settings, session, principal, str(project_uuid), body
    )
    return ok(service.project_member_out(membership, user))


@router.patch(ACCESS + "/{userUuid}", response_model=Envelope[ProjectMemberOut], tags=PROJECTS)
def change_project_member_role(
    project_uuid: ProjectUuid,
    user_uuid: UserUuid,
    body: ProjectMemberUpdate,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    membership, user = service.change_project_member_role(
        settings, session, principal, str(project_uuid), str(user_uuid), body.role
    )
    return ok(service.project_member_out(membership, user))


@router.delete(ACCESS + "/{userUuid}", response_model=OkResponse, tags=PROJECTS)
def remove_project_member(
    project_uuid: ProjectUuid,
    user_uuid: UserUuid,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    service.remove_project_member(settings, session, principal, str(project_uuid), str(user_uuid))
    return ok()


# -- v2: role assignments ----------------------------------------------------------------

ORG_ASSIGNMENT = "/api/v2/orgs/{orgUuid}/roles/assignments/user/{userUuid}"
PROJECT_ASSIGNMENT = "/api/v2/projects/{projectUuid}/roles/assignments/user/{userUuid}"


@router.post(ORG_ASSIGNMENT, response_model=Envelope[RoleAssignmentOut], tags=ROLES)
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


@router.delete(ORG_ASSIGNMENT, response_model=OkResponse, tags=ROLES)
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


@router.post(PROJECT_ASSIGNMENT, response_model=Envelope[RoleAssignmentOut], tags=ROLES)
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


@router.delete(PROJECT_ASSIGNMENT, response_model=OkResponse, tags=ROLES)
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
