"""The permission matrix, generated from the role tables rather than picked by hand.

Callers: every org role; every project role held through a project membership;
and custom roles holding exactly one scope of the vocabulary (each scope alone)
or a few meaningful sets. Each is tried on every kind of operation against a
resource in the caller's project, in another project of the organization, in
another organization, and in a private space nobody shared with the caller.

The expected status comes from the role tables (auth.roles), the vocabulary
(auth.scopes) and the rules of roles-and-scopes.md, re-stated here
independently of the server's decision code: 404 for what the caller may not
see, 403 for what it sees but may not do, 200 otherwise. For every case the
caller's `abilityRules` (GET /api/v1/user), evaluated the way CASL does, must
reach the server's verdict too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lightkeeper.auth.roles import (
    ORG_ROLE_ORG_SCOPES,
    PROJECT_ROLE_SCOPES,
    PROJECT_ROLES,
    SPACE_ROLE_FOR_PROJECT_ROLE,
)
from lightkeeper.auth.scopes import VOCABULARY, Scope, is_org_level
from tests.authz.conftest import MATRIX_CASES
from tests.support import add_membership, add_person, make_org, make_project

SYSTEM_CALLERS = [("org", r) for r in ("member", *PROJECT_ROLES)] + [
    ("project", r) for r in PROJECT_ROLES
]
CUSTOM_SCOPE_SETS: list[tuple[str, ...]] = [(name,) for name in VOCABULARY] + [
    # "view everything, edit charts only in spaces shared with them"
    ("view:Project", "view:Space", "view:SavedChart", "view:Dashboard", "manage:SavedChart@space"),
    ("view:Project", "manage:Space@public", "manage:Dashboard"),
    ("view:Project", "view:Space", "view:ContentAsCode", "create:ContentAsCode"),
    ("view:Organization", "manage:InviteLink", *sorted(map(str, PROJECT_ROLE_SCOPES["viewer"]))),
]
PLACES = ("own", "other_project", "other_org", "private_space")
VIEWER_GRANT = PROJECT_ROLE_SCOPES["viewer"]


@dataclass
class Expectation:
    """What a caller holding `scopes` on the target project may do there, by the spec's rules."""

    scopes: frozenset[Scope]
    system_role: str | None  # a system project role derives space roles; custom roles do not
    org_wide: frozenset[Scope] = frozenset()

    def has(self, *names: str) -> bool:
        return any(Scope.parse(n) in self.scopes for n in names)

    @property
    def sees_project(self) -> bool:
        return self.has("view:Project", "manage:Project")

    def sees_space(self, private: bool) -> bool:
        # A private space nobody shared with the caller: only unqualified manage:Space sees it.
        return self.sees_project and (not private or self.has("manage:Space"))

    def space_role(self, private: bool) -> str | None:
        if private:
            return "admin" if self.has("manage:Space") else None
        return SPACE_ROLE_FOR_PROJECT_ROLE.get(self.system_role or "")

    def may(self, action: str, subject: str, private: bool | None = None) -> bool:
        """`action` on `subject` (in a space when `private` is not None): qualifiers applied."""
        for scope in self.scopes:
            if scope.subject != subject or scope.action not in (action, "manage"):
                continue
            if action == "create" and subject == "Space" and scope.qualifier:
                continue  # creating a space needs create:Space or unqualified manage:Space
            if scope.qualifier is None:
                return True
            if private is None:
                continue
            role = self.space_role(private)
            if (
                (scope.qualifier == "space" and role in ("editor", "admin"))
                or (scope.qualifier == "assigned" and role == "admin")
                or (scope.qualifier == "public" and not private)
            ):
                return True
        return False

    def covers(self, wanted: Iterable[Scope], held: frozenset[Scope]) -> bool:
        """The grant ceiling: each wanted scope held as is or through `manage` of its subject."""
        return all(
            s in held
            or Scope("manage", s.subject, s.qualifier) in held
            or Scope("manage", s.subject) in held
            or Scope(s.action, s.subject) in held
            for s in wanted
        )


