"""Content API: spaces, saved charts, dashboards, comments, content as code (Lightdash's paths)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from lightkeeper.content import as_code, charts, comments, dashboards, space_list, spaces
from lightkeeper.content.schemas import (
    ChartAsCodeIn,
    ChartCreate,
    ChartHistory,
    ChartOut,
    ChartsAsCodePage,
    ChartUpdate,
    ChartVersionDetail,
    CommentIn,
    CommentOut,
    CommentUpdate,
    DashboardAsCodeIn,
    DashboardCreate,
    DashboardMove,
    DashboardOut,
    DashboardsAsCodePage,
    DashboardSummaryOut,
    DashboardUpdate,
    DashboardVersionOut,
    PromotionChanges,
    SpaceCreate,
    SpaceDetail,
    SpaceShareIn,
    SpaceSummaryOut,
    SpaceUpdate,
    SqlChartsAsCodePage,
    UuidStr,
)
from lightkeeper.deps import CurrentPrincipal, RequestRoute, SessionDep, reads_of
from lightkeeper.kit.schemas import (
    MAX_OFFSET,
    WIRE_VALUES,
    Envelope,
    OkResponse,
    ok,
    ok_response,
)

router = APIRouter(prefix="/api/v1", tags=["content"], route_class=RequestRoute)

ProjectId = Annotated[UuidStr, Path(alias="projectUuid")]
SpaceId = Annotated[UuidStr, Path(alias="spaceUuid")]
ChartId = Annotated[UuidStr, Path(alias="chartUuid")]
DashboardId = Annotated[UuidStr, Path(alias="dashboardUuid")]
CommentId = Annotated[UuidStr, Path(alias="commentUuid")]
VersionId = Annotated[UuidStr, Path(alias="versionUuid")]
TileId = Annotated[str, Path(alias="dashboardTileUuid", min_length=1, max_length=64)]
UserId = Annotated[UuidStr, Path(alias="userUuid")]
Ids = Annotated[
    list[str] | None, Query(description="Uuids or slugs; repeat `ids=` or separate with commas")
]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Index of the first item of the page")
]

# -- spaces ------------------------------------------------------------------


@router.get("/projects/{projectUuid}/spaces", response_model=Envelope[list[SpaceSummaryOut]])
async def list_spaces(
    request: Request, project_uuid: ProjectId, principal: CurrentPrincipal
) -> Response:
    """Lightdash's `SpaceSummary[]`: the project's spaces the caller can view."""
    spaces_of = await space_list.list_spaces(reads_of(request), principal, project_uuid)
    return ok_response(WIRE_VALUES, spaces_of)


@router.post("/projects/{projectUuid}/spaces", response_model=Envelope[SpaceDetail])
def create_space(
    project_uuid: ProjectId, body: SpaceCreate, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(spaces.create_space(session, principal, project_uuid, body))


@router.get("/projects/{projectUuid}/spaces/{spaceUuid}", response_model=Envelope[SpaceDetail])
def get_space(
    project_uuid: ProjectId, space_uuid: SpaceId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(spaces.get_space(session, principal, project_uuid, space_uuid))


@router.patch("/projects/{projectUuid}/spaces/{spaceUuid}", response_model=Envelope[SpaceDetail])
def update_space(
    project_uuid: ProjectId,
    space_uuid: SpaceId,
    body: SpaceUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    return ok(spaces.update_space(session, principal, project_uuid, space_uuid, body))


@router.delete(
    "/projects/{projectUuid}/spaces/{spaceUuid}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted (Lightdash's status; no body)"}},
)
def delete_space(
    project_uuid: ProjectId, space_uuid: SpaceId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    spaces.delete_space(session, principal, project_uuid, space_uuid)
    return Response(status_code=204)


@router.post(
    "/projects/{projectUuid}/spaces/{spaceUuid}/share", response_model=Envelope[SpaceDetail]
)
def share_space(
    project_uuid: ProjectId,
    space_uuid: SpaceId,
    body: SpaceShareIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    return ok(spaces.share_space(session, principal, project_uuid, space_uuid, body))


@router.delete(
    "/projects/{projectUuid}/spaces/{spaceUuid}/share/{userUuid}", response_model=OkResponse
)
def unshare_space(
    project_uuid: ProjectId,
    space_uuid: SpaceId,
    user_uuid: UserId,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    spaces.unshare_space(session, principal, project_uuid, space_uuid, user_uuid)
    return ok()


# -- saved charts ------------------------------------------------------------


@router.get("/projects/{projectUuid}/charts", response_model=Envelope[list[ChartOut]])
def list_charts(
    project_uuid: ProjectId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    return ok_response(list[ChartOut], charts.list_charts(session, principal, project_uuid))


@router.get("/projects/{projectUuid}/chart-summaries", response_model=Envelope[list[ChartOut]])
def list_chart_summaries(
    project_uuid: ProjectId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Lightdash's chart summaries: the same charts as `…/charts` (a summary's fields included)."""
    return ok_response(list[ChartOut], charts.list_charts(session, principal, project_uuid))


