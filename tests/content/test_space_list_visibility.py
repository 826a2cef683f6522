"""The space list shows exactly the spaces whose detail the caller may open, whoever the caller is.

The list decides visibility over plain rows on the event loop, and skips the
per-row decision when the caller manages every space of the project
(`authz.access.sees_every_space`); the detail decides space by space. Both must
agree for every kind of caller: every org role, every project role held
through a membership, and custom roles (each scope of the vocabulary alone and
a few meaningful sets), on public, private, shared and nested spaces.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from lightkeeper.auth.roles import PROJECT_ROLES
from lightkeeper.runtime import Runtime
from tests.authz.test_permission_matrix import CUSTOM_SCOPE_SETS
from tests.support import (
    Person,
    add_group,
    add_membership,
    add_person,
    add_space,
    custom_role_holder,
    make_org,
    make_project,
)


def _callers(runtime: Runtime, org, project: str) -> dict[str, Person]:  # type: ignore[no-untyped-def]
    callers = {
        f"org {role}": add_person(runtime, org, role, key=f"org-{role}")
        for role in ("member", *PROJECT_ROLES)
    }
    for role in PROJECT_ROLES:
        person = add_person(runtime, org, "member", key=f"project-{role}")
        add_membership(runtime, project, person.uuid, role)
        callers[f"project {role}"] = person
    for i, scopes in enumerate(CUSTOM_SCOPE_SETS):
        person, _role = custom_role_holder(runtime, org, f"custom-{i}", list(scopes))
        callers[f"custom {' '.join(scopes)}"] = person
    return callers


def test_the_list_shows_what_the_detail_lets_the_caller_open(
    runtime: Runtime, client: TestClient
) -> None:
    org = make_org(runtime, "Visibility")
    project = make_project(runtime, org, "Jaffle")
    admin = org.people["admin"].uuid
    callers = _callers(runtime, org, project)
    shared_with = callers["org viewer"].uuid
    in_group = callers["org interactive_viewer"].uuid
    public = add_space(runtime, project, "Public", created_by=admin)
    add_space(runtime, project, "Nested public", parent=public)
    private = add_space(runtime, project, "Private", private=True, created_by=admin)
    add_space(runtime, project, "Nested private", parent=private)
    shared = add_space(
        runtime,
        project,
        "Shared",
        private=True,
        created_by=admin,
        shared_with={shared_with: "viewer"},
    )
    add_space(runtime, project, "Mine", private=True, created_by=callers["project viewer"].uuid)
    add_group(runtime, org, "Readers", members=(in_group,), space_roles={shared: "editor"})
    spaces = client.get(f"/api/v1/projects/{project}/spaces", headers=org.people["admin"].headers)
    every_space = {s["name"]: s["uuid"] for s in spaces.json()["results"]}
    assert len(every_space) == 6  # an admin manages every space

    listed_somewhere = set()
    for label, caller in callers.items():
        reply = client.get(f"/api/v1/projects/{project}/spaces", headers=caller.headers)
        if reply.status_code == 404:  # the project itself is invisible to this caller
            assert (
                client.get(f"/api/v1/projects/{project}", headers=caller.headers).status_code == 404
            )
            continue
        assert reply.status_code == 200, (label, reply.text)
        listed = {s["name"] for s in reply.json()["results"]}
        opens = {
            name
            for name, uuid in every_space.items()
            if client.get(
                f"/api/v1/projects/{project}/spaces/{uuid}", headers=caller.headers
            ).status_code
            == 200
        }
        assert listed == opens, label
        listed_somewhere |= {(label, name) for name in listed}

    # The world is rich enough to tell callers apart: each kind of space is listed for some
    # and hidden from others.
    assert ("org admin", "Private") in listed_somewhere
    assert ("org viewer", "Private") not in listed_somewhere
    assert ("org viewer", "Shared") in listed_somewhere
    assert ("org member", "Shared") not in listed_somewhere or (
        "org member",
        "Public",
    ) in listed_somewhere
    assert ("project viewer", "Mine") in listed_somewhere
    assert ("org editor", "Mine") not in listed_somewhere