@dataclass
class Caller:
    headers: dict[str, str]
    uuid: str
    bystander_uuid: str
    tag: str
    expectations: dict[str, Expectation]  # place -> expectation
    org_scopes: frozenset[Scope]
    rules: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class World:
    client: TestClient
    organization_uuid: str
    stranger_organization_uuid: str
    admin_uuid: str
    projects: dict[str, str]
    spaces: dict[str, str] = field(default_factory=dict)
    charts: dict[str, str] = field(default_factory=dict)
    dashboards: dict[str, str] = field(default_factory=dict)
    admins: dict[str, dict[str, str]] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)

    def make_chart(self, place: str, name: str) -> str:
        body = {"name": name, "spaceUuid": self.spaces[place], "tableName": "orders"}
        response = self.client.post(
            f"/api/v1/projects/{self.projects[place]}/saved", json=body, headers=self.admins[place]
        )
        assert response.status_code == 200, response.text
        return str(response.json()["results"]["uuid"])

    def fields(self, place: str, with_space: bool) -> dict[str, Any]:
        """The resource as a CASL client sees it."""
        fields: dict[str, Any] = {
            "organizationUuid": self.stranger_organization_uuid
            if place == "other_org"
            else self.organization_uuid,
            "projectUuid": self.projects[place],
            "type": "DEFAULT",
        }
        if with_space:
            private = place == "private_space"
            fields["isPrivate"] = private
            fields["access"] = [{"userUuid": self.admin_uuid, "role": "admin"}] if private else []
        return fields


def _build_world(runtime: Any, client: TestClient) -> tuple[World, Any]:
    org = make_org(runtime, "Acme")
    stranger_org = make_org(runtime, "Globex")
    admin, stranger_admin = org.people["admin"].headers, stranger_org.people["admin"].headers
    own = make_project(runtime, org, "Own")
    other = make_project(runtime, org, "Other")
    foreign = make_project(runtime, stranger_org, "Foreign")
    world = World(
        client,
        org.uuid,
        stranger_org.uuid,
        org.people["admin"].uuid,
        {"own": own, "other_project": other, "other_org": foreign, "private_space": own},
    )
    world.admins = {
        "own": admin,
        "other_project": admin,
        "other_org": stranger_admin,
        "private_space": admin,
    }
    for place in PLACES:
        space = client.post(
            f"/api/v1/projects/{world.projects[place]}/spaces",
            json={"name": f"Space {place}", "isPrivate": place == "private_space"},
            headers=world.admins[place],
        )
        assert space.status_code == 200, space.text
        world.spaces[place] = space.json()["results"]["uuid"]
        world.slugs[place] = space.json()["results"]["slug"]
        world.charts[place] = world.make_chart(place, f"Chart {place}")
        dashboard = client.post(
            f"/api/v1/projects/{world.projects[place]}/dashboards",
            json={"name": f"Dashboard {place}", "spaceUuid": world.spaces[place]},
            headers=world.admins[place],
        )
        assert dashboard.status_code == 201, dashboard.text  # Lightdash's document declares 201
        world.dashboards[place] = dashboard.json()["results"]["uuid"]
    return world, org


Request = tuple[str, str, Any]
Check = tuple[str, str, bool]  # (action, subject, with space fields) for the CASL verdict
Operation = tuple[
    Callable[[World, Caller, str], Request],
    Callable[[Expectation, bool], tuple[bool, bool]],  # -> (visible, allowed)
    list[Check],
]
EXPLORE = [
    {
        "name": "orders",
        "label": "Orders",
        "baseTable": "orders",
        "tables": {"orders": {"name": "orders"}},
        "joinedTables": [],
    }
]


def _in_project(
    allowed: Callable[[Expectation], bool],
) -> Callable[[Expectation, bool], tuple[bool, bool]]:
    return lambda e, _private: (e.sees_project, allowed(e))


