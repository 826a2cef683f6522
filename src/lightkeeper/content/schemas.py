"""Wire models of the content domain (camelCase on the wire, Lightdash's names)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from lightkeeper.identity.attribution import UserRef
from lightkeeper.kit.schemas import CamelModel, UTCTime, omitted_if_none


def _canonical_uuid(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


UuidStr = Annotated[str, AfterValidator(_canonical_uuid)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
SpaceRole = Literal["viewer", "editor", "admin"]
# Lightdash's dashboard tile types.
TileType = Literal[
    "saved_chart", "sql_chart", "semantic_viewer_chart", "markdown", "loom", "heading"
]
GridInt = Annotated[int, Field(ge=0, le=10_000)]


# -- spaces ------------------------------------------------------------------


class SpaceAccess(CamelModel):
    user_uuid: str
    role: SpaceRole
    first_name: str
    last_name: str


class SpaceShareOut(SpaceAccess):
    """Lightdash's `SpaceShare`: a share with the person's email (a service account's is "")."""

    email: str
    has_direct_access: bool = True


class SpaceGroupAccess(CamelModel):
    """A group the (root) space is shared with (Lightdash's `SpaceGroup`)."""

    group_uuid: str
    group_name: str
    space_role: SpaceRole


class SpaceOut(CamelModel):
    uuid: str
    name: str
    slug: str
    is_private: bool
    parent_space_uuid: str | None
    project_uuid: str
    access: list[SpaceShareOut]
    groups_access: list[SpaceGroupAccess]
    created_at: UTCTime
    created_by: UserRef | None


class ContentSummary(CamelModel):
    """What Lightdash's summaries of a chart or dashboard carry (`SpaceQuery`,
    `DashboardBasicDetails`): Lightkeeper has no pinning and counts no views, so
    `pinnedList*` are null, `views` 0 and `firstViewedAt` null."""

    uuid: str
    name: str
    description: str | None = omitted_if_none()
    project_uuid: str
    organization_uuid: str
    space_uuid: str
    space_name: str
    slug: str
    pinned_list_uuid: str | None = None
    pinned_list_order: float | None = None
    views: int = 0
    first_viewed_at: UTCTime | None = None
    created_at: UTCTime
    created_by: UserRef | None
    updated_at: UTCTime
    updated_by_user: UserRef | None = omitted_if_none()


class SpaceSummaryOut(CamelModel):
    """Lightdash's `SpaceSummary` (without the optional `userAccess`), plus `parentSpaceUuid` and
    `createdAt`: an item of the space list.

    Documents `GET /api/v1/projects/{p}/spaces` in OpenAPI; the list itself is written
    without this model (`content.space_list`).
    """

    uuid: str
    name: str
    slug: str
    is_private: bool
    parent_space_uuid: str | None
    project_uuid: str
    created_at: UTCTime
    organization_uuid: str
    pinned_list_uuid: str | None
    pinned_list_order: float | None
    chart_count: int
    dashboard_count: int
    access: list[SpaceShareOut] = Field(
        description="The (root) space's shares, and the creator of a private one as its admin"
    )


class SpaceAccessIn(CamelModel):
    user_uuid: UuidStr
    role: SpaceRole


class SpaceCreate(CamelModel):
    name: Name
    is_private: bool | None = None
    parent_space_uuid: UuidStr | None = None
    # Lightdash's body may share the new space at once.
    access: list[SpaceAccessIn] | None = None


class SpaceUpdate(CamelModel):
    name: Name | None = None
    is_private: bool | None = None
    parent_space_uuid: UuidStr | None = None


class SpaceShareIn(CamelModel):
    user_uuid: UuidStr
    space_role: SpaceRole


# -- charts ------------------------------------------------------------------


class ChartOut(ContentSummary):
    """Lightdash's `SavedChart` (also what its chart lists, `SpaceQuery`/`ChartSummary`, carry).

    `metricQuery`, `chartConfig` and `tableConfig` have every key Lightdash's types require
    (missing ones at their neutral value); `chartType` is `chartConfig.type`."""

    table_name: str
    metric_query: dict[str, Any]
    chart_config: dict[str, Any]
    table_config: dict[str, Any]
    chart_type: str | None = omitted_if_none()
    is_private: bool
    access: list[SpaceShareOut]
    color_palette: list[str] = Field(default_factory=list)
    dashboard_uuid: str | None = None
    dashboard_name: str | None = None


class ChartCreate(CamelModel):
    name: Name
    description: str | None = None
    space_uuid: UuidStr
    table_name: Annotated[str, StringConstraints(max_length=255)]
    metric_query: dict[str, Any] = Field(default_factory=dict)
    chart_config: dict[str, Any] = Field(default_factory=dict)
    table_config: dict[str, Any] = Field(default_factory=dict)


class ChartUpdate(CamelModel):
    name: Name | None = None
    description: str | None = None
    space_uuid: UuidStr | None = None
    table_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    metric_query: dict[str, Any] | None = None
    chart_config: dict[str, Any] | None = None
    table_config: dict[str, Any] | None = None


class ChartVersionOut(CamelModel):
    """One version: who and when, and the chart as it was (also under `snapshot`).

    Lightdash's `ChartVersionSummary` (`chartUuid, versionUuid, createdAt, createdBy`) plus
    the state, for older Lightkeeper clients."""

    version_uuid: str
    chart_uuid: str
    created_at: UTCTime
    updated_by_user: UserRef | None
    created_by: UserRef | None  # Lightdash's name for the same person
    name: str | None
    description: str | None
    space_uuid: str | None
    table_name: str | None
    metric_query: dict[str, Any]
    chart_config: dict[str, Any]
    table_config: dict[str, Any]
    snapshot: dict[str, Any]


class ChartHistory(CamelModel):
    """Lightdash's `ChartHistory`: the versions, newest first."""

    history: list[ChartVersionOut]


class ChartVersionDetail(CamelModel):
    """Lightdash's `ChartVersion`: one version with the chart as it was then."""

    chart_uuid: str
    version_uuid: str
    created_at: UTCTime
    created_by: UserRef | None
    chart: ChartOut


# -- dashboards --------------------------------------------------------------


class TileIn(CamelModel):
    uuid: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    type: TileType
    x: GridInt
    y: GridInt
    h: GridInt
    w: GridInt
    properties: dict[str, Any] = Field(default_factory=dict)


class TileOut(CamelModel):
    uuid: str
    type: str
    x: int
    y: int
    h: int
    w: int
    properties: dict[str, Any]
    tab_uuid: str | None = omitted_if_none()


class DashboardTab(CamelModel):
    uuid: str
    name: str
    order: int


class DashboardSummaryOut(ContentSummary):
    """Lightdash's `DashboardBasicDetailsWithTileTypes`."""

    tile_types: list[str]


class DashboardOut(DashboardSummaryOut):
    """Lightdash's `Dashboard`: `filters` with its three lists, tiles with their required
    properties, `dashboardVersionId` the number of versions so far; Lightkeeper keeps no tabs."""

    tiles: list[TileOut]
    filters: dict[str, Any]
    tabs: list[DashboardTab] = Field(default_factory=list)
    is_private: bool
    access: list[SpaceShareOut]
    dashboard_version_id: int


class DashboardMove(CamelModel):
    """One item of Lightdash's bulk `PATCH /projects/{p}/dashboards`."""

    uuid: UuidStr
    name: Name | None = None
    description: str | None = None
    space_uuid: UuidStr | None = None


class DashboardCreate(CamelModel):
    name: Name
    description: str | None = None
    space_uuid: UuidStr | None = None
    tiles: list[TileIn] = Field(default_factory=list)
    filters: dict[str, Any] = Field(default_factory=dict)


class DashboardUpdate(CamelModel):
    name: Name | None = None
    description: str | None = None
    space_uuid: UuidStr | None = None
    tiles: list[TileIn] | None = None
    filters: dict[str, Any] | None = None


class DashboardVersionOut(CamelModel):
    version_uuid: str
    dashboard_uuid: str
    created_at: UTCTime
    updated_by_user: UserRef | None
    created_by: UserRef | None
    name: str | None
    description: str | None
    space_uuid: str | None
    tiles: list[dict[str, Any]]
    filters: dict[str, Any]
    snapshot: dict[str, Any]


# -- comments ----------------------------------------------------------------


CommentText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)
]


