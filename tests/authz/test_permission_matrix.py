"""The permission matrix, generated from the role tables rather than picked by hand.

Every org role, and every project role held through a project membership,
is tried on every kind of operation against a resource in the caller's
project, in another project of the organization, in another organization and
in a private space nobody shared with the caller. The expected status comes
from the role tables (authz.roles) and the rules of roles-and-scopes.md,
re-stated here independently of the server's decision code: 404 for what the
caller may not see, 403 for what it sees but may not do, 200 otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lightkeeper.authz.roles import (
    ORG_ROLE_ORG_SCOPES,
    PROJECT_ROLE_SCOPES,
    PROJECT_ROLES,
    SPACE_ROLE_FOR_PROJECT_ROLE,
)
from lightkeeper.authz.scopes import Scope
from tests.authz.conftest import MATRIX_CASES
from tests.support import add_membership, add_person, make_org, make_project

# Who calls: an org role (access to every project), or an org `member` with a project role.
CALLERS = [("org", r) for r in ("member", *PROJECT_ROLES)] + [("project", r) for r in PROJECT_ROLES]
PLACES = ("own", "other_project", "other_org", "private_space")


def _has(scopes: frozenset[Scope], text: str) -> bool:
    return Scope.parse(text) in scopes


@dataclass
class Expectation:
    """What the role tables say a caller with `role` on the target project may do."""

    role: str | None  # project role on the target project; None = no access

    @property
    def scopes(self) -> frozenset[Scope]:
        return PROJECT_ROLE_SCOPES[self.role] if self.role else frozenset()

    def has(self, *names: str) -> bool:
        return any(_has(self.scopes, n) for n in names)

    def sees_space(self, private: bool) -> bool:
        if self.role is None:
            return False
        # A private space nobody shared with the caller: only unqualified manage:Space sees it.
        return not private or self.has("manage:Space")

    def space_role(self, private: bool) -> str | None:
        if private:
            return "admin" if self.has("manage:Space") else None
        return SPACE_ROLE_FOR_PROJECT_ROLE.get(self.role or "")

    def manages_content(self, subject: str, private: bool) -> bool:
        if self.has(f"manage:{subject}"):
            return True
        return self.has(f"manage:{subject}@space") and self.space_role(private) in (
            "editor",
            "admin",
        )

    def manages_space(self, private: bool) -> bool:
        if self.has("manage:Space"):
            return True
        if not private and self.has("manage:Space@public"):
            return True
        return self.has("manage:Space@assigned") and self.space_role(private) == "admin"


def status(visible: bool, allowed: bool) -> int:
    return 404 if not visible else (200 if allowed else 403)


@dataclass
class World:
    client: TestClient
    admin: dict[str, str]
    caller: dict[str, str]
    caller_uuid: str
    bystander_uuid: str
    projects: dict[str, str]  # place -> project uuid
    spaces: dict[str, str]  # place -> space uuid
    charts: dict[str, str]
    dashboards: dict[str, str]
    admins: dict[str, dict[str, str]]  # place -> headers of an admin of that resource's org

    def make_chart(self, place: str, name: str) -> str:
        body = {"name": name, "spaceUuid": self.spaces[place], "tableName": "orders"}
        response = self.client.post(
            f"/api/v1/projects/{self.projects[place]}/saved", json=body, headers=self.admins[place]
        )
        assert response.status_code == 200, response.text
        return str(response.json()["results"]["uuid"])


def _build(runtime: Any, client: TestClient, kind: str, role: str) -> World:
    org = make_org(runtime, "Acme")
    stranger_org = make_org(runtime, "Globex")
    caller = add_person(runtime, org, role if kind == "org" else "member", key="caller")
    bystander = add_person(runtime, org, "member", key="bystander")
    admin, stranger_admin = org.people["admin"].headers, stranger_org.people["admin"].headers
    own = make_project(runtime, org, "Own")
    other = make_project(runtime, org, "Other")
    foreign = make_project(runtime, stranger_org, "Foreign")
    if kind == "project":
        add_membership(runtime, own, caller.uuid, role)
    projects = {"own": own, "other_project": other, "other_org": foreign, "private_space": own}
    admins = {
        "own": admin,
        "other_project": admin,
        "other_org": stranger_admin,
        "private_space": admin,
    }
    world = World(
        client, admin, caller.headers, caller.uuid, bystander.uuid, projects, {}, {}, {}, admins
    )
    for place in PLACES:
        space = client.post(
            f"/api/v1/projects/{projects[place]}/spaces",
            json={"name": f"Space {place}", "isPrivate": place == "private_space"},
            headers=admins[place],
        )
        assert space.status_code == 200, space.text
        world.spaces[place] = space.json()["results"]["uuid"]
        world.charts[place] = world.make_chart(place, f"Chart {place}")
        dashboard = client.post(
            f"/api/v1/projects/{projects[place]}/dashboards",
            json={"name": f"Dashboard {place}", "spaceUuid": world.spaces[place]},
            headers=admins[place],
        )
        assert dashboard.status_code == 200, dashboard.text
        world.dashboards[place] = dashboard.json()["results"]["uuid"]
    return world


Request = tuple[str, str, Any]
Operation = Callable[[World, str], Request]
Rule = Callable[[Expectation, bool], tuple[bool, bool]]  # (visible, allowed)

EXPLORE = [
    {
        "name": "orders",
        "label": "Orders",
        "baseTable": "orders",
        "tables": {"orders": {"name": "orders"}},
        "joinedTables": [],
    }
]


def _chart_doc(world: World, place: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "As code",
        "spaceSlug": f"space-{place.replace('_', '-')}",
        "tableName": "orders",
    }


# Each kind of operation: the request, and the rule that says who may do it.
PROJECT_OPERATIONS: dict[str, tuple[Operation, Rule]] = {
    "view project": (
        lambda w, p: ("GET", f"/api/v1/projects/{w.projects[p]}", None),
        lambda e, _priv: (e.role is not None, True),
    ),
    "update project": (
        lambda w, p: ("PATCH", f"/api/v1/projects/{w.projects[p]}", {"name": "Renamed"}),
        lambda e, _priv: (e.role is not None, e.has("update:Project", "manage:Project")),
    ),
    "list project members": (
        lambda w, p: ("GET", f"/api/v1/projects/{w.projects[p]}/access", None),
        lambda e, _priv: (e.role is not None, True),
    ),
    "add project member": (
        lambda w, p: (
            "POST",
            f"/api/v1/projects/{w.projects[p]}/access",
            {"userUuid": w.bystander_uuid, "role": "viewer"},
        ),
        lambda e, _priv: (e.role is not None, e.has("manage:Project")),
    ),
    "deploy explores": (
        lambda w, p: ("PUT", f"/api/v1/projects/{w.projects[p]}/explores", EXPLORE),
        lambda e, _priv: (e.role is not None, e.has("manage:DeployProject")),
    ),
    "read explores": (
        lambda w, p: ("GET", f"/api/v1/projects/{w.projects[p]}/explores", None),
        lambda e, _priv: (e.role is not None, True),
    ),
    "create space": (
        lambda w, p: ("POST", f"/api/v1/projects/{w.projects[p]}/spaces", {"name": "New space"}),
        lambda e, _priv: (e.role is not None, e.has("create:Space", "manage:Space")),
    ),
    "view space": (
        lambda w, p: ("GET", f"/api/v1/projects/{w.projects[p]}/spaces/{w.spaces[p]}", None),
        lambda e, priv: (e.sees_space(priv), True),
    ),
    "update space": (
        lambda w, p: (
            "PATCH",
            f"/api/v1/projects/{w.projects[p]}/spaces/{w.spaces[p]}",
            {"name": "Renamed space"},
        ),
        lambda e, priv: (e.sees_space(priv), e.manages_space(priv)),
    ),
    "view chart": (
        lambda w, p: ("GET", f"/api/v1/saved/{w.charts[p]}", None),
        lambda e, priv: (e.sees_space(priv), True),
    ),
    "create chart": (
        lambda w, p: (
            "POST",
            f"/api/v1/projects/{w.projects[p]}/saved",
            {"name": "Mine", "spaceUuid": w.spaces[p], "tableName": "orders"},
        ),
        lambda e, priv: (e.sees_space(priv), e.manages_content("SavedChart", priv)),
    ),
    "update chart": (
        lambda w, p: ("PATCH", f"/api/v1/saved/{w.charts[p]}", {"name": "Edited"}),
        lambda e, priv: (e.sees_space(priv), e.manages_content("SavedChart", priv)),
    ),
    "delete chart": (
        lambda w, p: ("DELETE", f"/api/v1/saved/{w.make_chart(p, 'Doomed')}", None),
        lambda e, priv: (e.sees_space(priv), e.manages_content("SavedChart", priv)),
    ),
    "view dashboard": (
        lambda w, p: ("GET", f"/api/v1/dashboards/{w.dashboards[p]}", None),
        lambda e, priv: (e.sees_space(priv), True),
    ),
    "update dashboard": (
        lambda w, p: ("PATCH", f"/api/v1/dashboards/{w.dashboards[p]}", {"name": "Edited"}),
        lambda e, priv: (e.sees_space(priv), e.manages_content("Dashboard", priv)),
    ),
    "read comments": (
        lambda w, p: ("GET", f"/api/v1/comments/dashboards/{w.dashboards[p]}", None),
        lambda e, priv: (e.sees_space(priv), e.has("view:DashboardComments")),
    ),
    "write comment": (
        lambda w, p: (
            "POST",
            f"/api/v1/comments/dashboards/{w.dashboards[p]}",
            {"text": "Looks good"},
        ),
        lambda e, priv: (
            e.sees_space(priv),
            e.has("create:DashboardComments", "manage:DashboardComments"),
        ),
    ),
    "download as code": (
        lambda w, p: ("GET", f"/api/v1/projects/{w.projects[p]}/charts/code", None),
        lambda e, _priv: (e.role is not None, e.has("view:ContentAsCode", "manage:ContentAsCode")),
    ),
    "upload new chart as code": (
        lambda w, p: (
            "POST",
            f"/api/v1/projects/{w.projects[p]}/charts/brand-new/code",
            _chart_doc(w, p),
        ),
        # The project is what the caller addresses; a space it cannot see is refused, not revealed.
        lambda e, priv: (
            e.role is not None,
            e.has("create:ContentAsCode", "manage:ContentAsCode") and e.sees_space(priv),
        ),
    ),
}
PROJECT_LEVEL = frozenset(
    {
        "view project",
        "update project",
        "list project members",
        "add project member",
        "deploy explores",
        "read explores",
        "create space",
        "download as code",
    }
)
ORG_OPERATIONS: dict[str, tuple[Callable[[World], Request], str]] = {
    "view organization": (lambda w: ("GET", "/api/v1/org", None), "view:Organization"),
    "update organization": (
        lambda w: ("PATCH", "/api/v1/org", {"name": "Acme Corp"}),
        "manage:Organization",
    ),
    "list members": (
        lambda w: ("GET", "/api/v1/org/users", None),
        "view:OrganizationMemberProfile",
    ),
    "change a member's role": (
        lambda w: ("PATCH", f"/api/v1/org/users/{w.bystander_uuid}", {"role": "viewer"}),
        "manage:OrganizationMemberProfile",
    ),
    "create invite link": (
        lambda w: ("POST", "/api/v1/invite-links", {"email": "new@acme.example", "role": "viewer"}),
        "manage:InviteLink",
    ),
    "read audit log": (lambda w: ("GET", "/api/v1/org/audit-log", None), "manage:Organization"),
    "create project": (
        lambda w: ("POST", "/api/v1/org/projects", {"name": "Fresh", "type": "DEFAULT"}),
        "create:Project",
    ),
    "list service accounts": (
        lambda w: ("GET", "/api/v1/service-accounts", None),
        "manage:Organization",
    ),
}


def _project_role(kind: str, role: str, place: str) -> str | None:
    if place == "other_org":
        return None
    if kind == "org":
        return None if role == "member" else role
    return role if place in ("own", "private_space") else None


def _call(world: World, request: Request) -> int:
    method, path, body = request
    return world.client.request(method, path, json=body, headers=world.caller).status_code


@pytest.mark.parametrize(("kind", "role"), CALLERS, ids=[f"{k}-{r}" for k, r in CALLERS])
def test_permission_matrix(runtime, client: TestClient, kind: str, role: str) -> None:
    world = _build(runtime, client, kind, role)
    mismatches: list[str] = []
    cases = 0
    for (name, (operation, rule)), place in itertools.product(PROJECT_OPERATIONS.items(), PLACES):
        if place == "private_space" and name in PROJECT_LEVEL:
            continue  # the private space lives in the caller's own project: already covered
        expectation = Expectation(_project_role(kind, role, place))
        visible, allowed = rule(expectation, place == "private_space")
        expected = status(visible, allowed)
        got = _call(world, operation(world, place))
        cases += 1
        if got != expected:
            mismatches.append(f"{name} @ {place}: expected {expected}, got {got}")
    org_role = role if kind == "org" else "member"
    for name, (org_operation, scope) in ORG_OPERATIONS.items():
        expected = 200 if _has(ORG_ROLE_ORG_SCOPES[org_role], scope) else 403
        got = _call(world, org_operation(world))
        cases += 1
        if got != expected:
            mismatches.append(f"{name}: expected {expected}, got {got}")
    MATRIX_CASES[f"{kind}-{role}"] = MATRIX_CASES.get(f"{kind}-{role}", 0) + cases
    assert not mismatches, f"{kind} role {role}:\n" + "\n".join(mismatches)