def _in_space(action: str, subject: str) -> Callable[[Expectation, bool], tuple[bool, bool]]:
    return lambda e, private: (e.sees_space(private), e.may(action, subject, private))


PROJECT_OPERATIONS: dict[str, Operation] = {
    "view project": (
        lambda w, c, p: ("GET", f"/api/v1/projects/{w.projects[p]}", None),
        _in_project(lambda e: e.may("view", "Project")),
        [("view", "Project", False)],
    ),
    "update project": (
        lambda w, c, p: ("PATCH", f"/api/v1/projects/{w.projects[p]}", {"name": "Renamed"}),
        _in_project(lambda e: e.may("update", "Project")),
        [("update", "Project", False)],
    ),
    "list project members": (
        lambda w, c, p: ("GET", f"/api/v1/projects/{w.projects[p]}/access", None),
        _in_project(lambda e: e.may("view", "Project")),
        [("view", "Project", False)],
    ),
    "add project member": (
        lambda w, c, p: (
            "POST",
            f"/api/v1/projects/{w.projects[p]}/access",
            {"userUuid": c.bystander_uuid, "role": "viewer"},
        ),
        _in_project(
            lambda e: e.may("manage", "Project") and e.covers(VIEWER_GRANT, e.scopes | e.org_wide)
        ),
        [("manage", "Project", False)],
    ),
    "deploy explores": (
        lambda w, c, p: ("PUT", f"/api/v1/projects/{w.projects[p]}/explores", EXPLORE),
        _in_project(lambda e: e.may("manage", "DeployProject")),
        [("manage", "DeployProject", False)],
    ),
    "read explores": (
        lambda w, c, p: ("GET", f"/api/v1/projects/{w.projects[p]}/explores", None),
        _in_project(lambda e: e.may("view", "Project")),
        [("view", "Project", False)],
    ),
    "create space": (
        lambda w, c, p: ("POST", f"/api/v1/projects/{w.projects[p]}/spaces", {"name": "New space"}),
        _in_project(lambda e: e.may("create", "Space")),
        [("create", "Space", False)],
    ),
    "view space": (
        lambda w, c, p: ("GET", f"/api/v1/projects/{w.projects[p]}/spaces/{w.spaces[p]}", None),
        _in_space("view", "Space"),
        [("view", "Space", True)],
    ),
    "update space": (
        lambda w, c, p: (
            "PATCH",
            f"/api/v1/projects/{w.projects[p]}/spaces/{w.spaces[p]}",
            {"name": f"Space {p}"},
        ),
        _in_space("update", "Space"),
        [("update", "Space", True)],
    ),
    "view chart": (
        lambda w, c, p: ("GET", f"/api/v1/saved/{w.charts[p]}", None),
        _in_space("view", "SavedChart"),
        [("view", "SavedChart", True)],
    ),
    "create chart": (
        lambda w, c, p: (
            "POST",
            f"/api/v1/projects/{w.projects[p]}/saved",
            {"name": "Mine", "spaceUuid": w.spaces[p], "tableName": "orders"},
        ),
        _in_space("create", "SavedChart"),
        [("create", "SavedChart", True)],
    ),
    "update chart": (
        lambda w, c, p: ("PATCH", f"/api/v1/saved/{w.charts[p]}", {"name": f"Edited by {c.tag}"}),
        _in_space("update", "SavedChart"),
        [("update", "SavedChart", True)],
    ),
    "delete chart": (
        lambda w, c, p: ("DELETE", f"/api/v1/saved/{w.make_chart(p, 'Doomed')}", None),
        _in_space("delete", "SavedChart"),
        [("delete", "SavedChart", True)],
    ),
    "view dashboard": (
        lambda w, c, p: ("GET", f"/api/v1/dashboards/{w.dashboards[p]}", None),
        _in_space("view", "Dashboard"),
        [("view", "Dashboard", True)],
    ),
    "update dashboard": (
        lambda w, c, p: ("PATCH", f"/api/v1/dashboards/{w.dashboards[p]}", {"name": f"By {c.tag}"}),
        _in_space("update", "Dashboard"),
        [("update", "Dashboard", True)],
    ),
    "read comments": (
        lambda w, c, p: ("GET", f"/api/v1/comments/dashboards/{w.dashboards[p]}", None),
        lambda e, private: (
            e.sees_space(private),
            e.may("view", "Dashboard", private) and e.may("view", "DashboardComments"),
        ),
        [("view", "Dashboard", True), ("view", "DashboardComments", False)],
    ),
    "write comment": (
        lambda w, c, p: (
            "POST",
            f"/api/v1/comments/dashboards/{w.dashboards[p]}",
            {"text": "Looks good"},
        ),
        lambda e, private: (
            e.sees_space(private),
            e.may("view", "Dashboard", private) and e.may("create", "DashboardComments"),
        ),
        [("view", "Dashboard", True), ("create", "DashboardComments", False)],
    ),
    "download as code": (
        lambda w, c, p: ("GET", f"/api/v1/projects/{w.projects[p]}/charts/code", None),
        _in_project(lambda e: e.may("view", "ContentAsCode")),
        [("view", "ContentAsCode", False)],
    ),
    "upload new chart as code": (
        lambda w, c, p: (
            "POST",
            f"/api/v1/projects/{w.projects[p]}/charts/new-{c.tag}/code",
            {"version": 1, "name": "As code", "spaceSlug": w.slugs[p], "tableName": "orders"},
        ),
        # The project is what the caller addresses; a space it cannot see is not there for it:
        # the chart lands in a new space of that slug (docs/decisions.md), revealing nothing.
        lambda e, private: (e.sees_project, e.may("create", "ContentAsCode")),
        [("create", "ContentAsCode", False)],
    ),
}
PROJECT_LEVEL = frozenset(
    name for name, (_, _, checks) in PROJECT_OPERATIONS.items() if not any(c[2] for c in checks)
)
OrgOperation = tuple[
    Callable[[World, Caller], Request], Callable[[frozenset[Scope], frozenset[Scope]], bool], Check
]