class CommentIn(CamelModel):
    text: CommentText
    text_html: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    mentions: list[UuidStr] | None = None
    dashboard_tile_uuid: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = (
        None
    )
    reply_to: UuidStr | None = None


class CommentUpdate(CamelModel):
    """Lightdash resolves with an empty body; `{"resolved": false}` reopens."""

    resolved: bool = True


class CommentAuthor(CamelModel):
    """Lightdash's comment `user` is `{name}`; the reference fields are Lightkeeper's extra."""

    name: str
    user_uuid: str | None
    first_name: str
    last_name: str


class CommentOut(CamelModel):
    """Lightdash's `Comment`. `uuid`, `commentUuid` and `commentId` are the same id; `replies`
    are the answers to a comment (in the keyed list)."""

    uuid: str
    comment_uuid: str
    comment_id: str
    dashboard_uuid: str
    dashboard_tile_uuid: str | None
    reply_to: str | None = omitted_if_none()
    text: str
    text_html: str
    mentions: list[str]
    resolved: bool
    created_at: UTCTime
    user: CommentAuthor
    can_remove: bool
    replies: list[CommentOut] | None = omitted_if_none()


# -- content as code ---------------------------------------------------------


class ChartAsCode(CamelModel):
    version: int = 1
    name: str
    description: str | None
    slug: str
    space_slug: str
    table_name: str
    metric_query: dict[str, Any]
    chart_config: dict[str, Any]
    table_config: dict[str, Any]
    updated_at: UTCTime
    # When the server produced the document: Lightdash's CLI uploads a file edited 30 s after it.
    downloaded_at: UTCTime


