"""Helpers for the content tests: a world of people per role, content through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.support import (
    Org,
    Person,
    add_custom_role,
    add_person,
    auth,
    bind_project_role,
    make_org,
    make_project,
)

ROLES = ("admin", "viewer", "interactive_viewer", "editor", "developer")


@dataclass
class World:
    client: TestClient
    runtime: Runtime
    org: Org
    project: str  # uuid of the project every role sees

    def who(self, key: str) -> Person:
        return self.org.people[key]

    def call(self, key: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = self.who(key).headers if key in self.org.people else auth(key)
        return self.client.request(method, path, headers=headers, **kwargs)

    # Content through the API (asserting success, so tests read as stories).
    def space(self, key: str, name: str, **fields: Any) -> dict[str, Any]:
        r = self.call(
            key, "POST", f"/api/v1/projects/{self.project}/spaces", json={"name": name, **fields}
        )
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def chart(
        self, key: str, space_uuid: str, name: str = "Revenue", **fields: Any
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "spaceUuid": space_uuid,
            "tableName": "orders",
            "metricQuery": {
                "exploreName": "orders",
                "dimensions": ["orders_status"],
                "metrics": [],
            },
            "chartConfig": {"type": "cartesian"},
            "tableConfig": {"columnOrder": []},
            **fields,
        }
        r = self.call(key, "POST", f"/api/v1/projects/{self.project}/saved", json=body)
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def dashboard(
        self,
        key: str,
        space_uuid: str,
        name: str = "Sales",
        tiles: list[Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        body = {"name": name, "spaceUuid": space_uuid, "tiles": tiles or [], **fields}
        r = self.call(key, "POST", f"/api/v1/projects/{self.project}/dashboards", json=body)
        assert r.status_code == 201, r.text
        return r.json()["results"]

    def share(self, key: str, space_uuid: str, user_uuid: str, role: str) -> None:
        r = self.call(
            key,
            "POST",
            f"/api/v1/projects/{self.project}/spaces/{space_uuid}/share",
            json={"userUuid": user_uuid, "spaceRole": role},
        )
        assert r.status_code == 200, r.text


def build_world(client: TestClient, runtime: Runtime, roles: tuple[str, ...] = ROLES) -> World:
    org = make_org(runtime, "Acme", roles=roles)
    project = make_project(runtime, org, "Main")
    return World(client, runtime, org, project)


def add_custom_role_member(runtime: Runtime, world: World, key: str, scopes: list[str]) -> Person:
    """A `member` of the organization holding a custom role with `scopes` on the world's project."""
    person = add_person(runtime, world.org, "member", key=key)
    role_uuid = add_custom_role(runtime, world.org, f"role-{key}", scopes)
    bind_project_role(runtime, world.project, person.uuid, role_uuid)
    return person
