"""Wire models of the organization domain: the organization, its member list, its project list."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from lightkeeper.kit.schemas import CamelModel, UTCTime
from lightkeeper.membership.schemas import MemberOut
from lightkeeper.project.schemas import ProjectOut


class OrganizationOut(CamelModel):
    organization_uuid: str
    name: str
    default_role: str
    created_at: UTCTime


class OrganizationUpdate(CamelModel):
    """`PATCH /api/v1/org`: absent fields stay as they are."""

    name: str | None = None
    default_role: str | None = None


class Pagination(CamelModel):
    page: int
    page_size: int
    total_page_count: int
    total_results: int


class MemberPage(CamelModel):
    data: list[MemberOut]
    pagination: Pagination


class ProjectSummaryOut(CamelModel):
    """Lightdash's `OrganizationProject`, plus `createdAt`.

    Documents `GET /api/v1/org/projects` in OpenAPI; the list itself is written
    without this model (`organization.endpoints.organization_project`).
    """

    project_uuid: str
    name: str
    type: Literal["DEFAULT", "PREVIEW"]
    upstream_project_uuid: str | None
    created_by_user_uuid: str | None
    created_at: UTCTime
    require_user_credentials: bool
    warehouse_type: Literal["bigquery", "databricks", "postgres", "redshift", "snowflake", "trino"]


class ProjectCreate(CamelModel):
    """`POST /api/v1/org/projects`. Identity fields (organizationUuid, createdBy…) are not read."""

    name: str
    type: Literal["DEFAULT", "PREVIEW"] = "DEFAULT"
    upstream_project_uuid: UUID | None = None
    warehouse_connection: dict[str, Any] | None = None
    # Lightdash's CreateProjectOptionalCredentials: dbtConnection, dbtVersion, … are accepted
    # and not stored (Lightkeeper runs no dbt).
    copy_content: bool | None = None
    async_copy_content: bool | None = None
    expires_in_hours: Annotated[float, Field(gt=0, le=87_600)] | None = None


class ProjectCreatedOut(CamelModel):
    """Lightdash's `ApiCreateProjectResults`."""

    project: ProjectOut
    has_content_copy: bool
    content_copy_job_uuid: str | None = Field(default=None, exclude_if=lambda v: v is None)


__all__ = [
    "MemberOut",
    "MemberPage",
    "OrganizationOut",
    "OrganizationUpdate",
    "Pagination",
    "ProjectCreate",
    "ProjectCreatedOut",
    "ProjectOut",
    "ProjectSummaryOut",
]
