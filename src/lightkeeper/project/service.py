"""The rules of one project: settings and warehouse connection, explores, preview copies.

Its members are `membership/service.py`.

Services never commit; the request commits once. Every lookup goes through
`authz.tenancy` (invisible or foreign projects are 404) and every decision
through `authz.access` (visible but not allowed is 403).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import uuid as uuid_module
import zoneinfo
from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from sqlalchemy.orm import Session

from lightkeeper import warehouse
from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz import access, tenancy
from lightkeeper.compiler.catalogue import compiled_explore
from lightkeeper.compiler.explore import Dialect
from lightkeeper.content.charts import snapshot as chart_snapshot
from lightkeeper.content.dashboards import snapshot as dashboard_snapshot
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError, ParameterError
from lightkeeper.models import (
    Dashboard,
    DashboardVersion,
    Explore,
    Project,
    SavedChart,
    SavedChartVersion,
    Space,
)
from lightkeeper.project import repository
from lightkeeper.project.schemas import (
    ExploreSummaryOut,
    ProjectOut,
    ProjectUpdate,
)
from lightkeeper.runtime import Runtime
from lightkeeper.warehouse.connection import WAREHOUSE_TYPES

log = structlog.get_logger()

# Keys of a warehouse connection that hold secrets (Lightdash's names: password,
# privateKey, privateKeyPass, keyfileContents, personalAccessToken, token,
# refreshToken, clientSecret, sshTunnelPrivateKey, …). Matching generously is
# safe: a redacted harmless key costs nothing, a leaked secret costs a lot.
_SECRET_KEY = re.compile(r"pass|secret|token|key|credential|auth", re.IGNORECASE)
_SAFE_KEYS = frozenset({"type", "authenticationType"})
MAX_EXPLORE_NAME = 255
# The warehouse types of Lightdash's `Project.warehouseConnection`: a connection of another
# type (DuckDB) is not shown there, since Lightdash's clients cannot parse it.
LIGHTDASH_WAREHOUSE_TYPES = frozenset(
    {"bigquery", "databricks", "postgres", "redshift", "snowflake", "trino"}
)


# -- warehouse connection ----------------------------------------------------------


def redact_connection(document: dict[str, Any]) -> dict[str, Any]:
    """The connection without anything that looks like a secret (nested objects included)."""
    redacted: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _SAFE_KEYS and _SECRET_KEY.search(key):
            continue
        redacted[key] = redact_connection(value) if isinstance(value, dict) else value
    return redacted


def public_connection(runtime: Runtime, project: Project) -> dict[str, Any] | None:
    """What clients may see of the stored connection: its settings, never its secrets."""
    if not project.warehouse_connection:
        return None
    try:
        document = runtime.secret_box.open(project.warehouse_connection)
    except ValueError:
        # The server secret changed without keeping the old one in the previous list.
        log.warning("project.connection_unreadable", project_uuid=project.uuid)
        return None
    return redact_connection(document)


def seal_connection(
    runtime: Runtime, connection: dict[str, Any], *, previous: str | None = None
) -> str:
    """Encrypt a connection at rest with the server secret.

    Rules: a client that read the (redacted) connection and sends it back
    changed must not wipe its secrets, so secrets absent from the new document
    are kept from the stored one when the warehouse type is unchanged; the result
    must be well formed for the types Lightkeeper runs (`duckdb`, `postgres`:
    Lightdash's shape) and a DuckDB file must lie inside LIGHTKEEPER_WAREHOUSE_DIRS
    (else 400).
    """
    document = dict(connection)
    if previous:
        try:
            stored = runtime.secret_box.open(previous)
        except ValueError:
            stored = {}
        if stored.get("type") == document.get("type"):
            for key, value in stored.items():
                if key not in document and key not in _SAFE_KEYS and _SECRET_KEY.search(key):
                    document[key] = value
    if document.get("type") in WAREHOUSE_TYPES:
        # What Lightkeeper runs is checked now; other types (a CLI's `deploy --create` from a
        # Snowflake profile) are kept as Lightdash would, and queries on them answer 400.
        warehouse.parse_connection(document, allowed_dirs=runtime.settings.warehouse_dir_list)
    return runtime.secret_box.seal(document)


def project_out(runtime: Runtime, project: Project) -> ProjectOut:
    """A project on the wire. Rules: its warehouse connection goes out without secrets."""
    connection = public_connection(runtime, project)
    warehouse_type = connection.get("type") if connection else None
    return ProjectOut(
        project_uuid=project.uuid,
        organization_uuid=project.organization_uuid,
        name=project.name,
        type=project.type,
        upstream_project_uuid=project.upstream_project_uuid,
        created_by_user_uuid=project.created_by_user_uuid,
        created_at=project.created_at,
        warehouse_type=warehouse_type,
        scheduler_timezone=project.scheduler_timezone or "UTC",
        warehouse_connection=connection if warehouse_type in LIGHTDASH_WAREHOUSE_TYPES else None,
    )


def clean_project_name(name: str) -> str:
    """A project name as stored. Rules: trimmed, non-empty, at most 255 characters (else 400)."""
    name = name.strip()
    if not name:
        raise ParameterError("Project name cannot be empty", {"fields": {"name": "required"}})
    if len(name) > 255:
        raise ParameterError(
            "Project name must be at most 255 characters", {"fields": {"name": "too long"}}
        )
    return name


# -- the project -------------------------------------------------------------------


def get_project(session: Session, principal: Principal, project_uuid: str) -> Project:
    """A project the principal may view.

    Rules: another organization's project, or one the principal cannot see, is 404.
    """
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    return project


def update_project(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, body: ProjectUpdate
) -> Project:
    """Rename a project and/or replace its warehouse connection.

    Rules: needs `update:Project` (`@self` only for previews the principal
    created), and `manage:Project` to change the warehouse connection; the name
    cannot be empty; the connection is checked (seal_connection), sealed with the
    server secret and its omitted secrets are kept; audited without secrets.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "update", "Project", project=target))
    fields = body.model_fields_set
    if "warehouse_connection" in fields:
        access.require(
            access.allows(principal, "manage", "Project", project=target)
            or (
                target.type == "PREVIEW"
                and access.allows(principal, "update", "Project", project=target)
            ),
            "Changing the warehouse connection needs manage:Project (a project admin)",
        )
    before = {"name": project.name}
    if "name" in fields:
        if body.name is None:
            raise ParameterError("Project name cannot be empty", {"fields": {"name": "required"}})
        project.name = clean_project_name(body.name)
    details = changes(before, {"name": project.name})
    if "warehouse_connection" in fields:
        old_type = (public_connection(runtime, project) or {}).get("type")
        if body.warehouse_connection is None:
            project.warehouse_connection = None
        else:
            project.warehouse_connection = seal_connection(
                runtime, body.warehouse_connection, previous=project.warehouse_connection
            )
        # Secrets never go to the audit log: record that it changed, and the warehouse type.
        details["warehouseConnection"] = {
            "before": {"type": old_type},
            "after": {"type": (body.warehouse_connection or {}).get("type")},
        }
    session.flush()
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_UPDATED,
        target=Target(TargetType.PROJECT, project.uuid, project.name),
        details=details,
    )
    return project


