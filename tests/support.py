"""Building test worlds quickly, and reading the database back: the one home of test builders.

Setup goes straight through the services (no HTTP) so tests spend their time
on the behaviour they assert; where a row has a service that makes it (people,
tokens, service accounts) the builder calls it, so test rows are shaped like real
ones. A folder's helpers.py keeps only what that folder alone needs (URLs,
request helpers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.identity import people
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.models import (
    AuditEvent,
    Base,
    CustomRole,
    Dashboard,
    Group,
    GroupMembership,
    Organization,
    Project,
    ProjectGroupAccess,
    ProjectMembership,
    SavedChart,
    ServiceAccount,
    Space,
    SpaceGroupShare,
    SpaceShare,
    TrustPolicy,
    User,
)
from lightkeeper.personal_token.service import store_personal_token
from lightkeeper.project import demo
from lightkeeper.project.repository import replace_explores
from lightkeeper.runtime import Runtime
from lightkeeper.service_account.service import org_role_of, store_service_account
from lightkeeper.warehouse.demo import retarget_explores

PASSWORD = "correct horse battery"
# Data the tests read lives in the repository, so a plain clone passes (tests/fixtures/*/README.md
# say where each file came from).
FIXTURES = Path(__file__).parent / "fixtures"
JAFFLE_MANIFEST = FIXTURES / "dbt/jaffle-shop-demo/manifest.json"


def auth(token: str) -> dict[str, str]:
    """The header a Lightdash client sends for this token (ApiKey for personal, Bearer for SA)."""
    scheme = "Bearer" if token.startswith("ldsvc_") else "ApiKey"
    return {"Authorization": f"{scheme} {token}"}


@dataclass
class Person:
    uuid: str
    email: str
    role: str
    token: str
    organization_uuid: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


@dataclass
class Org:
    uuid: str
    name: str
    people: dict[str, Person] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)  # name -> uuid


def make_org(runtime: Runtime, name: str, roles: tuple[str, ...] = ("admin",)) -> Org:
    """An organization with one person per role (the admin first), each with a personal token."""
    with transaction(runtime.sessions) as session:
        organization = people.create_organization(session, name)
        org = Org(organization.uuid, name)
        for role in ("admin", *[r for r in roles if r != "admin"]):
            org.people[role] = _person(runtime, session, organization, role)
    return org


def add_person(runtime: Runtime, org: Org, role: str, key: str | None = None) -> Person:
    with transaction(runtime.sessions) as session:
        organization = session.get(Organization, org.uuid)
        assert organization is not None
        person = _person(runtime, session, organization, role, key)
    org.people[key or role] = person
    return person


def _person(
    runtime: Runtime, session, organization: Organization, role: str, key: str | None = None
) -> Person:  # type: ignore[no-untyped-def]
    email = f"{key or role}@{organization.name.lower().replace(' ', '-')}.example"
    user = people.create_user(
        runtime,
        session,
        organization,
        email=email,
        role=role,
        first_name=(key or role).title(),
        last_name="Tester",
        password=PASSWORD,
    )
    _pat, token = store_personal_token(runtime, session, user, description="tests", expires_at=None)
    return Person(user.uuid, email, role, token, organization.uuid)


def make_project(
    runtime: Runtime, org: Org, name: str, *, type_: str = "DEFAULT", created_by: str | None = None
) -> str:
    with transaction(runtime.sessions) as session:
        project = Project(
            organization_uuid=org.uuid,
            name=name,
            type=type_,
            created_by_user_uuid=created_by or org.people["admin"].uuid,
        )
        session.add(project)
        session.flush()
        org.projects[name] = project.uuid
        return project.uuid


def add_membership(runtime: Runtime, project_uuid: str, user_uuid: str, role: str) -> None:
    with transaction(runtime.sessions) as session:
        session.add(ProjectMembership(project_uuid=project_uuid, user_uuid=user_uuid, role=role))


def in_days(days: float = 30) -> str:
    """An ISO-8601 time `days` from now, as a client sends an expiry."""
    return iso(utcnow() + timedelta(days=days)) or ""


def authenticated(client: TestClient, headers: dict[str, str]) -> bool:
    """Whether the server accepts these credentials (the health endpoint says, never 401)."""
    return bool(client.get("/api/v1/health", headers=headers).json()["results"]["isAuthenticated"])


# -- service accounts ----------------------------------------------------------


class ServiceAccountMade(NamedTuple):
    """A service account a test made: its uuid, its principal's (user) uuid, its token."""

    uuid: str
    principal_uuid: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def add_service_account(
    runtime: Runtime,
    org: Org,
    description: str = "CI deploys",
    *,
    role: str = "admin",
    role_uuid: str | None = None,
    created_by: str | None = None,
    expires_at: datetime | None = None,
) -> ServiceAccountMade:
    """A service account made by the service itself, with no audit event and no grant ceiling.

    The grant is `system:<role>` (role `member` is the project shape: add project
    grants with add_membership), or the custom role `role_uuid` when given, written
    as the service writes it: on the principal row and on the account.
    """
    with transaction(runtime.sessions) as session:
        account, principal, token = store_service_account(
            runtime,
            session,
            organization_uuid=org.uuid,
            description=description,
            expires_at=expires_at,
            created_by_user_uuid=created_by,
        )
        if role_uuid is None:
            account.scopes = [f"system:{role}"]
            principal.role = org_role_of(account.scopes)
        else:
            account.role_uuid = principal.custom_role_uuid = role_uuid
        return ServiceAccountMade(account.uuid, principal.uuid, token)