def _org_scope(name: str) -> Callable[[frozenset[Scope], frozenset[Scope]], bool]:
    return lambda org, _wide: Scope.parse(name) in org


def _grant_viewer(name: str) -> Callable[[frozenset[Scope], frozenset[Scope]], bool]:
    """The scope, and the grant ceiling for handing out the viewer role."""
    wanted = ORG_ROLE_ORG_SCOPES["viewer"] | VIEWER_GRANT
    return lambda org, wide: (
        Scope.parse(name) in org and Expectation(wide, None).covers(wanted, wide)
    )


ORG_OPERATIONS: dict[str, OrgOperation] = {
    "view organization": (
        lambda w, c: ("GET", "/api/v1/org", None),
        _org_scope("view:Organization"),
        ("view", "Organization", False),
    ),
    "update organization": (
        lambda w, c: ("PATCH", "/api/v1/org", {"name": "Acme"}),
        _org_scope("manage:Organization"),
        ("manage", "Organization", False),
    ),
    "list members": (
        lambda w, c: ("GET", "/api/v1/org/users", None),
        _org_scope("view:OrganizationMemberProfile"),
        ("view", "OrganizationMemberProfile", False),
    ),
    "change a member's role": (
        lambda w, c: ("PATCH", f"/api/v1/org/users/{c.bystander_uuid}", {"role": "viewer"}),
        _grant_viewer("manage:OrganizationMemberProfile"),
        ("manage", "OrganizationMemberProfile", False),
    ),
    "create invite link": (
        lambda w, c: (
            "POST",
            "/api/v1/invite-links",
            {"email": f"new-{c.tag}@acme.example", "role": "viewer"},
        ),
        _grant_viewer("manage:InviteLink"),
        ("manage", "InviteLink", False),
    ),
    "read audit log": (
        lambda w, c: ("GET", "/api/v1/org/audit-log", None),
        _org_scope("manage:Organization"),
        ("manage", "Organization", False),
    ),
    "create project": (
        lambda w, c: (
            "POST",
            "/api/v1/org/projects",
            {"name": f"Fresh {c.tag}", "type": "DEFAULT"},
        ),
        _org_scope("create:Project"),
        ("create", "Project", False),
    ),
    "list service accounts": (
        lambda w, c: ("GET", "/api/v1/service-accounts", None),
        _org_scope("manage:Organization"),
        ("manage", "Organization", False),
    ),
}


