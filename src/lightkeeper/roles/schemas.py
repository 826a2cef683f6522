"""Wire models of custom roles (Lightdash's v2 roles API): roles, scopes, assignees."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lightkeeper.identity.attribution import UserRef
from lightkeeper.kit.schemas import CamelModel, UTCTime

ScopeLevel = Literal["organization", "project"]
OwnerType = Literal["user", "system"]


class ScopeOut(CamelModel):
    """One scope of the vocabulary, as the role editor shows it."""

    name: str
    description: str
    group: str
    is_organization_level: bool
    level: ScopeLevel


class RoleOut(CamelModel):
    """A role. Custom roles have `ownerType: "user"`; system roles (listed for reference and
    assignable by name) have `ownerType: "system"`, their name as `roleUuid` and no organization."""

    role_uuid: str
    organization_uuid: str | None
    name: str
    description: str | None
    scopes: list[str]
    created_at: UTCTime | None
    updated_at: UTCTime | None
    created_by: UserRef | None
    owner_type: OwnerType


class RoleCreate(CamelModel):
    """`POST /api/v2/orgs/{orgUuid}/roles`. `name` is required (checked by the service so the
    message says what to fix)."""

    name: str | None = None
    description: str | None = None
    scopes: list[str] = Field(default_factory=list)


class ScopeChanges(CamelModel):
    """Lightdash's PATCH form: scopes to add and scopes to remove."""

    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class RoleUpdate(CamelModel):
    """`PATCH …/roles/{roleUuid}`: absent fields stay as they are. `scopes` is either the
    complete new list or Lightdash's `{"add": [...], "remove": [...]}`."""

    name: str | None = None
    description: str | None = None
    scopes: list[str] | ScopeChanges | None = None


AssigneeType = Literal["user", "service_account", "project_member", "project_group"]
AssigneeKind = Literal["organization_user", "service_account", "project_user", "project_group"]


class AssigneeOut(CamelModel):
    """One holder of a custom role.

    `type` says where the role is bound: `user` (a person's organization-level role),
    `service_account` (a service account's role), `project_member` (a project
    membership) or `project_group` (a group's role on a project). `kind`, `assigneeId`,
    `assigneeName`, `projectUuid` and `projectName` are Lightdash's names for the same facts.
    """

    type: AssigneeType
    kind: AssigneeKind
    assignee_id: str
    assignee_name: str
    user_uuid: str | None
    service_account_uuid: str | None
    project_uuid: str | None
    project_name: str | None
    name: str
    email: str | None
    first_name: str | None
    last_name: str | None
    is_service_account: bool
