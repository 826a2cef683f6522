"""The demo project: the jaffle-shop warehouse shipped in the package, queryable at once.

A newcomer's first organization gets it when the demo is switched on (`LIGHTKEEPER_DEMO=true`,
which `lightkeeper serve --demo` sets, or the box on the /register page). It is:

- a DEFAULT project named `Jaffle shop (demo)`, created by the organization's first admin;
- a DuckDB warehouse file built once from the shipped CSV tables, in the data directory
  (`<LIGHTKEEPER_DATA_DIR>/demo/jaffle_shop.duckdb`, inside the default
  `LIGHTKEEPER_WAREHOUSE_DIRS`), opened read-only like any other DuckDB warehouse; the file is
  named after the manifest's database so the explores' `"jaffle_shop"."jaffle"."…"` tables resolve;
- the explores of the shipped dbt manifest (the same conversion as `lightkeeper deploy`), except
  those whose base table was not built (schema.json's `models_not_built`).

Building the file is the slow part (a second or two), done before any row is written; a file
that already exists is reused (another organization's demo, or a restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, record
from lightkeeper.auth.principal import Principal
from lightkeeper.dbt_manifest import convert_manifest, load_manifest
from lightkeeper.models import Organization, Project, User
from lightkeeper.project import repository
from lightkeeper.project.service import seal_connection
from lightkeeper.runtime import Runtime
from lightkeeper.warehouse import demo as demo_data

log = structlog.get_logger()

DEMO_PROJECT_NAME = "Jaffle shop (demo)"


def demo_database_path(runtime: Runtime) -> Path:
    """Where the demo warehouse file lives: the data directory's `demo/` folder."""
    return (runtime.settings.data_dir / "demo" / demo_data.DEMO_DATABASE_FILENAME).resolve()


def ensure_demo_database(runtime: Runtime) -> Path:
    """The demo DuckDB file, built from the shipped tables unless it exists already."""
    path = demo_database_path(runtime)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        demo_data.build_demo_duckdb(path)  # built aside, then renamed: never half a file
        log.info("demo.warehouse_built", path=str(path))
    return path


def demo_explores() -> list[dict[str, Any]]:
    """The shipped manifest's explores whose base table exists in the demo warehouse.

    The manifest's columns have no `data_type` (dbt leaves it to the warehouse catalog, which
    Lightdash reads at deploy): the demo warehouse's own column types stand in for the catalog,
    so `amount` is a number and `is_completed` a boolean, as on Lightdash.
    """
    report = convert_manifest(
        load_manifest(demo_data.DEMO_MANIFEST), column_types=demo_data.demo_column_types()
    )
    built = {table["name"] for table in demo_data.demo_tables()}
    return [explore for explore in report.explores if _base_table_name(explore) in built]


def _base_table_name(explore: dict[str, Any]) -> str | None:
    tables = explore.get("tables") or {}
    base = tables.get(explore.get("baseTable")) or {}
    sql_table = str(base.get("sqlTable") or "")
    # `"jaffle_shop"."jaffle"."orders"` → orders (the warehouse table, whatever the explore's name)
    return sql_table.rsplit(".", 1)[-1].strip('"') or None


def create_demo_project(
    runtime: Runtime,
    session: Session,
    organization: Organization,
    creator: User,
    actor: Principal | Actor,
) -> Project:
    """Add the demo project, its DuckDB warehouse and its explores to `organization`.

    Rules: created by `creator` (the first admin); the warehouse connection is sealed like any
    other; audited as `project.created` then `project.explores_deployed` with `demo: true`.
    """
    database = ensure_demo_database(runtime)
    explores = demo_explores()
    project = Project(
        organization_uuid=organization.uuid,
        name=DEMO_PROJECT_NAME,
        type="DEFAULT",
        created_by_user_uuid=creator.uuid,
        warehouse_connection=seal_connection(
            runtime, {"type": "duckdb", "database": str(database), "schema": demo_data.DEMO_SCHEMA}
        ),
    )
    session.add(project)
    session.flush()
    target = Target(TargetType.PROJECT, project.uuid, project.name)
    record(
        session,
        organization_uuid=organization.uuid,
        actor=actor,
        action=AuditAction.PROJECT_CREATED,
        target=target,
        details={"name": project.name, "type": project.type, "demo": True},
    )
    repository.replace_explores(session, project.uuid, explores)
    record(
        session,
        organization_uuid=organization.uuid,
        actor=actor,
        action=AuditAction.PROJECT_EXPLORES_DEPLOYED,
        target=target,
        details={"explores": len(explores), "added": len(explores), "demo": True},
    )
    log.info("demo.project_created", project_uuid=project.uuid, explores=len(explores))
    return project
