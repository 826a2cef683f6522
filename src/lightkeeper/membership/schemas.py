"""Wire models of memberships: org members' roles, project members, v2 role assignments."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from lightkeeper.kit.schemas import CamelModel, UTCTime
from lightkeeper.roles.schemas import OwnerType


class MemberGroupOut(CamelModel):
    """A group a member belongs to (Lightdash's `Pick<Group, 'name' | 'uuid'>`)."""

    uuid: str
    name: str


class MemberOut(CamelModel):
    """A person of the organization with their organization role (and, when the member list is
    asked `includeGroups`, their groups: Lightdash's `OrganizationMemberProfileWithGroups`)."""

    user_uuid: str
    email: str | None
    first_name: str
    last_name: str
    role: str
    is_active: bool
    groups: list[MemberGroupOut] | None = Field(default=None, exclude_if=lambda v: v is None)


class MemberRoleUpdate(CamelModel):
    """`PATCH /api/v1/org/users/{userUuid}`."""

    role: str


class ProjectMemberOut(CamelModel):
    user_uuid: str
    email: str | None
    first_name: str
    last_name: str
    role: str | None
    role_uuid: str | None
    is_service_account: bool


class ProjectMemberCreate(CamelModel):
    """Who (by `email` or `userUuid`) gets which project role."""

    email: str | None = None
    user_uuid: UUID | None = None
    role: str


class ProjectMemberUpdate(CamelModel):
    role: str


class RoleAssignmentRequest(CamelModel):
    """Lightdash's assignment body: a system role name or a custom role's `roleUuid`."""

    role_id: str | None = None


class RoleAssignmentOut(CamelModel):
    """Lightdash's `RoleAssignment`: who now holds which role, at organization or project level."""

    role_id: str
    role_name: str
    owner_type: OwnerType
    assignee_type: Literal["user", "group"]
    assignee_id: str
    assignee_name: str
    organization_id: str | None = None
    project_id: str | None = None
    created_at: UTCTime
    updated_at: UTCTime