# -- CASL, as Lightdash's clients evaluate abilityRules ----------------------------------


def _matches(conditions: dict[str, Any], fields: dict[str, Any]) -> bool:
    for key, wanted in conditions.items():
        value = fields.get(key)
        if isinstance(wanted, dict) and "$elemMatch" in wanted:
            if not any(_matches(wanted["$elemMatch"], item) for item in value or []):
                return False
        elif isinstance(wanted, dict) and "$exists" in wanted:
            if (key in fields) != wanted["$exists"]:
                return False
        elif isinstance(wanted, dict) and "$in" in wanted:
            if value not in wanted["$in"]:
                return False
        elif key not in fields or value != wanted:
            return False
    return True


def casl_can(
    rules: list[dict[str, Any]], action: str, subject: str, fields: dict[str, Any]
) -> bool:
    return any(
        rule["subject"] == subject
        and rule["action"] in (action, "manage")
        and _matches(rule.get("conditions") or {}, fields)
        for rule in rules
    )


# -- running a caller through everything ---------------------------------------------------


def _call(world: World, caller: Caller, request: Request) -> int:
    """The status, with every success counted as 200: creates answer 201 and some deletes 204,
    as Lightdash's document declares (the matrix is about allowed or not, not which success)."""
    method, path, body = request
    status = world.client.request(method, path, json=body, headers=caller.headers).status_code
    return 200 if 200 <= status < 300 else status


def run_caller(world: World, caller: Caller) -> tuple[int, list[str]]:
    """Every operation at every place; returns (cases, mismatches) for status and abilityRules."""
    caller.rules = world.client.get("/api/v1/user", headers=caller.headers).json()["results"][
        "abilityRules"
    ]
    mismatches: list[str] = []
    cases = 0
    for (name, (request, rule, checks)), place in itertools.product(
        PROJECT_OPERATIONS.items(), PLACES
    ):
        if place == "private_space" and name in PROJECT_LEVEL:
            continue  # the private space lives in the caller's own project: already covered
        expectation = caller.expectations[place]
        visible, allowed = rule(expectation, place == "private_space")
        expected = 404 if not visible else (200 if allowed else 403)
        got = _call(world, caller, request(world, caller, place))
        cases += 1
        if got != expected:
            mismatches.append(f"{name} @ {place}: expected {expected}, got {got}")
        ceiling_only = name == "add project member" and expectation.may("manage", "Project")
        casl = all(casl_can(caller.rules, a, s, world.fields(place, sp)) for a, s, sp in checks)
        if casl != (got == 200) and not (ceiling_only and got == 403):
            mismatches.append(f"{name} @ {place}: abilityRules say {casl}, server answered {got}")
    org_fields = {"organizationUuid": world.organization_uuid}
    wide = caller.org_scopes | caller.expectations["other_project"].scopes
    for name, (request_org, allowed_org, (action, subject, _)) in ORG_OPERATIONS.items():
        expected = 200 if allowed_org(caller.org_scopes, wide) else 403
        got = _call(world, caller, request_org(world, caller))
        cases += 1
        if got != expected:
            mismatches.append(f"{name}: expected {expected}, got {got}")
        casl = casl_can(caller.rules, action, subject, org_fields)
        ceiling_only = (
            casl and got == 403 and _org_scope(f"{action}:{subject}")(caller.org_scopes, wide)
        )
        if casl != (got == 200) and not ceiling_only:
            mismatches.append(f"{name}: abilityRules say {casl}, server answered {got}")
    return cases, mismatches


