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
    """A person of the organization with their organization role: Lightdash's
    `OrganizationMemberProfile` (every field its type requires) and, when the member list is
    asked `includeGroups`, their groups (`OrganizationMemberProfileWithGroups`)."""

    user_uuid: str
    organization_uuid: str
    email: str
    first_name: str
    last_name: str
    role: str
    is_active: bool
    is_pending: bool = False
    # Optional in Lightdash's type, always sent by Lightdash (lightdash-ops requires it). An invite
    # makes no member until it is accepted, so no listed member's invite has expired.
    is_invite_expired: bool = False
    user_created_at: UTCTime
    user_updated_at: UTCTime
    groups: list[MemberGroupOut] | None = Field(default=None, exclude_if=lambda v: v is None)


class MemberRoleUpdate(CamelModel):
    """`PATCH /api/v1/org/users/{userUuid}`."""

    role: str


class ProjectMemberOut(CamelModel):
    """Lightdash's `ProjectMemberProfile` (a service account's `email` is "": it has none)."""

    user_uuid: str
    project_uuid: str
    email: str
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
