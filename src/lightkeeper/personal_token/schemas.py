"""Wire models of personal access tokens: never a value, except once on create and rotate."""

from __future__ import annotations

from lightkeeper.kit.schemas import CamelModel, InputTime, UTCTime
from lightkeeper.models import PersonalAccessToken


class PersonalTokenCreate(CamelModel):
    """Absent `expiresAt` means null: a token that never expires (if the server allows it)."""

    description: str = ""
    expires_at: InputTime | None = None


class PersonalTokenRotate(CamelModel):
    expires_at: InputTime | None = None


class PersonalTokenOut(CamelModel):
    """A personal token as lists show it: never its value."""

    uuid: str
    description: str
    expires_at: UTCTime | None
    created_at: UTCTime
    last_used_at: UTCTime | None
    rotated_at: UTCTime | None
    token_hint: str

    @classmethod
    def of(cls, pat: PersonalAccessToken) -> PersonalTokenOut:
        return cls(
            uuid=pat.uuid,
            description=pat.description,
            expires_at=pat.expires_at,
            created_at=pat.created_at,
            last_used_at=pat.last_used_at,
            rotated_at=pat.rotated_at,
            token_hint=pat.token_hint,
        )


class PersonalTokenWithValue(PersonalTokenOut):
    """Create and rotate answers: the plaintext `token`, shown this once."""

    token: str

    @classmethod
    def of(cls, pat: PersonalAccessToken, token: str) -> PersonalTokenWithValue:  # type: ignore[override]
        return cls(**PersonalTokenOut.of(pat).model_dump(), token=token)
