"""Building test worlds quickly: organizations, people with tokens, projects.

Setup goes straight through the services (no HTTP) so tests spend their time
on the behaviour they assert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lightkeeper.db import transaction
from lightkeeper.identity import people
from lightkeeper.models import Organization, Project, ProjectMembership, User
from lightkeeper.personal_token.service import store_personal_token
from lightkeeper.runtime import Runtime

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
    _pat, token = store_personal_token(
        runtime, session, user, description="tests", expires_at=None
    )
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


def user_row(runtime: Runtime, user_uuid: str) -> User | None:
    with transaction(runtime.sessions) as session:
        return session.get(User, user_uuid)
