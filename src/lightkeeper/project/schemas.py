"""Wire models of one project: settings, explores."""

from __future__ import annotations

from typing import Any

from lightkeeper.kit.schemas import CamelModel, UTCTime


class ProjectOut(CamelModel):
    """A project; its warehouse connection never carries secrets on the way out."""

    project_uuid: str
    organization_uuid: str
    name: str
    type: str
    upstream_project_uuid: str | None
    created_by_user_uuid: str | None
    created_at: UTCTime
    warehouse_connection: dict[str, Any] | None


class ProjectUpdate(CamelModel):
    """`PATCH /api/v1/projects/{p}`: absent fields stay as they are."""

    name: str | None = None
    warehouse_connection: dict[str, Any] | None = None


class ExploreSummaryOut(CamelModel):
    name: str
    label: str
    tags: list[str]
    group_label: str | None = None
    database_name: str | None = None
    schema_name: str | None = None
    description: str | None = None


class ExploresDeployed(CamelModel):
    explores: int