def add_trust_policy(
    runtime: Runtime,
    account: ServiceAccountMade,
    issuer: str,
    *,
    claims: dict[str, str] | None = None,
    subject: str | None = None,
    audience: str = "http://localhost:8080",
    max_token_lifetime_seconds: int = 900,
    enabled: bool = True,
) -> str:
    """A trust policy of `account` (by default GitHub-shaped: the local issuer's owner and repo
    ids, see tests/oidc_issuer.py); returns its uuid."""
    with transaction(runtime.sessions) as session:
        sa = session.get(ServiceAccount, account.uuid)
        assert sa is not None
        policy = TrustPolicy(
            organization_uuid=sa.organization_uuid,
            service_account_uuid=sa.uuid,
            provider="github",
            issuer=issuer,
            audience=audience,
            subject=subject,
            claims=claims if claims is not None else {"repository_owner_id": "9919", "repository_id": "123456789"},
            max_token_lifetime_seconds=max_token_lifetime_seconds,
            enabled=enabled,
        )
        session.add(policy)
        session.flush()
        return policy.uuid


# -- custom roles and bindings ---------------------------------------------------


def add_custom_role(runtime: Runtime, org: Org, name: str, scopes: list[str]) -> str:
    """A custom role of the organization; returns its uuid."""
    with transaction(runtime.sessions) as session:
        role = CustomRole(organization_uuid=org.uuid, name=name, scopes=scopes)
        session.add(role)
        session.flush()
        return role.uuid


