"""Wire models of groups (Lightdash's `Group`, `GroupWithMembers`, `ProjectGroupAccess`, …)."""

from __future__ import annotations

from lightkeeper.content.schemas import Name, SpaceRole, UuidStr
from lightkeeper.kit.schemas import CamelModel, UTCTime
from lightkeeper.organization.schemas import Pagination


class GroupMemberOut(CamelModel):
    user_uuid: str
    email: str
    first_name: str
    last_name: str


class GroupOut(CamelModel):
    uuid: str
    name: str
    organization_uuid: str
    created_at: UTCTime
    created_by_user_uuid: str | None
    updated_at: UTCTime
    updated_by_user_uuid: str | None


class GroupWithMembersOut(GroupOut):
    members: list[GroupMemberOut]
    member_uuids: list[str]


class GroupPage(CamelModel):
    """Lightdash pages the group list: always `{data, pagination}`."""

    data: list[GroupWithMembersOut] | list[GroupOut]
    pagination: Pagination


class MemberRef(CamelModel):
    user_uuid: UuidStr


class GroupCreate(CamelModel):
    name: Name
    members: list[MemberRef] | None = None


class GroupUpdate(CamelModel):
    """`PATCH /api/v1/groups/{g}`: a new name, and/or the whole member list (replaced)."""

    name: Name | None = None
    members: list[MemberRef] | None = None


class ProjectGroupAccessIn(CamelModel):
    role: str


class ProjectGroupAccessOut(CamelModel):
    project_uuid: str
    group_uuid: str
    role: str


class SpaceGroupShareIn(CamelModel):
    group_uuid: UuidStr
    space_role: SpaceRole