class TileAsCode(CamelModel):
    type: str
    x: int
    y: int
    h: int
    w: int
    properties: dict[str, Any]


class DashboardAsCode(CamelModel):
    version: int = 1
    name: str
    description: str | None
    slug: str
    space_slug: str
    tiles: list[TileAsCode]
    filters: dict[str, Any]
    tabs: list[dict[str, Any]] = Field(default_factory=list)  # Lightkeeper keeps no tabs
    updated_at: UTCTime
    # When the server produced the document: Lightdash's CLI uploads a file edited 30 s after it.
    downloaded_at: UTCTime


class ChartsAsCodePage(CamelModel):
    charts: list[ChartAsCode]
    missing_ids: list[str]
    total: int
    offset: int


class DashboardsAsCodePage(CamelModel):
    dashboards: list[DashboardAsCode]
    missing_ids: list[str]
    total: int
    offset: int


class ChartAsCodeIn(CamelModel):
    """An uploaded chart document; `slug` comes from the URL, `updatedAt` is ignored."""

    version: int | None = None
    name: Name
    description: str | None = None
    space_slug: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
    ]
    table_name: Annotated[str, StringConstraints(max_length=255)]
    metric_query: dict[str, Any] = Field(default_factory=dict)
    chart_config: dict[str, Any] = Field(default_factory=dict)
    table_config: dict[str, Any] = Field(default_factory=dict)


class TileAsCodeIn(CamelModel):
    type: TileType
    x: GridInt
    y: GridInt
    h: GridInt
    w: GridInt
    properties: dict[str, Any] = Field(default_factory=dict)


class DashboardAsCodeIn(CamelModel):
    version: int | None = None
    name: Name
    description: str | None = None
    space_slug: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
    ]
    tiles: list[TileAsCodeIn] = Field(default_factory=list)
    filters: dict[str, Any] = Field(default_factory=dict)


PromotionAction = Literal["create", "update", "delete", "no changes"]


class PromotedChange(CamelModel):
    """Lightdash's `{action, data}`; `uuid` and `slug` repeat `data`'s for older Lightkeeper clients."""

    action: PromotionAction
    data: dict[str, Any]
    uuid: str
    slug: str


class PromotionChanges(CamelModel):
    """Lightdash's `PromotionChanges`: an upload's effect on spaces, charts and dashboards."""

    spaces: list[PromotedChange] = Field(default_factory=list)
    charts: list[PromotedChange] = Field(default_factory=list)
    dashboards: list[PromotedChange] = Field(default_factory=list)
    sql_charts: list[PromotedChange] = Field(default_factory=list)


class SqlChartsAsCodePage(CamelModel):
    """`…/sqlCharts/code`: Lightkeeper has no SQL charts, so every page is empty."""

    sql_charts: list[dict[str, Any]]
    missing_ids: list[str]
    total: int
    offset: int


# -- defined last: it holds charts and dashboards -----------------------------


class SpaceDetail(SpaceOut):
    """Lightdash's `Space`: the space with its charts (`queries`) and dashboards."""

    organization_uuid: str
    pinned_list_uuid: str | None = None
    pinned_list_order: float | None = None
    queries: list[ChartOut]
    dashboards: list[DashboardSummaryOut]
