"""Groups, with Lightdash's routes:

- `GET|POST /api/v1/org/groups`; `GET|PATCH|DELETE /api/v1/groups/{groupUuid}`;
- members: `GET /api/v1/groups/{g}/members`, `PUT|DELETE /api/v1/groups/{g}/members/{userUuid}`;
- project access: `POST|PUT|PATCH|DELETE /api/v1/groups/{g}/projects/{projectUuid}` (`{role}`),
  `GET /api/v1/projects/{projectUuid}/groupAccesses`; v2 (Enterprise gate first):
  `GET /api/v2/projects/{p}/roles/assignments` (people and groups),
  `POST|PATCH|DELETE …/roles/assignments/group/{g}` (`{roleId}`: a system or custom role);
- space shares: `POST /api/v1/projects/{p}/spaces/{s}/group/share` (`{groupUuid, spaceRole}`),
  `DELETE …/group/share/{groupUuid}`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query

from lightkeeper.content.schemas import SpaceOut
from lightkeeper.deps import CurrentPrincipal, RequestRoute, SessionDep
from lightkeeper.groups import service
from lightkeeper.groups.schemas import (
    GroupCreate,
    GroupMemberOut,
    GroupOut,
    GroupPage,
    GroupUpdate,
    GroupWithMembersOut,
    ProjectGroupAccessIn,
    ProjectGroupAccessOut,
    SpaceGroupShareIn,
)
from lightkeeper.kit.params import whole_number
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.membership.schemas import RoleAssignmentOut, RoleAssignmentRequest
from lightkeeper.roles.dependencies import RolesPrincipal

router = APIRouter(route_class=RequestRoute)

GroupUuid = Annotated[UUID, Path(alias="groupUuid")]
UserUuid = Annotated[UUID, Path(alias="userUuid")]
ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
SpaceUuid = Annotated[UUID, Path(alias="spaceUuid")]
GROUPS: list[str | Enum] = ["User groups"]
GROUP = "/api/v1/groups/{groupUuid}"


@router.get("/api/v1/org/groups", response_model=Envelope[GroupPage], tags=GROUPS)
def list_groups(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[str | None, Query(description="1-based page; without it, every group")] = None,
    page_size: Annotated[
        str | None, Query(alias="pageSize", description="1 to 1000, default 100")
    ] = None,
    include_members: Annotated[
        str | None, Query(alias="includeMembers", description="present: list each group's members")
    ] = None,
    search_query: Annotated[str | None, Query(alias="searchQuery")] = None,
) -> dict[str, Any]:
    """The organization's groups, always as `{data, pagination}`."""
    request = service.parse_list_request(page, page_size, include_members, search_query)
    return ok(service.list_groups(session, principal, request))


@router.post("/api/v1/org/groups", response_model=Envelope[GroupWithMembersOut], tags=GROUPS)
def create_group(
    body: GroupCreate, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.create_group(session, principal, body))


@router.get(GROUP, response_model=Envelope[GroupWithMembersOut | GroupOut], tags=GROUPS)
def get_group(
    group_uuid: GroupUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
    include_members: Annotated[
        str | None,
        Query(alias="includeMembers", description="how many members to include (none without it)"),
    ] = None,
    offset: Annotated[str | None, Query(description="members to skip first")] = None,
) -> dict[str, Any]:
    count = whole_number(include_members, "includeMembers", minimum=0, maximum=service.MAX_COUNT)
    skip = whole_number(offset, "offset", minimum=0, maximum=service.MAX_COUNT) or 0
    return ok(service.get_group(session, principal, str(group_uuid), count, skip))


@router.patch(GROUP, response_model=Envelope[GroupWithMembersOut], tags=GROUPS)
def update_group(
    group_uuid: GroupUuid, body: GroupUpdate, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.update_group(session, principal, str(group_uuid), body))


