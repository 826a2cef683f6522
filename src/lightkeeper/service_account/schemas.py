"""Wire models of service accounts (camelCase on the wire, as Lightdash's)."""

from __future__ import annotations

from uuid import UUID

from lightkeeper.identity.attribution import UserRef
from lightkeeper.kit.schemas import CamelModel, InputTime, UTCTime


class ProjectAccessIn(CamelModel):
    """One project grant: exactly one of `role` (a system project role) or `roleUuid`."""

    project_uuid: UUID
    role: str | None = None
    role_uuid: UUID | None = None


class ServiceAccountCreate(CamelModel):
    """`POST /api/v1/service-accounts`. Identity fields (organizationUuid, userUuid…) are not read.

    `description` is optional here only so that a missing one gets the spec's message.
    """

    description: str | None = None
    expires_at: InputTime | None = None
    scopes: list[str] | None = None
    role_uuid: UUID | None = None
    project_access: list[ProjectAccessIn] | None = None
    allowed_ip_ranges: list[str] | None = None  # CIDR ranges its token is accepted from


class ServiceAccountUpdate(CamelModel):
    """`PATCH /api/v1/service-accounts/{uuid}`: the new description and, optionally, shape and
    `allowedIpRanges` (given: replaced; `[]` or null: any address)."""

    description: str | None = None
    scopes: list[str] | None = None
    role_uuid: UUID | None = None
    project_access: list[ProjectAccessIn] | None = None
    allowed_ip_ranges: list[str] | None = None


class ServiceAccountRotate(CamelModel):
    """`PATCH /api/v1/service-accounts/{uuid}/rotate`: the new token's expiry (required, future),
    and how long the previous token keeps working (`gracePeriodMinutes`, 0-1440, default 0)."""

    expires_at: InputTime | None = None
    grace_period_minutes: int = 0


class ServiceAccountOut(CamelModel):
    uuid: str
    organization_uuid: str
    description: str
    created_at: UTCTime
    created_by_user_uuid: str | None
    created_by: UserRef | None
    expires_at: UTCTime | None
    last_used_at: UTCTime | None
    rotated_at: UTCTime | None
    rotated_by_user_uuid: str | None
    scopes: list[str]
    role_uuid: str | None
    user_uuid: str
    project_access_count: int
    last_used_ip: str | None
    last_used_user_agent: str | None
    token_hint: str
    previous_token_expires_at: UTCTime | None = None  # while a rotation's grace period lasts
    allowed_ip_ranges: list[str] = []  # empty: any address


class ServiceAccountWithToken(ServiceAccountOut):
    """Only the create and rotate responses carry the plaintext token, once."""

    token: str


class ServiceAccountProjectOut(CamelModel):
    project_uuid: str
    project_name: str
    role: str | None = None
    role_uuid: str | None = None
    role_name: str | None = None