@router.post("/projects/{projectUuid}/saved", response_model=Envelope[ChartOut])
def create_chart(
    project_uuid: ProjectId, body: ChartCreate, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(charts.create_chart(session, principal, project_uuid, body))


@router.get("/saved/{chartUuid}", response_model=Envelope[ChartOut])
def get_chart(chart_uuid: ChartId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return ok(charts.get_chart(session, principal, chart_uuid))


@router.patch("/saved/{chartUuid}", response_model=Envelope[ChartOut])
def update_chart(
    chart_uuid: ChartId, body: ChartUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(charts.update_chart(session, principal, chart_uuid, body))


@router.delete("/saved/{chartUuid}", response_model=OkResponse)
def delete_chart(chart_uuid: ChartId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    charts.delete_chart(session, principal, chart_uuid)
    return ok()


@router.get("/saved/{chartUuid}/history", response_model=Envelope[ChartHistory])
def chart_history(chart_uuid: ChartId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return ok(charts.chart_history(session, principal, chart_uuid))


@router.get("/saved/{chartUuid}/version/{versionUuid}", response_model=Envelope[ChartVersionDetail])
def chart_version(
    chart_uuid: ChartId, version_uuid: VersionId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(charts.chart_version(session, principal, chart_uuid, version_uuid))


@router.post("/saved/{chartUuid}/rollback/{versionUuid}", response_model=OkResponse)
def rollback_chart(
    chart_uuid: ChartId, version_uuid: VersionId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    charts.rollback_chart(session, principal, chart_uuid, version_uuid)
    return ok()


# -- dashboards --------------------------------------------------------------


@router.get(
    "/projects/{projectUuid}/dashboards", response_model=Envelope[list[DashboardSummaryOut]]
)
def list_dashboards(
    project_uuid: ProjectId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    return ok_response(
        list[DashboardSummaryOut], dashboards.list_dashboards(session, principal, project_uuid)
    )


@router.patch("/projects/{projectUuid}/dashboards", response_model=Envelope[list[DashboardOut]])
def update_dashboards(
    project_uuid: ProjectId,
    body: list[DashboardMove],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    """Lightdash's bulk change (name, description, space) of several dashboards, all or none."""
    return ok(dashboards.update_dashboards(session, principal, project_uuid, body))


@router.post(
    "/projects/{projectUuid}/dashboards",
    response_model=Envelope[DashboardOut],
    status_code=201,
)
def create_dashboard(
    project_uuid: ProjectId, body: DashboardCreate, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(dashboards.create_dashboard(session, principal, project_uuid, body))


@router.get("/dashboards/{dashboardUuid}", response_model=Envelope[DashboardOut])
def get_dashboard(
    dashboard_uuid: DashboardId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(dashboards.get_dashboard(session, principal, dashboard_uuid))


@router.patch("/dashboards/{dashboardUuid}", response_model=Envelope[DashboardOut])
def update_dashboard(
    dashboard_uuid: DashboardId,
    body: DashboardUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    return ok(dashboards.update_dashboard(session, principal, dashboard_uuid, body))


@router.delete("/dashboards/{dashboardUuid}", response_model=OkResponse)
def delete_dashboard(
    dashboard_uuid: DashboardId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    dashboards.delete_dashboard(session, principal, dashboard_uuid)
    return ok()


@router.get(
    "/dashboards/{dashboardUuid}/history", response_model=Envelope[list[DashboardVersionOut]]
)
def dashboard_history(
    dashboard_uuid: DashboardId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(dashboards.dashboard_history(session, principal, dashboard_uuid))


# -- comments ----------------------------------------------------------------


@router.get(
    "/comments/dashboards/{dashboardUuid}", response_model=Envelope[dict[str, list[CommentOut]]]
)
def list_comments(
    dashboard_uuid: DashboardId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return ok(comments.list_comments(session, principal, dashboard_uuid))


@router.post("/comments/dashboards/{dashboardUuid}", response_model=Envelope[CommentOut])
def add_comment(
    dashboard_uuid: DashboardId, body: CommentIn, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    """Lightkeeper's route: a comment on the dashboard or (`dashboardTileUuid`) a tile."""
    return ok(comments.add_comment(session, principal, dashboard_uuid, body))


@router.post(
    "/comments/dashboards/{dashboardUuid}/{dashboardTileUuid}", response_model=Envelope[str]
)
def add_tile_comment(
    dashboard_uuid: DashboardId,
    tile_uuid: TileId,
    body: CommentIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    """Lightdash's route: a comment on a tile; `results` is the new comment's id."""
    on_tile = body.model_copy(update={"dashboard_tile_uuid": tile_uuid})
    return ok(comments.add_comment(session, principal, dashboard_uuid, on_tile).comment_id)


@router.patch(
    "/comments/dashboards/{dashboardUuid}/{commentUuid}", response_model=Envelope[CommentOut]
)
def resolve_comment(
    dashboard_uuid: DashboardId,
    comment_uuid: CommentId,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: CommentUpdate | None = None,
) -> Any:
    """Resolve (Lightdash sends no body) or, with `{"resolved": false}`, reopen."""
    change = body or CommentUpdate()
    return ok(comments.resolve_comment(session, principal, dashboard_uuid, comment_uuid, change))


@router.delete("/comments/dashboards/{dashboardUuid}/{commentUuid}", response_model=OkResponse)
def delete_comment(
    dashboard_uuid: DashboardId,
    comment_uuid: CommentId,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    comments.delete_comment(session, principal, dashboard_uuid, comment_uuid)
    return ok()


# -- content as code ---------------------------------------------------------


@router.get("/projects/{projectUuid}/charts/code", response_model=Envelope[ChartsAsCodePage])
def download_charts(
    project_uuid: ProjectId,
    session: SessionDep,
    principal: CurrentPrincipal,
    ids: Ids = None,
    offset: Offset = 0,
) -> Any:
    wanted = as_code.parse_ids(ids or [])
    return ok(as_code.download_charts(session, principal, project_uuid, wanted, offset))


@router.get(
    "/projects/{projectUuid}/dashboards/code", response_model=Envelope[DashboardsAsCodePage]
)
def download_dashboards(
    project_uuid: ProjectId,
    session: SessionDep,
    principal: CurrentPrincipal,
    ids: Ids = None,
    offset: Offset = 0,
) -> Any:
    wanted = as_code.parse_ids(ids or [])
    return ok(as_code.download_dashboards(session, principal, project_uuid, wanted, offset))


@router.get("/projects/{projectUuid}/sqlCharts/code", response_model=Envelope[SqlChartsAsCodePage])
def download_sql_charts(
    project_uuid: ProjectId,
    session: SessionDep,
    principal: CurrentPrincipal,
    ids: Ids = None,
    offset: Offset = 0,
) -> Any:
    """Lightdash's SQL charts as code; Lightkeeper has no SQL charts, so the page is empty."""
    return ok(as_code.download_sql_charts(session, principal, project_uuid, offset))


@router.post(
    "/projects/{projectUuid}/charts/{slug}/code", response_model=Envelope[PromotionChanges]
)
def upload_chart(
    project_uuid: ProjectId,
    slug: str,
    body: ChartAsCodeIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    return ok(as_code.upload_chart(session, principal, project_uuid, slug, body))


@router.post(
    "/projects/{projectUuid}/dashboards/{slug}/code", response_model=Envelope[PromotionChanges]
)
def upload_dashboard(
    project_uuid: ProjectId,
    slug: str,
    body: DashboardAsCodeIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Any:
    return ok(as_code.upload_dashboard(session, principal, project_uuid, slug, body))
