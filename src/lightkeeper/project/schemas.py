"""Wire models of one project: settings, explores."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from lightkeeper.identity.attribution import UserRef
from lightkeeper.kit.schemas import CamelModel, UTCTime, omitted_if_none


def _absent(value: Any) -> bool:
    return value is None


class ProjectOut(CamelModel):
    """A project as Lightdash's `Project` type has it (every required field).

    `warehouseConnection` never carries secrets, and is omitted (never null) when the project
    has none or has one of a type Lightdash's clients cannot parse (DuckDB):
    `warehouseType` still names it. Lightkeeper runs no dbt, so `dbtConnection` is
    `{"type": "none"}` and `dbtVersion` Lightdash's default `latest`. Scheduled deliveries are
    not run: `schedulerTimezone` is only stored and shown (null stored is Lightdash's `UTC`).
    """

    project_uuid: str
    organization_uuid: str
    name: str
    type: str
    upstream_project_uuid: str | None
    created_by_user_uuid: str | None
    created_at: UTCTime
    warehouse_type: str | None = Field(default=None, exclude_if=_absent)
    warehouse_connection: dict[str, Any] | None = Field(default=None, exclude_if=_absent)
    require_user_credentials: bool = False
    scheduler_timezone: str = "UTC"
    dbt_version: str = "latest"
    dbt_connection: dict[str, Any] = Field(default_factory=lambda: {"type": "none"})


class SchedulerSettingsUpdate(CamelModel):
    """`PATCH /api/v1/projects/{p}/schedulerSettings` (Lightdash's `UpdateSchedulerSettings`)."""

    scheduler_timezone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class MetadataUpdate(CamelModel):
    """`PATCH /api/v1/projects/{p}/metadata` (Lightdash's `UpdateMetadata`): absent stays."""

    upstream_project_uuid: UUID | None = None


class ProjectUpdate(CamelModel):
    """`PATCH /api/v1/projects/{p}`: absent fields stay as they are."""

    name: str | None = None
    warehouse_connection: dict[str, Any] | None = None


class ExploreSummaryOut(CamelModel):
    """Lightdash's `SummaryExplore`: `databaseName`/`schemaName` are strings ("" when the base
    table has none), `groupLabel` and `description` absent when there is none."""

    name: str
    label: str
    tags: list[str]
    group_label: str | None = omitted_if_none()
    database_name: str = ""
    schema_name: str = ""
    description: str | None = omitted_if_none()


class ExploresDeployed(CamelModel):
    explores: int


# -- the CLI's deploy pipeline: tags, parameters, batched deploy, validation, previews


class TagIn(CamelModel):
    """One item of `PUT /api/v1/projects/{p}/tags/yaml` (a spotlight category from YAML)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    color: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    yaml_reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
    ]


class TagOut(CamelModel):
    """Lightdash's `Tag`."""

    tag_uuid: str
    project_uuid: str
    name: str
    color: str
    created_at: UTCTime
    yaml_reference: str | None
    created_by: UserRef | None


class DeploySessionStarted(CamelModel):
    deploy_session_uuid: str


class DeployBatchIn(CamelModel):
    """`POST …/deploy/{session}/batch`: `{explores, batchNumber}`."""

    explores: list[Any]
    batch_number: Annotated[int, Field(ge=0, le=100_000)]


class DeployBatchAdded(CamelModel):
    batch_number: int
    explore_count: int


class DeployFinalized(CamelModel):
    explore_count: int
    status: Literal["completed"]


class ValidateIn(CamelModel):
    """`POST /api/v1/projects/{p}/validate`: explores to check against (else the deployed ones)."""

    explores: list[Any] | None = None
    validation_targets: list[Literal["charts", "dashboards", "tables"]] | None = None


class ValidationJob(CamelModel):
    job_id: str


class PreviewExpirationIn(CamelModel):
    """`PATCH /api/v1/projects/{p}/preview-expiration`: hours from now, 1 hour to 10 years."""

    expires_in_hours: Annotated[float, Field(gt=0, le=87_600)]


class PreviewExpirationOut(CamelModel):
    expires_at: UTCTime