def bind_org_role(runtime: Runtime, user_uuid: str, role_uuid: str | None) -> None:
    """Make (or, with None, stop) a custom role a person's org-level grant."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        user.custom_role_uuid = role_uuid


def bind_project_role(runtime: Runtime, project_uuid: str, user_uuid: str, role_uuid: str) -> None:
    """A project membership holding a custom role (add_membership gives a system role)."""
    with transaction(runtime.sessions) as session:
        session.add(
            ProjectMembership(project_uuid=project_uuid, user_uuid=user_uuid, role_uuid=role_uuid)
        )


def custom_role_holder(
    runtime: Runtime, org: Org, key: str, scopes: list[str], *, role: str = "member"
) -> tuple[Person, str]:
    """A person with system org role `role` and an org-level custom role holding `scopes`."""
    person = add_person(runtime, org, role, key=key)
    role_uuid = add_custom_role(runtime, org, f"{key} role", scopes)
    bind_org_role(runtime, person.uuid, role_uuid)
    return person, role_uuid


# -- groups ----------------------------------------------------------------------


def add_group(
    runtime: Runtime,
    org: Org,
    name: str,
    *,
    members: tuple[str, ...] = (),
    project_roles: dict[str, str] | None = None,
    space_roles: dict[str, str] | None = None,
) -> str:
    """A group of the organization with these member uuids, project roles and space roles
    (written straight to the database: no audit event, no ceiling); returns its uuid."""
    with transaction(runtime.sessions) as session:
        group = Group(organization_uuid=org.uuid, name=name)
        session.add(group)
        session.flush()
        for user_uuid in members:
            session.add(GroupMembership(group_uuid=group.uuid, user_uuid=user_uuid))
        for project_uuid, role in (project_roles or {}).items():
            session.add(
                ProjectGroupAccess(project_uuid=project_uuid, group_uuid=group.uuid, role=role)
            )
        for space_uuid, role in (space_roles or {}).items():
            session.add(SpaceGroupShare(space_uuid=space_uuid, group_uuid=group.uuid, role=role))
        return group.uuid


# -- content ---------------------------------------------------------------------


def add_space(
    runtime: Runtime,
    project_uuid: str,
    name: str,
    *,
    private: bool = False,
    created_by: str | None = None,
    parent: str | None = None,
    shared_with: dict[str, str] | None = None,
) -> str:
    with transaction(runtime.sessions) as session:
        space = Space(
            project_uuid=project_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            is_private=private,
            created_by_user_uuid=created_by,
            parent_space_uuid=parent,
        )
        session.add(space)
        session.flush()
        for user_uuid, role in (shared_with or {}).items():
            session.add(SpaceShare(space_uuid=space.uuid, user_uuid=user_uuid, role=role))
        return space.uuid


def add_chart(runtime: Runtime, project_uuid: str, space_uuid: str, name: str) -> str:
    with transaction(runtime.sessions) as session:
        chart = SavedChart(
            project_uuid=project_uuid,
            space_uuid=space_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            table_name="orders",
            metric_query={"exploreName": "orders", "dimensions": ["orders_status"]},
        )
        session.add(chart)
        session.flush()
        return chart.uuid


def add_dashboard(
    runtime: Runtime, project_uuid: str, space_uuid: str, name: str, chart_uuids: list[str]
) -> str:
    """A dashboard with one tile per chart and a markdown tile."""
    tiles: list[dict[str, Any]] = [
        {
            "uuid": f"00000000-0000-4000-8000-00000000000{i}",
            "type": "saved_chart",
            "x": 0,
            "y": i,
            "h": 3,
            "w": 6,
            "properties": {"savedChartUuid": chart_uuid, "title": f"tile {i}"},
        }
        for i, chart_uuid in enumerate(chart_uuids)
    ]
    tiles.append(
        {
            "uuid": "00000000-0000-4000-8000-0000000000ff",
            "type": "markdown",
            "x": 6,
            "y": 0,
            "h": 3,
            "w": 6,
            "properties": {"title": "notes", "content": "hello"},
        }
    )
    with transaction(runtime.sessions) as session:
        dashboard = Dashboard(
            project_uuid=project_uuid,
            space_uuid=space_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            tiles=tiles,
        )
        session.add(dashboard)
        session.flush()
        return dashboard.uuid


# -- reading the database --------------------------------------------------------


def user_row(runtime: Runtime, user_uuid: str) -> User | None:
    with transaction(runtime.sessions) as session:
        return session.get(User, user_uuid)


def membership_row(runtime: Runtime, project_uuid: str, user_uuid: str) -> ProjectMembership | None:
    with transaction(runtime.sessions) as session:
        return session.get(ProjectMembership, (project_uuid, user_uuid))


def role_row(runtime: Runtime, role_uuid: str) -> CustomRole | None:
    with transaction(runtime.sessions) as session:
        return session.get(CustomRole, role_uuid)


def service_account_row(runtime: Runtime, uuid: str) -> ServiceAccount | None:
    with transaction(runtime.sessions) as session:
        return session.get(ServiceAccount, uuid)


def count_rows(runtime: Runtime, model: type[Base], **where: Any) -> int:
    """How many rows of `model` have these column values (all rows without any)."""
    with transaction(runtime.sessions) as session:
        statement = select(func.count()).select_from(model)
        for column, value in where.items():
            statement = statement.where(getattr(model, column) == value)
        return session.scalar(statement) or 0


def audit_events(
    runtime: Runtime,
    action: str | None = None,
    *,
    organization_uuid: str | None = None,
    prefix: str | None = None,
) -> list[AuditEvent]:
    """The audit log, oldest first: of one action, of one organization, of the actions
    starting with `prefix` (e.g. "service_account."), or all of it."""
    statement = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    if organization_uuid is not None:
        statement = statement.where(AuditEvent.organization_uuid == organization_uuid)
    if prefix is not None:
        statement = statement.where(AuditEvent.action.startswith(prefix, autoescape=True))
    with transaction(runtime.sessions) as session:
        return list(session.scalars(statement))


def database_text(runtime: Runtime) -> str:
    """Every row of every table as text, to prove a secret is stored nowhere."""
    parts: list[str] = []
    with transaction(runtime.sessions) as session:
        for table in Base.metadata.sorted_tables:
            parts.extend(f"{table.name}: {tuple(row)!r}" for row in session.execute(select(table)))
    return "\n".join(parts)


# -- warehouses (queries) ---------------------------------------------------------------------


def demo_explores(*, schema: str | None = None) -> list[dict[str, Any]]:
    """The demo project's explores (`lightkeeper.project.demo`): the packaged manifest, columns
    typed from its warehouse, those whose table was built.

    With ``schema`` the tables point at that schema of the connection's database (a PostgreSQL
    schema filled by `lightkeeper.warehouse.demo.load_demo_postgres`).
    """
    explores = demo.demo_explores()
    if schema is None:
        return explores
    return retarget_explores(explores, database=None, schema=schema)


def postgres_warehouse_document(admin_url: str, schema: str) -> dict[str, Any]:
    """A `postgres` warehouse connection (Lightdash's shape) for a schema on the test server."""
    parts = urlsplit(admin_url)
    return {
        "type": "postgres",
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "dbname": parts.path.lstrip("/") or "postgres",
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "schema": schema,
        "sslmode": "disable",
    }


def add_query_project(
    runtime: Runtime,
    org: Org,
    name: str,
    connection: dict[str, Any] | None,
    explores: list[dict[str, Any]] | None = None,
) -> str:
    """A project with a (sealed) warehouse connection and deployed explores; returns its uuid."""
    project_uuid = make_project(runtime, org, name)
    with transaction(runtime.sessions) as session:
        project = session.get(Project, project_uuid)
        assert project is not None
        if connection is not None:
            project.warehouse_connection = runtime.secret_box.seal(connection)
        replace_explores(
            session, project_uuid, explores if explores is not None else demo_explores()
        )
    return project_uuid
