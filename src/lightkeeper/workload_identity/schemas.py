"""Wire models of trust policies and the token endpoint (camelCase for the API's own models)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from lightkeeper.identity.attribution import UserRef
from lightkeeper.kit.schemas import CamelModel, UTCTime


class TrustPolicyCreate(CamelModel):
    """`POST …/trust-policies`. With a `preset` the issuer may be left out."""

    preset: Literal["github", "gitlab", "custom"] | None = None
    issuer: str | None = None
    audience: str | None = None
    subject: str | None = None
    claims: dict[str, str] | None = None
    max_token_lifetime_seconds: int | None = None
    enabled: bool = True


class TrustPolicyUpdate(CamelModel):
    """`PATCH …/trust-policies/{policyUuid}`: only the fields given change (`subject: null` clears)."""

    issuer: str | None = None
    audience: str | None = None
    subject: str | None = None
    claims: dict[str, str] | None = None
    max_token_lifetime_seconds: int | None = None
    enabled: bool | None = None


class TrustPolicyOut(CamelModel):
    uuid: str
    service_account_uuid: str
    provider: str
    issuer: str
    audience: str
    subject: str | None
    claims: dict[str, str]
    max_token_lifetime_seconds: int
    enabled: bool
    created_by_user_uuid: str | None
    created_by: UserRef | None
    created_at: UTCTime
    updated_at: UTCTime
    last_used_at: UTCTime | None


class PresetOut(CamelModel):
    name: str
    label: str
    issuer: str
    required_claims: list[str]
    suggested_claims: list[str]
    default_audience: str


class TokenResponse(BaseModel):
    """RFC 8693 §2.2.1 (snake_case on the wire, as the RFC)."""

    access_token: str
    issued_token_type: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthErrorOut(BaseModel):
    error: str
    error_description: str
