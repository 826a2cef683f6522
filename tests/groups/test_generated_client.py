"""Lightdash's generated client (`lightdash-client-python`) runs every group operation unchanged."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from lightdash_client import AuthenticatedClient
from lightdash_client.api.organizations import (
    create_group_in_organization,
    list_groups_in_organization,
)
from lightdash_client.api.projects import get_project_group_accesses
from lightdash_client.api.roles_permissions import (
    add_space_group_access,
    revoke_group_space_access,
)
from lightdash_client.api.user_groups import (
    add_project_access_to_group,
    add_user_to_group,
    delete_group,
    get_group,
    get_group_members,
    remove_project_access_from_group,
    remove_user_from_group,
    update_group,
    update_project_access_for_group,
)
from lightdash_client.models import (
    AddSpaceGroupAccess,
    CreateGroup,
    PickCreateDBProjectGroupAccessRole,
    PickDBProjectGroupAccessRole,
    PickGroupMemberUserUuid,
    ProjectMemberRole,
    SpaceMemberRole,
    UpdateGroupWithMembers,
)

from lightkeeper.runtime import Runtime
from tests.support import add_service_account, add_space, make_org, make_project


def _parsed(response: Any) -> Any:
    """The operation answered its documented status and the client parsed the body."""
    assert response.status_code == 200, response.content
    assert response.parsed is not None
    return response.parsed


def test_every_group_operation_parses_with_a_service_account_token(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    editor, viewer = org.people["editor"], org.people["viewer"]
    project = make_project(runtime, org, "Analytics")
    space = add_space(runtime, project, "Board", private=True, created_by=editor.uuid)
    bot = add_service_account(runtime, org, "Terraform", role="admin")
    client.headers["Authorization"] = f"ApiKey {bot.token}"  # what the generated client sends
    api = AuthenticatedClient(base_url=str(client.base_url), token=bot.token)
    api.set_httpx_client(client)

    created = _parsed(
        create_group_in_organization.sync_detailed(
            client=api,
            body=CreateGroup(
                name="Analysts", members=[PickGroupMemberUserUuid(user_uuid=editor.uuid)]
            ),
        )
    )
    group = created.results.uuid
    assert created.results.member_uuids == [editor.uuid]

    listed = _parsed(
        list_groups_in_organization.sync_detailed(
            client=api, page=1.0, page_size=10.0, include_members=1.0, search_query="analy"
        )
    )
    assert [g.uuid for g in listed.results.data] == [group]
    assert listed.results.pagination.total_results == 1
    assert _parsed(list_groups_in_organization.sync_detailed(client=api)).results.data

    plain = _parsed(get_group.sync_detailed(group, client=api))
    assert plain.results.name == "Analysts"
    with_members = _parsed(
        get_group.sync_detailed(group, client=api, include_members=10.0, offset=0.0)
    )
    # The client reads the union as a Group first; the members come along as extra fields.
    assert with_members.results["memberUuids"] == [editor.uuid]

    _parsed(add_user_to_group.sync_detailed(group, viewer.uuid, client=api))
    members = _parsed(get_group_members.sync_detailed(group, client=api))
    assert {m.user_uuid for m in members.results} == {editor.uuid, viewer.uuid}
    _parsed(remove_user_from_group.sync_detailed(group, viewer.uuid, client=api))
    renamed = _parsed(
        update_group.sync_detailed(group, client=api, body=UpdateGroupWithMembers(name="Data team"))
    )
    assert renamed.results.name == "Data team"

    access = _parsed(
        add_project_access_to_group.sync_detailed(
            group,
            project,
            client=api,
            body=PickCreateDBProjectGroupAccessRole(role=ProjectMemberRole.EDITOR),
        )
    )
    assert access.results.role == ProjectMemberRole.EDITOR
    changed = _parsed(
        update_project_access_for_group.sync_detailed(
            group,
            project,
            client=api,
            body=PickDBProjectGroupAccessRole(role=ProjectMemberRole.VIEWER),
        )
    )
    assert changed.results.role == ProjectMemberRole.VIEWER
    accesses = _parsed(get_project_group_accesses.sync_detailed(project, client=api))
    assert [a.group_uuid for a in accesses.results] == [group]

    _parsed(
        add_space_group_access.sync_detailed(
            project,
            space,
            client=api,
            body=AddSpaceGroupAccess(space_role=SpaceMemberRole.VIEWER, group_uuid=group),
        )
    )
    _parsed(revoke_group_space_access.sync_detailed(project, space, group, client=api))
    _parsed(remove_project_access_from_group.sync_detailed(group, project, client=api))
    _parsed(delete_group.sync_detailed(group, client=api))
    assert get_group.sync_detailed(group, client=api).status_code == 404