def _project_grant(kind: str, role: str, place: str) -> str | None:
    if place == "other_org":
        return None
    if kind == "org":
        return None if role == "member" else role
    return role if place in ("own", "private_space") else None


def _expectations(
    grant: Callable[[str], tuple[frozenset[Scope], str | None]], org_wide: frozenset[Scope]
) -> dict[str, Expectation]:
    return {place: Expectation(*grant(place), org_wide=org_wide) for place in PLACES}


@pytest.mark.parametrize(
    ("kind", "role"), SYSTEM_CALLERS, ids=[f"{k}-{r}" for k, r in SYSTEM_CALLERS]
)
def test_system_roles(runtime, client: TestClient, kind: str, role: str) -> None:
    world, org = _build_world(runtime, client)
    person = add_person(runtime, org, role if kind == "org" else "member", key="caller")
    bystander = add_person(runtime, org, "member", key="bystander")
    if kind == "project":
        add_membership(runtime, world.projects["own"], person.uuid, role)
    org_scopes = ORG_ROLE_ORG_SCOPES[role if kind == "org" else "member"]

    def grant(place: str) -> tuple[frozenset[Scope], str | None]:
        project_role = _project_grant(kind, role, place)
        return (PROJECT_ROLE_SCOPES[project_role] if project_role else frozenset()), project_role

    caller = Caller(
        person.headers,
        person.uuid,
        bystander.uuid,
        "c",
        _expectations(grant, org_scopes),
        org_scopes,
    )
    cases, mismatches = run_caller(world, caller)
    MATRIX_CASES[f"{kind}-{role}"] = MATRIX_CASES.get(f"{kind}-{role}", 0) + cases
    assert not mismatches, f"{kind} role {role}:\n" + "\n".join(mismatches)


def test_custom_roles_scope_by_scope(runtime, client: TestClient) -> None:
    """Each scope alone, and a few sets, as an org-level custom role of an org `member`."""
    world, org = _build_world(runtime, client)
    admin = org.people["admin"].headers
    base_org = ORG_ROLE_ORG_SCOPES["member"] | {Scope.parse("manage:PersonalAccessToken")}
    failures: list[str] = []
    total = 0
    for index, names in enumerate(CUSTOM_SCOPE_SETS):
        scopes = frozenset(Scope.parse(n) for n in names)
        created = client.post(
            f"/api/v2/orgs/{org.uuid}/roles",
            json={"name": f"Role {index}", "description": "matrix", "scopes": list(names)},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        person = add_person(runtime, org, "member", key=f"custom{index}")
        bystander = add_person(runtime, org, "member", key=f"bystander{index}")
        assigned = client.post(
            f"/api/v2/orgs/{org.uuid}/roles/assignments/user/{person.uuid}",
            json={"roleId": created.json()["results"]["roleUuid"]},
            headers=admin,
        )
        assert assigned.status_code == 200, assigned.text
        org_scopes = base_org | frozenset(s for s in scopes if is_org_level(s))
        project_scopes = frozenset(s for s in scopes if not is_org_level(s))

        def grant(place: str) -> tuple[frozenset[Scope], str | None]:
            return (frozenset() if place == "other_org" else project_scopes), None

        caller = Caller(
            person.headers,
            person.uuid,
            bystander.uuid,
            f"r{index}",
            _expectations(grant, org_scopes),
            org_scopes,
        )
        cases, mismatches = run_caller(world, caller)
        total += cases
        failures += [f"[{', '.join(names)}] {m}" for m in mismatches]
    MATRIX_CASES["custom-roles"] = MATRIX_CASES.get("custom-roles", 0) + total
    assert not failures, "\n".join(failures)
