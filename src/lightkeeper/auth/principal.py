"""The principal: who is acting on this request, and what it holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lightkeeper.auth.grants import Grants
from lightkeeper.kit.names import display_name

Credential = Literal["session", "pat", "service_account", "system"]


@dataclass(frozen=True)
class Principal:
    user_uuid: str
    organization_uuid: str
    organization_name: str
    email: str | None
    first_name: str
    last_name: str
    role: str  # the system org role reported to clients
    custom_role_uuid: str | None
    is_service_account: bool
    service_account_uuid: str | None
    credential: Credential
    grants: Grants
    token_hint: str | None = None
    session_token_hash: str | None = None
    # What `GET /api/v1/user` reports (Lightdash's LightdashUser): the principal row's and the
    # organization's times.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    organization_created_at: datetime | None = None

    @property
    def actor_type(self) -> str:
        return "service_account" if self.is_service_account else "user"

    @property
    def label(self) -> str:
        """How audit events and `createdBy` name this principal."""
        if self.is_service_account:
            return self.first_name
        return display_name(self.first_name, self.last_name, self.email or self.user_uuid)