def update_scheduler_settings(
    session: Session, principal: Principal, project_uuid: str, timezone: str
) -> Project:
    """Set the project's scheduler timezone.

    Rules: needs `manage:Project` (404 invisible, 403); the timezone is an IANA name
    (`Europe/Paris`, `UTC`; else 400); audited `project.updated`.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "manage", "Project", project=target))
    if timezone not in _timezones():
        raise ParameterError(
            f"Unknown timezone {timezone!r}: use an IANA name such as UTC or Europe/Paris",
            {"fields": {"schedulerTimezone": "unknown timezone"}},
        )
    before = {"schedulerTimezone": project.scheduler_timezone or "UTC"}
    project.scheduler_timezone = timezone
    _audit_update(session, principal, project, before, {"schedulerTimezone": timezone})
    return project


def update_metadata(
    session: Session,
    principal: Principal,
    project_uuid: str,
    upstream_project_uuid: str | None,
    *,
    change_upstream: bool = True,
) -> Project:
    """Set (or, with null, clear) the project's upstream project, where content is promoted to.

    Rules: needs `manage:Project` on the project (404 invisible, 403); the upstream is
    another project of the organization the principal can see (else 404), never the
    project itself (400); nothing changes without `change_upstream` (the field absent);
    audited `project.updated`.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "manage", "Project", project=target))
    if not change_upstream:
        return project
    if upstream_project_uuid == project.uuid:
        raise ParameterError(
            "A project cannot be its own upstream project",
            {"fields": {"upstreamProjectUuid": "same as the project"}},
        )
    if upstream_project_uuid is not None:
        tenancy.visible_project(session, principal, upstream_project_uuid)
    before = {"upstreamProjectUuid": project.upstream_project_uuid}
    project.upstream_project_uuid = upstream_project_uuid
    _audit_update(
        session, principal, project, before, {"upstreamProjectUuid": upstream_project_uuid}
    )
    return project


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _audit_update(
    session: Session,
    principal: Principal,
    project: Project,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.flush()
    if before != after:
        record(
            session,
            organization_uuid=project.organization_uuid,
            actor=principal,
            action=AuditAction.PROJECT_UPDATED,
            target=Target(TargetType.PROJECT, project.uuid, project.name),
            details=changes(before, after),
        )


# -- explores ----------------------------------------------------------------------


def parse_explores(body: Any) -> list[dict[str, Any]]:
    """Read a deploy body: a list of explores, or `{"explores": [...]}` as some clients send.

    Rules: every explore is an object with a non-empty, unique `name` (at most
    255 characters) and a non-empty `tables` object, except an explore that
    failed to compile (Lightdash's ExploreError: a non-empty `errors` list and
    no `tables`); a 400 names the explore.
    """
    if isinstance(body, dict) and "explores" in body:
        body = body["explores"]
    if not isinstance(body, list):
        raise ParameterError(
            'The body must be a list of explores (or {"explores": [...]})',
            {"fields": {"body": "expected a list of explores"}},
        )
    seen: set[str] = set()
    for position, item in enumerate(body):
        where = f"explores.{position}"
        if not isinstance(item, dict):
            raise ParameterError(
                f"Explore #{position + 1} is not an object", {"fields": {where: "not an object"}}
            )
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(
                f"Explore #{position + 1} has no name: every explore needs a non-empty `name`",
                {"fields": {f"{where}.name": "required"}},
            )
        if len(name) > MAX_EXPLORE_NAME:
            raise ParameterError(
                f"Explore {name[:40]!r}… has a name longer than {MAX_EXPLORE_NAME} characters",
                {"fields": {f"{where}.name": "too long"}},
            )
        if name in seen:
            raise ParameterError(
                f"Explore {name!r} appears more than once: explore names must be unique",
                {"fields": {f"{where}.name": "duplicate"}},
            )
        seen.add(name)
        tables = item.get("tables")
        errors = item.get("errors")
        if isinstance(errors, list) and errors and tables is None:
            continue  # Lightdash's ExploreError: a model that failed to compile, kept with its errors
        if not isinstance(tables, dict) or not tables:
            raise ParameterError(
                f"Explore {name!r} has no tables: give `tables` with at least its base table",
                {"fields": {f"{where}.tables": "required"}},
            )
    return body


def deploy_explores(session: Session, principal: Principal, project_uuid: str, body: Any) -> int:
    """Replace all explores of a project with the deployed ones.

    Rules: needs `manage:DeployProject` (`@self` only on previews the principal
    created); the body is validated whole before anything changes; audited
    with counts of added, updated and removed explores.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "manage", "DeployProject", project=target))
    return replace_project_explores(session, principal, project, parse_explores(body))


def replace_project_explores(
    session: Session, principal: Principal, project: Project, explores: list[dict[str, Any]]
) -> int:
    """Store parsed explores in place of the project's, audited (the one home of a deploy).

    Used by the plain deploy and by a batched deploy's finalize; the caller has
    checked `manage:DeployProject` and parsed the explores.
    """
    before = repository.explore_names(session, project.uuid)
    after = {e["name"] for e in explores}
    repository.replace_explores(session, project.uuid, explores)
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_EXPLORES_DEPLOYED,
        target=Target(TargetType.PROJECT, project.uuid, project.name),
        details={
            "explores": len(explores),
            "added": len(after - before),
            "updated": len(after & before),
            "removed": len(before - after),
        },
    )
    log.info("project.explores_deployed", project_uuid=project.uuid, explores=len(explores))
    return len(explores)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def explore_summary(explore: Explore) -> ExploreSummaryOut:
    """Lightdash's explore summary. Rules: database, schema, description from the base table."""
    body = explore.body
    tables, base_name = body.get("tables"), body.get("baseTable")
    base = (
        tables.get(base_name) if isinstance(tables, dict) and isinstance(base_name, str) else None
    )
    base = base if isinstance(base, dict) else {}
    tags = body.get("tags")
    return ExploreSummaryOut(
        name=explore.name,
        label=_text(body.get("label")) or explore.name,
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        group_label=_text(body.get("groupLabel")),
        database_name=_text(base.get("database")) or "",
        schema_name=_text(base.get("schema")) or "",
        description=_text(body.get("description") or base.get("description")),
    )


def list_explores(
    session: Session, principal: Principal, project_uuid: str
) -> list[ExploreSummaryOut]:
    """Summaries of the project's explores, by name. Rules: needs `view:Project`."""
    project = get_project(session, principal, project_uuid)
    return [explore_summary(e) for e in repository.explores(session, project.uuid)]


def project_dialect(runtime: Runtime, project: Project) -> Dialect:
    """The SQL dialect of the project's warehouse: PostgreSQL's, else DuckDB (also the demo's)."""
    document = public_connection(runtime, project)
    return "postgres" if document and document.get("type") == "postgres" else "duckdb"


def get_explore(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, name: str
) -> dict[str, Any]:
    """One explore as Lightdash's `CompiledExplore`: each field with the `compiledSql` a query
    runs for it in the project's dialect (compiler/catalogue.py).

    Rules: needs `view:Project`; an unknown name is a 404 naming it."""
    project = get_project(session, principal, project_uuid)
    explore = repository.explore(session, project.uuid, name)
    if explore is None:
        raise NotFoundError(f"Explore {name!r} not found in this project")
    return _compiled(explore.body, project_dialect(runtime, project))


# A compiled explore depends only on the deployed body and the dialect, so it is remembered by a
# digest of both: every process computes the same key, and a new deploy is a new key at once.
# Compiling costs 10-60 ms an explore, hashing its body ~0.1 ms. Callers only read the result.
MAX_COMPILED_EXPLORES = 256
_compiled_explores: dict[tuple[bytes, Dialect], dict[str, Any]] = {}


def _compiled(body: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    try:
        text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: compiled, not remembered
        return compiled_explore(body, dialect)
    key = (hashlib.sha256(text).digest(), dialect)
    compiled = _compiled_explores.get(key)
    if compiled is None:
        compiled = compiled_explore(body, dialect)
        if len(_compiled_explores) >= MAX_COMPILED_EXPLORES:
            _compiled_explores.clear()  # races only compile twice
        _compiled_explores[key] = compiled
    return compiled


# -- preview copies ----------------------------------------------------------------


def _depth_order(spaces: Sequence[Space]) -> list[Space]:
    """Parents before children, so each copied space can point at its copied parent."""
    by_uuid = {s.uuid: s for s in spaces}

    def depth(space: Space) -> int:
        level, seen = 0, {space.uuid}
        while space.parent_space_uuid in by_uuid and space.parent_space_uuid not in seen:
            seen.add(space.parent_space_uuid)
            space = by_uuid[space.parent_space_uuid]
            level += 1
        return level

    return sorted(spaces, key=depth)


def _repoint_tile(tile: Any, chart_map: dict[str, str]) -> dict[str, Any] | None:
    """A tile of the copy, pointing at the copied chart; None when its chart was not copied."""
    if not isinstance(tile, dict):
        return None
    copied: dict[str, Any] = copy.deepcopy(tile)
    if "uuid" in copied:
        copied["uuid"] = str(uuid_module.uuid4())
    for holder in (copied, copied.get("properties")):
        if isinstance(holder, dict) and holder.get("savedChartUuid"):
            new_uuid = chart_map.get(str(holder["savedChartUuid"]))
            if new_uuid is None:
                return None
            holder["savedChartUuid"] = new_uuid
    return copied


def copy_into_preview(
    session: Session,
    principal: Principal,
    upstream: Project,
    preview: Project,
    *,
    content: bool = True,
) -> dict[str, int]:
    """Fill a new preview project from its upstream.

    Rules: every explore is copied; with `content` (the default), spaces are copied only where the principal
    can see them (a private space not shared with them stays behind), with
    their charts and dashboards; shares are not copied; the principal is the
    creator of every copy; dashboard tiles point at the copied charts, and a
    tile whose chart was not copied is left out.
    """
    now = utcnow()
    for explore in repository.explores(session, upstream.uuid):
        body = copy.deepcopy(explore.body)
        session.add(Explore(project_uuid=preview.uuid, name=explore.name, body=body))
    if not content:
        session.flush()
        return {"spaces": 0, "charts": 0, "dashboards": 0}

    spaces = list(repository.spaces(session, upstream.uuid))
    targets = tenancy.space_targets(session, upstream, spaces)
    visible = [s for s in spaces if access.can_see_space(principal, targets[s.uuid])]
    space_map: dict[str, str] = {}
    for space in _depth_order(visible):
        new_space = Space(
            uuid=str(uuid_module.uuid4()),
            project_uuid=preview.uuid,
            parent_space_uuid=space_map.get(space.parent_space_uuid or ""),
            name=space.name,
            slug=space.slug,
            is_private=space.is_private,
            created_by_user_uuid=principal.user_uuid,
            created_at=now,
        )
        space_map[space.uuid] = new_space.uuid
        session.add(new_space)
    # Inserts of one table keep the order they were added in: parents reach the database first.
    session.flush()

    chart_map: dict[str, str] = {}
    new_charts: list[SavedChart] = []
    for chart in repository.charts_in(session, upstream.uuid, set(space_map)):
        new_chart = SavedChart(
            uuid=str(uuid_module.uuid4()),
            project_uuid=preview.uuid,
            space_uuid=space_map[chart.space_uuid],
            name=chart.name,
            description=chart.description,
            slug=chart.slug,
            table_name=chart.table_name,
            metric_query=copy.deepcopy(chart.metric_query),
            chart_config=copy.deepcopy(chart.chart_config),
            table_config=copy.deepcopy(chart.table_config),
            created_at=now,
            created_by_user_uuid=principal.user_uuid,
            updated_at=now,
            updated_by_user_uuid=principal.user_uuid,
        )
        chart_map[chart.uuid] = new_chart.uuid
        new_charts.append(new_chart)

    new_dashboards: list[Dashboard] = []
    for dashboard in repository.dashboards_in(session, upstream.uuid, set(space_map)):
        tiles = [t for t in (_repoint_tile(t, chart_map) for t in dashboard.tiles or []) if t]
        new_dashboards.append(
            Dashboard(
                uuid=str(uuid_module.uuid4()),
                project_uuid=preview.uuid,
                space_uuid=space_map[dashboard.space_uuid],
                name=dashboard.name,
                description=dashboard.description,
                slug=dashboard.slug,
                tiles=tiles,
                filters=copy.deepcopy(dashboard.filters),
                created_at=now,
                created_by_user_uuid=principal.user_uuid,
                updated_at=now,
                updated_by_user_uuid=principal.user_uuid,
            )
        )
    session.add_all(new_charts)
    session.add_all(new_dashboards)
    session.flush()
    # Each copy's history starts with one version, as if the caller had saved it. Added after
    # the flush: without relationships the unit of work does not order dependent tables.
    session.add_all(
        SavedChartVersion(
            chart_uuid=chart.uuid,
            snapshot={**chart_snapshot(chart), "_seq": 1},
            created_at=now,
            updated_by_user_uuid=principal.user_uuid,
        )
        for chart in new_charts
    )
    session.add_all(
        DashboardVersion(
            dashboard_uuid=dashboard.uuid,
            snapshot={**dashboard_snapshot(dashboard), "_seq": 1},
            created_at=now,
            updated_by_user_uuid=principal.user_uuid,
        )
        for dashboard in new_dashboards
    )
    session.flush()
    return {"spaces": len(space_map), "charts": len(new_charts), "dashboards": len(new_dashboards)}