@router.delete(GROUP, response_model=OkResponse, tags=GROUPS)
def delete_group(
    group_uuid: GroupUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    service.delete_group(session, principal, str(group_uuid))
    return ok()


# -- members ---------------------------------------------------------------------------------


@router.get(GROUP + "/members", response_model=Envelope[list[GroupMemberOut]], tags=GROUPS)
def list_members(
    group_uuid: GroupUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.list_members(session, principal, str(group_uuid)))


@router.put(GROUP + "/members/{userUuid}", response_model=OkResponse, tags=GROUPS)
def add_member(
    group_uuid: GroupUuid, user_uuid: UserUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    service.add_member(session, principal, str(group_uuid), str(user_uuid))
    return ok()


@router.delete(GROUP + "/members/{userUuid}", response_model=OkResponse, tags=GROUPS)
def remove_member(
    group_uuid: GroupUuid, user_uuid: UserUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    service.remove_member(session, principal, str(group_uuid), str(user_uuid))
    return ok()


# -- project access ------------------------------------------------------------------------

GROUP_PROJECT = GROUP + "/projects/{projectUuid}"


@router.post(GROUP_PROJECT, response_model=Envelope[ProjectGroupAccessOut], tags=GROUPS)
def add_project_access(
    group_uuid: GroupUuid,
    project_uuid: ProjectUuid,
    body: ProjectGroupAccessIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    row = service.set_project_access(
        session, principal, str(group_uuid), str(project_uuid), body.role, existing="refuse"
    )
    return ok(service.project_access_out(row))


@router.put(GROUP_PROJECT, response_model=Envelope[ProjectGroupAccessOut], tags=GROUPS)
def put_project_access(
    group_uuid: GroupUuid,
    project_uuid: ProjectUuid,
    body: ProjectGroupAccessIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Give or replace the group's role on the project (the PUT of newer Lightdash versions)."""
    row = service.set_project_access(
        session, principal, str(group_uuid), str(project_uuid), body.role, existing="replace"
    )
    return ok(service.project_access_out(row))


@router.patch(GROUP_PROJECT, response_model=Envelope[ProjectGroupAccessOut], tags=GROUPS)
def update_project_access(
    group_uuid: GroupUuid,
    project_uuid: ProjectUuid,
    body: ProjectGroupAccessIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    row = service.set_project_access(
        session, principal, str(group_uuid), str(project_uuid), body.role, existing="require"
    )
    return ok(service.project_access_out(row))


@router.delete(GROUP_PROJECT, response_model=OkResponse, tags=GROUPS)
def remove_project_access(
    group_uuid: GroupUuid,
    project_uuid: ProjectUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    service.remove_project_access(session, principal, str(group_uuid), str(project_uuid))
    return ok()


@router.get(
    "/api/v1/projects/{projectUuid}/groupAccesses",
    response_model=Envelope[list[ProjectGroupAccessOut]],
    tags=["projects"],
)
def list_project_group_accesses(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.list_project_group_accesses(session, principal, str(project_uuid)))


# -- v2: role assignments of a group (the custom-roles gate first, as for people) ------------

PROJECT_ASSIGNMENTS = "/api/v2/projects/{projectUuid}/roles/assignments"
GROUP_ASSIGNMENT = PROJECT_ASSIGNMENTS + "/group/{groupUuid}"


@router.get(PROJECT_ASSIGNMENTS, response_model=Envelope[list[RoleAssignmentOut]], tags=["Roles"])
def list_project_role_assignments(
    project_uuid: ProjectUuid, principal: RolesPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Every role given on the project: people's memberships, then groups' accesses."""
    return ok(service.list_project_assignments(session, principal, str(project_uuid)))


@router.post(GROUP_ASSIGNMENT, response_model=Envelope[RoleAssignmentOut], tags=["Roles"])
def assign_project_role_to_group(
    project_uuid: ProjectUuid,
    group_uuid: GroupUuid,
    body: RoleAssignmentRequest,
    principal: RolesPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """A group's project role (created or replaced): `{"roleId": "<project role or roleUuid>"}`."""
    return ok(
        service.assign_project_role(
            session, principal, str(project_uuid), str(group_uuid), body.role_id
        )
    )


@router.patch(GROUP_ASSIGNMENT, response_model=Envelope[RoleAssignmentOut], tags=["Roles"])
def update_project_role_of_group(
    project_uuid: ProjectUuid,
    group_uuid: GroupUuid,
    body: RoleAssignmentRequest,
    principal: RolesPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Change the group's role on the project (404 when it has none)."""
    return ok(
        service.assign_project_role(
            session, principal, str(project_uuid), str(group_uuid), body.role_id, existing="require"
        )
    )


@router.delete(GROUP_ASSIGNMENT, response_model=OkResponse, tags=["Roles"])
def unassign_project_role_from_group(
    project_uuid: ProjectUuid, group_uuid: GroupUuid, principal: RolesPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Take the group's role on the project away."""
    service.remove_project_access(session, principal, str(group_uuid), str(project_uuid))
    return ok()


# -- space shares -------------------------------------------------------------------------

SPACE_GROUP_SHARE = "/api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share"


@router.post(SPACE_GROUP_SHARE, response_model=Envelope[SpaceOut], tags=["content"])
def share_space_with_group(
    project_uuid: ProjectUuid,
    space_uuid: SpaceUuid,
    body: SpaceGroupShareIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    return ok(service.share_space(session, principal, str(project_uuid), str(space_uuid), body))


@router.delete(SPACE_GROUP_SHARE + "/{groupUuid}", response_model=OkResponse, tags=["content"])
def unshare_space_with_group(
    project_uuid: ProjectUuid,
    space_uuid: SpaceUuid,
    group_uuid: GroupUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    service.unshare_space(session, principal, str(project_uuid), str(space_uuid), str(group_uuid))
    return ok()
