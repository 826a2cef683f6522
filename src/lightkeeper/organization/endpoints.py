"""The organization's API: settings, the member list, and its project list, creation and deletion.

Changing a member's role and removing a member are membership routes (`membership/endpoints.py`).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep, reads_of
from lightkeeper.kit.params import whole_number
from lightkeeper.kit.schemas import WIRE_VALUES, Envelope, OkResponse, ok, ok_response
from lightkeeper.models import Organization
from lightkeeper.organization import repository, service
from lightkeeper.organization.schemas import (
    MemberOut,
    MemberPage,
    OrganizationOut,
    OrganizationUpdate,
    ProjectCreate,
    ProjectCreatedOut,
    ProjectSummaryOut,
)
from lightkeeper.project import service as project_service
from lightkeeper.warehouse.connection import LIGHTDASH_WAREHOUSE_TYPE

router = APIRouter(prefix="/api/v1/org", tags=["organization"], route_class=RequestRoute)

ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]


def _organization_out(organization: Organization) -> OrganizationOut:
    return OrganizationOut(
        organization_uuid=organization.uuid,
        name=organization.name,
        default_role=organization.default_role,
        created_at=organization.created_at,
    )


@router.get("", response_model=Envelope[OrganizationOut])
def get_organization(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return ok(_organization_out(service.get_organization(session, principal)))


@router.patch("", response_model=Envelope[OrganizationOut])
def update_organization(
    body: OrganizationUpdate, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(_organization_out(service.update_organization(session, principal, body)))


MAX_GROUPS = 1_000_000_000  # Lightdash's web app asks 10000


@router.get("/users", response_model=Envelope[MemberPage])
def list_members(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[str | None, Query(description="1-based page; without it, every member")] = None,
    page_size: Annotated[
        str | None, Query(alias="pageSize", description="1 to 1000, default 100")
    ] = None,
    search_query: Annotated[str | None, Query(alias="searchQuery")] = None,
    include_groups: Annotated[
        str | None,
        Query(alias="includeGroups", description="up to this many of each member's groups"),
    ] = None,
) -> dict[str, Any]:
    """Members of the organization as `{data, pagination}`: all of them, or the page asked for."""
    page_request = service.parse_page(page, page_size)
    groups = whole_number(include_groups, "includeGroups", minimum=0, maximum=MAX_GROUPS)
    return ok(service.list_members(session, principal, page_request, search_query, groups))


UserUuid = Annotated[UUID, Path(alias="userUuid")]


@router.get("/users/{userUuid}", response_model=Envelope[MemberOut])
def get_member(
    user_uuid: UserUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """One member of the organization (Lightdash's `OrganizationMemberProfile`)."""
    return ok(service.get_member(session, principal, str(user_uuid)))


@router.get("/projects/", response_model=Envelope[list[ProjectSummaryOut]], include_in_schema=False)
@router.get("/projects", response_model=Envelope[list[ProjectSummaryOut]])
async def list_projects(request: Request, principal: CurrentPrincipal) -> Response:
    """Lightdash's `OrganizationProject[]` (with `createdAt`): the projects the caller can view."""
    rows = await service.read_projects(reads_of(request), principal)
    return ok_response(WIRE_VALUES, [organization_project(row) for row in rows])


def organization_project(row: repository.ProjectListRow) -> dict[str, Any]:
    """One `ProjectSummaryOut` in wire shape, written without the model (the list is hot).

    Lightkeeper runs no per-user warehouse credentials, and `warehouseType` is
    Lightdash's vocabulary (`LIGHTDASH_WAREHOUSE_TYPE`).
    """
    return {
        "projectUuid": row.uuid,
        "name": row.name,
        "type": row.type,
        "upstreamProjectUuid": row.upstream_project_uuid,
        "createdByUserUuid": row.created_by_user_uuid,
        "createdAt": row.created_at,
        "requireUserCredentials": False,
        "warehouseType": LIGHTDASH_WAREHOUSE_TYPE,
    }


@router.post(
    "/projects",
    response_model=Envelope[ProjectCreatedOut],
)
def create_project(
    body: ProjectCreate, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Lightdash's `{project, hasContentCopy, contentCopyJobUuid?}`."""
    created = service.create_project(runtime, session, principal, body)
    return ok(
        ProjectCreatedOut(
            project=project_service.project_out(runtime, created.project),
            has_content_copy=created.has_content_copy,
            content_copy_job_uuid=created.content_copy_job_uuid,
        )
    )


@router.delete("/projects/{projectUuid}", response_model=OkResponse)
def delete_project(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    service.delete_project(session, principal, str(project_uuid))
    return ok()
