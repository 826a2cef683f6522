"""The space list, `GET /api/v1/projects/{p}/spaces`: Lightdash's `SpaceSummary[]` from plain rows.

Apart from spaces.py (one space and its detail shape, `Space`): the list is a hot
path, so it reads on the event loop (`lightkeeper.reads`: no thread hop, no
session): one Core statement for the project and its spaces with their content
counts, and only when they are needed, every share of the project's spaces and
the people the access lists name. It decides access over those rows with `authz.access.allows` on
the targets `authz.tenancy.targets_of` builds, and shapes each row as a plain
dict that `kit.schemas.ok_response` writes once (no per-row model, no per-row
query).
"""

from __future__ import annotations

from typing import Any, cast

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import SpaceTarget, allows, sees_every_space
from lightkeeper.authz.tenancy import read_project_shares, targets_of, visible_target
from lightkeeper.content import repository as repo
from lightkeeper.content.shared import People, names_people, space_access
from lightkeeper.reads import Reads


async def list_spaces(
    reads: Reads, principal: Principal, project_uuid: str
) -> list[dict[str, Any]]:
    """The spaces of a project the caller may view, in wire shape (`SpaceSummaryOut`).

    Rules: the project must be visible (else 404); only spaces whose (root)
    access lets the caller see them, and `view:Space` on them, are listed;
    `access` is the (root) space's shares, and the creator of a private space
    as its admin, as objects (`content.shared.space_access`, as the detail has
    them); the counts are the charts and dashboards directly in it.
    """
    in_project = {"project_uuid": project_uuid, "organization_uuid": principal.organization_uuid}
    found = await reads.run(repo.SPACE_LIST, in_project)
    # The project's row comes first (no row: no such project), then its spaces'.
    head = cast(repo.ProjectHead | None, found[0] if found else None)
    project_target = visible_target(principal, head.project if head else None)
    rows = cast(list[repo.SpaceSummaryRow], found[1:])
    if head is None or not rows:
        return []
    shares, group_shares = (
        await read_project_shares(reads, project_target.uuid) if head.shared else ({}, {})
    )
    targets = targets_of(
        project_target, rows, {row.uuid: row for row in rows}, shares, group_shares
    )
    if sees_every_space(principal, project_target):
        listed = [(row, targets[row.uuid]) for row in rows]
    else:
        listed = [
            (row, targets[row.uuid])
            for row in rows
            if allows(principal, "view", "Space", project=project_target, space=targets[row.uuid])
        ]
    named = any(names_people(target) for _row, target in listed)
    found_people = People(
        {
            person.uuid: person
            for person in await reads.run(
                repo.PEOPLE_OF_PROJECT_SPACES, {"project_uuid": project_target.uuid}
            )
        }
        if named
        else {}
    )
    organization_uuid = project_target.organization_uuid
    return [_summary(row, target, found_people, organization_uuid) for row, target in listed]


def _summary(
    row: repo.SpaceSummaryRow, target: SpaceTarget, found: People, organization_uuid: str
) -> dict[str, Any]:
    return {
        "uuid": row.uuid,
        "name": row.name,
        "slug": row.slug,
        "isPrivate": target.is_private,
        "parentSpaceUuid": row.parent_space_uuid,
        "projectUuid": target.project.uuid,
        "createdAt": row.created_at,
        "organizationUuid": organization_uuid,
        "pinnedListUuid": None,
        "pinnedListOrder": None,
        "chartCount": row.chart_count,
        "dashboardCount": row.dashboard_count,
        # The spec's access objects (platform-api.md); Lightdash's generated client reads the
        # field without looking inside (`cast(List[str], …)`), so both parse.
        "access": [a.model_dump(mode="json", by_alias=True) for a in space_access(target, found)],
    }
