"""Every query of the content domain: spaces, shares, charts, dashboards, versions, comments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Integer,
    Select,
    Table,
    bindparam,
    delete,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached

from lightkeeper.models import (
    Dashboard,
    DashboardComment,
    DashboardVersion,
    Group,
    Project,
    SavedChart,
    SavedChartVersion,
    Space,
    SpaceGroupShare,
    SpaceShare,
    User,
)
from lightkeeper.reads import Read, WireTime, wire_time

SluggedModel = type[Space] | type[SavedChart] | type[Dashboard]


# -- people ------------------------------------------------------------------


# Statements that content requests run on every call are built once with bound parameters
# (`expanding` ones for lists): building one costs more than running it from SQLAlchemy's
# compiled cache.
_USERS_BY_UUID = select(User).where(User.uuid.in_(bindparam("uuids", expanding=True)))


def users_by_uuid(session: Session, uuids: Collection[str]) -> list[User]:
    if not uuids:
        return []
    return list(session.scalars(_USERS_BY_UUID, {"uuids": list(uuids)}))


def user_in_organization(session: Session, organization_uuid: str, user_uuid: str) -> User | None:
    return session.scalar(
        select(User).where(User.uuid == user_uuid, User.organization_uuid == organization_uuid)
    )


def people_by_uuid(session: Session, uuids: Collection[str]) -> list[PersonRow]:
    """What a reply shows of these people (`PersonRow`: five columns, no ORM `User`)."""
    if not uuids:
        return []
    rows = session.connection().execute(_PEOPLE_BY_UUID, {"uuids": list(uuids)})
    return [PersonRow._make(row) for row in rows]


# -- slugs -------------------------------------------------------------------


def slugs_like(session: Session, model: SluggedModel, project_uuid: str, base: str) -> set[str]:
    """Slugs of `model` in the project equal to `base` or `base-…` (candidates for a clash).

    Slugs only hold `[a-z0-9-]`, so LIKE's wildcards cannot appear in `base`.
    """
    statement = _SLUGS_LIKE.get(model)
    if statement is None:
        columns = model.__table__.c
        statement = _SLUGS_LIKE[model] = select(columns.slug).where(
            columns.project_uuid == bindparam("project_uuid"),
            or_(columns.slug == bindparam("base"), columns.slug.like(bindparam("pattern"))),
        )
    parameters = {"project_uuid": project_uuid, "base": base, "pattern": base + "-%"}
    return set(session.connection().execute(statement, parameters).scalars())


def insert_unless_taken(session: Session, row: Space | SavedChart | Dashboard) -> bool:
    """Insert `row` unless its slug is taken in its project (then nothing happens: False).

    One statement, `INSERT … ON CONFLICT DO NOTHING RETURNING` every column, in the
    session's transaction (no savepoint to roll back to); the row then belongs to the
    session as if it had been loaded, defaults filled in. What it refers to that is still
    pending is flushed first. A unique constraint is the arbiter, so a slug committed
    meanwhile by another request is never overwritten.
    """
    session.flush()
    connection = session.connection()
    model = type(row)
    mapper: Mapper[Any] = inspect(model)
    attributes = mapper.column_attrs
    key = (model, connection.dialect.name)
    statement = _INSERT_UNLESS_TAKEN.get(key)
    if statement is None:
        dialect_insert = postgresql_insert if key[1] == "postgresql" else sqlite_insert
        statement = _INSERT_UNLESS_TAKEN[key] = (
            dialect_insert(cast(Table, model.__table__))
            .on_conflict_do_nothing()
            .returning(*(attribute.columns[0] for attribute in attributes))
        )
    # Unset attributes are left out, so the columns' defaults apply, as in a flush.
    values = {
        attribute.columns[0].key: value
        for attribute in attributes
        if (value := getattr(row, attribute.key)) is not None
    }
    stored = connection.execute(statement, values).first()
    if stored is None:
        return False
    for attribute, value in zip(attributes, stored, strict=True):
        setattr(row, attribute.key, value)
    make_transient_to_detached(row)
    session.add(row)
    return True


_INSERT_UNLESS_TAKEN: dict[tuple[type[Any], str], Any] = {}


_SLUGS_LIKE: dict[SluggedModel, Select[Any]] = {}


# -- spaces ------------------------------------------------------------------


# Built once (a bound parameter): every space list and most content requests run it.
_PROJECT_SPACES = (
    select(Space)
    .where(Space.project_uuid == bindparam("project_uuid"))
    .order_by(Space.name, Space.uuid)
)


def project_spaces(session: Session, project_uuid: str) -> list[Space]:
    return list(session.scalars(_PROJECT_SPACES, {"project_uuid": project_uuid}))


# The space list (Lightdash's SpaceSummary[]): plain rows of one Core statement built once, read
# on the event loop (`lightkeeper.reads`; no ORM entities: loading 50 cost more than the rest).
_SPACES = Space.__table__.c
_CHARTS = SavedChart.__table__.c
_DASHBOARDS = Dashboard.__table__.c
_PROJECTS = Project.__table__.c
_SHARED_SPACES = Space.__table__.alias("shared_space")


def _shared(shares: Any) -> Any:
    """Whether any space of the listed project has a share of this kind (the table `shares`).

    On the bound parameter, not the outer row, so the database works it out once, not per row.
    """
    return (
        select(shares.c.space_uuid)
        .join(_SHARED_SPACES, _SHARED_SPACES.c.uuid == shares.c.space_uuid)
        .where(_SHARED_SPACES.c.project_uuid == bindparam("project_uuid"))
        .exists()
    )


def _typed_null(type_: Any) -> Any:
    """NULL in the first part of a UNION, typed as the column it stands for (its results take it)."""
    return type_coerce(null(), type_)


# Two parts, one statement (one round trip): first the project's row, its access target
# (`authz.tenancy.visible_target`) and whether any of its spaces is shared; then one row per
# space with its content counts. The project's columns are not repeated on every space's row.
_PROJECT_PART = select(
    literal(0).label("part"),
    _PROJECTS.uuid.label("project_uuid"),
    _PROJECTS.organization_uuid,
    _PROJECTS.type,
    _PROJECTS.created_by_user_uuid.label("project_created_by"),
    _PROJECTS.expires_at,
    or_(_shared(SpaceShare.__table__), _shared(SpaceGroupShare.__table__)).label("shared"),
    _typed_null(_SPACES.uuid.type).label("space_uuid"),
    _typed_null(_SPACES.parent_space_uuid.type).label("parent_space_uuid"),
    _typed_null(_SPACES.name.type).label("name"),
    _typed_null(_SPACES.slug.type).label("slug"),
    _typed_null(_SPACES.is_private.type).label("is_private"),
    _typed_null(_SPACES.created_by_user_uuid.type).label("created_by_user_uuid"),
    _typed_null(WireTime()).label("created_at"),
    _typed_null(Integer()).label("chart_count"),
    _typed_null(Integer()).label("dashboard_count"),
).where(
    _PROJECTS.uuid == bindparam("project_uuid"),
    _PROJECTS.organization_uuid == bindparam("organization_uuid"),
)
_SPACES_PART = (
    select(
        literal(1),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        _SPACES.uuid,
        _SPACES.parent_space_uuid,
        _SPACES.name,
        _SPACES.slug,
        _SPACES.is_private,
        _SPACES.created_by_user_uuid,
        wire_time(_SPACES.created_at),
        select(func.count()).where(_CHARTS.space_uuid == _SPACES.uuid).scalar_subquery(),
        select(func.count()).where(_DASHBOARDS.space_uuid == _SPACES.uuid).scalar_subquery(),
    )
    .select_from(Space.__table__)
    .where(
        _SPACES.project_uuid == bindparam("project_uuid"),
        # The organization's project only, decided once for the statement (not a join, which
        # PostgreSQL ran as a loop over the organization's projects for every space).
        select(_PROJECTS.uuid)
        .where(
            _PROJECTS.uuid == bindparam("project_uuid"),
            _PROJECTS.organization_uuid == bindparam("organization_uuid"),
        )
        .exists(),
    )
)
_SPACE_LIST = union_all(_PROJECT_PART, _SPACES_PART)
_SPACE_LIST = _SPACE_LIST.order_by(
    _SPACE_LIST.selected_columns.part,
    _SPACE_LIST.selected_columns.name,
    _SPACE_LIST.selected_columns.space_uuid,
)


class SpaceSummaryRow(NamedTuple):
    """A space as the list shows it (a named tuple: a field of it reads faster than a `Row`'s)."""

    uuid: str
    parent_space_uuid: str | None
    name: str
    slug: str
    is_private: bool
    created_by_user_uuid: str | None
    created_at: str  # as the API writes it (`reads.wire_time`)
    chart_count: int
    dashboard_count: int


class ProjectHead(NamedTuple):
    """The space list's first row: the project's access target, and whether any space is shared."""

    project: tuple[Any, ...]  # uuid, organization_uuid, type, created_by_user_uuid, expires_at
    shared: bool  # some space of the project is shared with a person or a group


def _space_list_row(values: Sequence[Any]) -> ProjectHead | SpaceSummaryRow:
    if values[0] == 0:
        return ProjectHead(tuple(values[1:6]), bool(values[6]))
    return SpaceSummaryRow._make(values[7:])


# A project of the organization (params `project_uuid`, `organization_uuid`) with its spaces
# by name, how many charts and dashboards sit directly in each, and whether its spaces have
# any share to read: the whole space list in one statement when none has. No rows: there is
# no such project; else the first row is its `ProjectHead`, the others `SpaceSummaryRow`s.
SPACE_LIST = Read(_SPACE_LIST, _space_list_row)


class PersonRow(NamedTuple):
    """What a space's access list shows of a person (`identity.attribution.Person`)."""

    uuid: str
    first_name: str
    last_name: str
    is_service_account: bool
    email: str | None


_USERS = User.__table__.c
_PERSON_COLUMNS = (  # a `PersonRow`
    _USERS.uuid,
    _USERS.first_name,
    _USERS.last_name,
    _USERS.is_service_account,
    _USERS.email,
)
_PEOPLE_BY_UUID = select(*_PERSON_COLUMNS).where(
    _USERS.uuid.in_(bindparam("uuids", expanding=True))
)
_USER_SHARES = SpaceShare.__table__.c
# Everyone a space list's access lists may name: whoever holds a share of one of the
# project's spaces, and the creators of its private spaces. Params: `project_uuid`.
PEOPLE_OF_PROJECT_SPACES = Read(
    select(*_PERSON_COLUMNS).where(
        or_(
            _USERS.uuid.in_(
                select(_USER_SHARES.user_uuid)
                .join(Space.__table__, _SPACES.uuid == _USER_SHARES.space_uuid)
                .where(_SPACES.project_uuid == bindparam("project_uuid"))
            ),
            _USERS.uuid.in_(
                select(_SPACES.created_by_user_uuid).where(
                    _SPACES.project_uuid == bindparam("project_uuid"), _SPACES.is_private
                )
            ),
        )
    ),
    PersonRow._make,
)


def _nested_spaces() -> Select[Any]:
    tree = (
        select(_SPACES.uuid, _SPACES.name)
        .where(_SPACES.parent_space_uuid == bindparam("space_uuid"))
        .cte("tree", recursive=True)
    )
    tree = tree.union(
        select(_SPACES.uuid, _SPACES.name).join(tree, _SPACES.parent_space_uuid == tree.c.uuid)
    )
    return select(tree.c.uuid, tree.c.name).order_by(tree.c.name)


_NESTED_SPACES = _nested_spaces()


def nested_spaces(session: Session, space_uuid: str) -> list[tuple[str, str]]:
    """(uuid, name) of every space nested under `space_uuid`, at any depth, in one statement."""
    rows = session.connection().execute(_NESTED_SPACES, {"space_uuid": space_uuid})
    return [(uuid, name) for uuid, name in rows]


ContentRow = tuple[str, str, str, str]  # kind ("chart" | "dashboard"), uuid, name, space uuid


_CONTENT_IN_SPACES = union_all(
    select(
        literal("chart").label("kind"),
        _CHARTS.uuid,
        _CHARTS.name,
        _CHARTS.space_uuid,
    ).where(_CHARTS.space_uuid.in_(bindparam("space_uuids", expanding=True))),
    select(
        literal("dashboard").label("kind"),
        _DASHBOARDS.uuid,
        _DASHBOARDS.name,
        _DASHBOARDS.space_uuid,
    ).where(_DASHBOARDS.space_uuid.in_(bindparam("space_uuids", expanding=True))),
).order_by("kind", "name", "uuid")


def content_in_spaces(session: Session, space_uuids: Collection[str]) -> list[ContentRow]:
    """The charts and dashboards directly in these spaces (charts first, by name), in one statement."""
    if not space_uuids:
        return []
    rows = session.connection().execute(_CONTENT_IN_SPACES, {"space_uuids": list(space_uuids)})
    return [(kind, uuid, name, space) for kind, uuid, name, space in rows]


def space_by_slug(session: Session, project_uuid: str, slug: str) -> Space | None:
    return session.scalar(
        select(Space).where(Space.project_uuid == project_uuid, Space.slug == slug)
    )


def share(session: Session, space_uuid: str, user_uuid: str) -> SpaceShare | None:
    return session.get(SpaceShare, (space_uuid, user_uuid))


def group_names(session: Session, group_uuids: Collection[str]) -> dict[str, str]:
    """Names of groups (those a space is shared with), by uuid."""
    if not group_uuids:
        return {}
    rows = session.execute(select(Group.uuid, Group.name).where(Group.uuid.in_(group_uuids)))
    return {uuid: name for uuid, name in rows}


# -- charts and dashboards ---------------------------------------------------


def project_charts(session: Session, project_uuid: str) -> list[SavedChart]:
    return list(
        session.scalars(
            select(SavedChart)
            .where(SavedChart.project_uuid == project_uuid)
            .order_by(SavedChart.slug)
        )
    )


def project_dashboards(session: Session, project_uuid: str) -> list[Dashboard]:
    return list(
        session.scalars(
            select(Dashboard).where(Dashboard.project_uuid == project_uuid).order_by(Dashboard.slug)
        )
    )


def chart_by_slug(session: Session, project_uuid: str, slug: str) -> SavedChart | None:
    return session.scalar(
        select(SavedChart).where(SavedChart.project_uuid == project_uuid, SavedChart.slug == slug)
    )


def dashboard_by_slug(session: Session, project_uuid: str, slug: str) -> Dashboard | None:
    return session.scalar(
        select(Dashboard).where(Dashboard.project_uuid == project_uuid, Dashboard.slug == slug)
    )


def charts_by_uuid(
    session: Session, project_uuid: str, uuids: Collection[str]
) -> dict[str, SavedChart]:
    if not uuids:
        return {}
    rows = session.scalars(
        select(SavedChart).where(
            SavedChart.project_uuid == project_uuid, SavedChart.uuid.in_(uuids)
        )
    )
    return {row.uuid: row for row in rows}


def charts_by_slug(
    session: Session, project_uuid: str, slugs: Collection[str]
) -> dict[str, SavedChart]:
    if not slugs:
        return {}
    rows = session.scalars(
        select(SavedChart).where(
            SavedChart.project_uuid == project_uuid, SavedChart.slug.in_(slugs)
        )
    )
    return {row.slug: row for row in rows}


_CHARTS_IN_SPACES = select(SavedChart).where(
    SavedChart.space_uuid.in_(bindparam("space_uuids", expanding=True))
)
_DASHBOARDS_IN_SPACES = select(Dashboard).where(
    Dashboard.space_uuid.in_(bindparam("space_uuids", expanding=True))
)


def charts_in_spaces(session: Session, space_uuids: Collection[str]) -> list[SavedChart]:
    if not space_uuids:
        return []
    return list(session.scalars(_CHARTS_IN_SPACES, {"space_uuids": list(space_uuids)}))


def dashboards_in_spaces(session: Session, space_uuids: Collection[str]) -> list[Dashboard]:
    if not space_uuids:
        return []
    return list(session.scalars(_DASHBOARDS_IN_SPACES, {"space_uuids": list(space_uuids)}))


# -- versions ----------------------------------------------------------------


def chart_version_count(session: Session, chart_uuid: str) -> int:
    statement = select(func.count()).where(SavedChartVersion.chart_uuid == chart_uuid)
    return session.scalar(statement) or 0


def dashboard_version_count(session: Session, dashboard_uuid: str) -> int:
    statement = select(func.count()).where(DashboardVersion.dashboard_uuid == dashboard_uuid)
    return session.scalar(statement) or 0


def chart_versions(session: Session, chart_uuid: str) -> list[SavedChartVersion]:
    return list(
        session.scalars(select(SavedChartVersion).where(SavedChartVersion.chart_uuid == chart_uuid))
    )


def dashboard_versions(session: Session, dashboard_uuid: str) -> list[DashboardVersion]:
    statement = select(DashboardVersion).where(DashboardVersion.dashboard_uuid == dashboard_uuid)
    return list(session.scalars(statement))


# -- comments ----------------------------------------------------------------


def comments_of(session: Session, dashboard_uuid: str) -> list[DashboardComment]:
    return list(
        session.scalars(
            select(DashboardComment)
            .where(DashboardComment.dashboard_uuid == dashboard_uuid)
            .order_by(DashboardComment.created_at, DashboardComment.uuid)
        )
    )


def comment_of(session: Session, dashboard_uuid: str, comment_uuid: str) -> DashboardComment | None:
    return session.scalar(
        select(DashboardComment).where(
            DashboardComment.uuid == comment_uuid, DashboardComment.dashboard_uuid == dashboard_uuid
        )
    )


def delete_comment_thread(session: Session, comment_uuid: str) -> None:
    """The comment and its replies (replies of replies too), without relying on FK cascades."""
    doomed = [comment_uuid]
    frontier = [comment_uuid]
    while frontier:
        frontier = list(
            session.scalars(
                select(DashboardComment.uuid).where(DashboardComment.reply_to.in_(frontier))
            )
        )
        doomed.extend(frontier)
    session.execute(delete(DashboardComment).where(DashboardComment.uuid.in_(doomed)))


# -- deletion ----------------------------------------------------------------


def delete_everything(
    session: Session,
    *,
    space_uuids: Sequence[str],
    chart_uuids: Sequence[str],
    dashboard_uuids: Sequence[str],
) -> None:
    """Delete content rows explicitly, children first: cascades are not trusted to be on.

    Core deletes on the session's connection, after its pending changes are flushed: the
    ORM's bulk delete costs several times more, and every loaded object is expired anyway.
    (The session's hook that watches for changes to who may do what, `auth.cache`, sees
    ORM statements only; content rows are none of its tables.)
    """
    session.flush()
    connection = session.connection()
    for statements, uuids in (
        (_DELETE_DASHBOARDS, dashboard_uuids),
        (_DELETE_CHARTS, chart_uuids),
        (_DELETE_SPACES, space_uuids),
    ):
        if uuids:
            for statement in statements:
                connection.execute(statement, {"uuids": list(uuids)})
    session.expire_all()


def _deletes(*columns: Any) -> tuple[Any, ...]:
    """A Core `DELETE … WHERE column IN :uuids` for each column, in order."""
    return tuple(
        delete(column.table).where(column.in_(bindparam("uuids", expanding=True)))
        for column in columns
    )


_DELETE_DASHBOARDS = _deletes(
    DashboardComment.__table__.c.dashboard_uuid,
    DashboardVersion.__table__.c.dashboard_uuid,
    Dashboard.__table__.c.uuid,
)
_DELETE_CHARTS = _deletes(SavedChartVersion.__table__.c.chart_uuid, SavedChart.__table__.c.uuid)
_DELETE_SPACES = _deletes(
    SpaceShare.__table__.c.space_uuid,
    SpaceGroupShare.__table__.c.space_uuid,
    Space.__table__.c.uuid,
)


def space_content_counts(session: Session, space_uuid: str) -> tuple[int, int]:
    """How many charts and dashboards sit directly in a space."""
    charts = session.scalar(select(func.count()).where(SavedChart.space_uuid == space_uuid))
    dashboards = session.scalar(select(func.count()).where(Dashboard.space_uuid == space_uuid))
    return charts or 0, dashboards or 0
