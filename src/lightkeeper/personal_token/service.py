"""The rules of personal access tokens: a person's own tokens, and an admin's view of a member's.

A personal token acts as its owner. Only its keyed hash and its last
characters are stored; the plaintext is returned once, on create and rotate.
PAT_ENABLED, PAT_ALLOWED_ORG_ROLES and PAT_MAX_EXPIRATION_TIME_IN_DAYS apply
to every route.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, record
from lightkeeper.auth.grants import grants_for
from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import require_may_act_on, require_org
from lightkeeper.kit.clock import as_utc, iso, seconds_until, utcnow
from lightkeeper.kit.errors import (
    ForbiddenError,
    NotFoundError,
    ParameterError,
    TooManyRequestsError,
)
from lightkeeper.kit.tokens import MalformedTokenError, TokenKind, check_shape, generate, hint
from lightkeeper.models import PersonalAccessToken, User
from lightkeeper.personal_token import repository
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

NO_SERVICE_ACCOUNT_TOKENS = "Service accounts cannot have personal access tokens"
PATS_DISABLED = "Personal access tokens are disabled on this server (PAT_ENABLED=false)"
EXPIRE_IN_FUTURE = "Expire time must be in the future"
NO_EXPIRY_NO_ROTATION = "Token with no expiration date cannot be rotated"
ROTATE_ONCE_PER_HOUR = "Token can only be rotated once per hour"
ROTATE_EVERY = timedelta(hours=1)
# A client that computes "now + N days" before sending must not miss the maximum by its own latency.
MAX_EXPIRY_SLACK = timedelta(minutes=1)


def store_personal_token(
    runtime: Runtime,
    session: Session,
    user: User,
    *,
    description: str,
    expires_at: datetime | None,
    raw: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Store a personal token for `user` (fresh unless `raw` is given), returned with its plaintext.

    Rules: the token has the personal prefix and a valid shape; only its keyed
    hash and its hint are stored.
    """
    raw = raw or generate(TokenKind.PERSONAL)
    try:
        check_shape(raw, TokenKind.PERSONAL)
    except MalformedTokenError as error:
        raise ParameterError(f"Not a valid personal access token ({error})") from None
    key_id, digest = runtime.keyring.hash(raw)
    pat = PersonalAccessToken(
        user_uuid=user.uuid,
        description=description,
        token_hash=digest,
        token_key_id=key_id,
        token_hint=hint(raw),
        expires_at=expires_at,
    )
    session.add(pat)
    session.flush()
    return pat, raw


def _require_personal_tokens(runtime: Runtime, principal: Principal) -> None:
    if principal.is_service_account:
        raise ForbiddenError(NO_SERVICE_ACCOUNT_TOKENS)
    if not runtime.settings.pat_enabled:
        raise ForbiddenError(PATS_DISABLED)


def _require_may_mint(runtime: Runtime, principal: Principal) -> None:
    allowed = runtime.settings.pat_allowed_roles
    if principal.role not in allowed:
        raise ForbiddenError(
            f"The {principal.role} role may not create personal access tokens on this server "
            f"(PAT_ALLOWED_ORG_ROLES={','.join(allowed)})"
        )


def _description(text: str) -> str:
    text = text.strip()
    if not text:
        raise ParameterError("Description is required", {"fields": {"description": "required"}})
    if len(text) > 255:
        raise ParameterError(
            "Description must be at most 255 characters", {"fields": {"description": "too long"}}
        )
    return text


def _token_expiry(
    runtime: Runtime, expires_at: datetime | None, *, required: bool
) -> datetime | None:
    """A personal token's expiry: in the future, within PAT_MAX_EXPIRATION_TIME_IN_DAYS if set."""
    max_days = runtime.settings.pat_max_expiration_time_in_days
    too_late = ParameterError(
        f"Personal access tokens must expire within {max_days} days on this server "
        f"(PAT_MAX_EXPIRATION_TIME_IN_DAYS={max_days}): choose an earlier expiresAt",
        {"fields": {"expiresAt": f"at most {max_days} days from now"}},
    )
    if expires_at is None:
        if required:
            raise ParameterError(EXPIRE_IN_FUTURE, {"fields": {"expiresAt": "required"}})
        if max_days is not None:
            raise too_late
        return None
    expires_at = as_utc(expires_at)
    now = utcnow()
    if expires_at <= now:
        raise ParameterError(EXPIRE_IN_FUTURE, {"fields": {"expiresAt": "in the past"}})
    if max_days is not None and expires_at > now + timedelta(days=max_days) + MAX_EXPIRY_SLACK:
        raise too_late
    return expires_at


def _token_target(pat: PersonalAccessToken) -> Target:
    return Target(TargetType.PERSONAL_ACCESS_TOKEN, pat.uuid, pat.description)


def create_personal_token(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    *,
    description: str,
    expires_at: datetime | None,
) -> tuple[PersonalAccessToken, str]:
    """Mint a personal token for the caller; returns it with its plaintext (shown once).

    Rules: only people (403 for service accounts) and only from a browser
    session (the route asks for one, so a leaked token cannot mint more);
    PAT_ENABLED, PAT_ALLOWED_ORG_ROLES and PAT_MAX_EXPIRATION_TIME_IN_DAYS
    apply; description 1 to 255 characters; expiresAt null (never) or in the
    future; audited without the token.
    """
    _require_personal_tokens(runtime, principal)
    _require_may_mint(runtime, principal)
    text = _description(description)
    expiry = _token_expiry(runtime, expires_at, required=False)
    user = session.get(User, principal.user_uuid)
    assert user is not None  # the principal's own row
    pat, raw = store_personal_token(runtime, session, user, description=text, expires_at=expiry)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.PERSONAL_ACCESS_TOKEN_CREATED,
        target=_token_target(pat),
        details={"expiresAt": iso(expiry), "tokenHint": pat.token_hint},
    )
    log.info("personal_access_token.created", uuid=pat.uuid, user_uuid=user.uuid)
    return pat, raw


def list_personal_tokens(
    runtime: Runtime, session: Session, principal: Principal
) -> list[PersonalAccessToken]:
    """The caller's own personal tokens, newest first. Rules: people only; PAT_ENABLED applies."""
    _require_personal_tokens(runtime, principal)
    return repository.personal_tokens(session, principal.user_uuid)


def _own_token(session: Session, principal: Principal, token_uuid: str) -> PersonalAccessToken:
    pat = repository.personal_token(session, principal.user_uuid, token_uuid)
    if pat is None:
        raise NotFoundError("Personal access token not found")
    return pat


def delete_personal_token(
    runtime: Runtime, session: Session, principal: Principal, token_uuid: str
) -> None:
    """Revoke one of the caller's personal tokens; it stops working on the next request.

    Rules: people only; another person's token is 404; audited.
    """
    _require_personal_tokens(runtime, principal)
    pat = _own_token(session, principal, token_uuid)
    repository.delete_personal_token(session, pat.uuid)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.PERSONAL_ACCESS_TOKEN_DELETED,
        target=_token_target(pat),
        details={"userUuid": pat.user_uuid, "tokenHint": pat.token_hint},
    )
    log.info("personal_access_token.deleted", uuid=pat.uuid, user_uuid=pat.user_uuid)


def rotate_personal_token(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    token_uuid: str,
    *,
    expires_at: datetime | None,
    presented_token: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Replace a personal token's value; returns it with the new plaintext (shown once).

    Rules: people only, PAT_ENABLED and PAT_ALLOWED_ORG_ROLES apply; another
    person's token is 404; a personal token (`presented_token`) may rotate only
    itself, so a leaked token cannot mint a second one; only expiring tokens
    (400), the new expiry is required, in the future and within the maximum;
    at most once per hour per token, decided by a conditional UPDATE in the
    database (429 with Retry-After); the old value stops working at once.
    """
    _require_personal_tokens(runtime, principal)
    _require_may_mint(runtime, principal)
    pat = _own_token(session, principal, token_uuid)
    if principal.credential == "pat":
        presented = {digest for _key, digest in runtime.keyring.candidates(presented_token or "")}
        if pat.token_hash not in presented:
            raise ForbiddenError(
                "A personal access token can only rotate itself: log in to rotate your other tokens"
            )
    if pat.expires_at is None:
        raise ParameterError(NO_EXPIRY_NO_ROTATION)
    expiry = _token_expiry(runtime, expires_at, required=True)
    assert expiry is not None
    raw = generate(TokenKind.PERSONAL)
    key_id, digest = runtime.keyring.hash(raw)
    now = utcnow()
    rotated = repository.rotate_personal_token(
        session,
        pat.uuid,
        key_id=key_id,
        digest=digest,
        token_hint=hint(raw),
        expires_at=expiry,
        now=now,
        not_rotated_since=now - ROTATE_EVERY,
    )
    session.expire(pat)
    if not rotated:
        current = repository.personal_token(session, principal.user_uuid, token_uuid)
        if current is None:  # deleted meanwhile
            raise NotFoundError("Personal access token not found")
        last = current.rotated_at or now
        raise TooManyRequestsError(ROTATE_ONCE_PER_HOUR, seconds_until(last + ROTATE_EVERY))
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.PERSONAL_ACCESS_TOKEN_ROTATED,
        target=_token_target(pat),
        details={"expiresAt": iso(expiry), "tokenHint": pat.token_hint},
    )
    log.info("personal_access_token.rotated", uuid=pat.uuid, user_uuid=pat.user_uuid)
    return pat, raw


def _member(runtime: Runtime, session: Session, principal: Principal, user_uuid: str) -> User:
    """A person whose tokens the principal may manage: the caller's organization (404),
    `manage:OrganizationMemberProfile` (403), holding no more than the caller (403)."""
    user = repository.human_in_organization(session, principal.organization_uuid, user_uuid)
    if user is None:
        raise NotFoundError("User not found")
    require_org(principal, "manage", "OrganizationMemberProfile")
    require_may_act_on(principal, grants_for(session, runtime.settings, user))
    return user


def list_member_tokens(
    runtime: Runtime, session: Session, principal: Principal, user_uuid: str
) -> list[PersonalAccessToken]:
    """An admin's view of a member's personal tokens (never their values).

    Rules: the person must be in the caller's organization (404); needs
    `manage:OrganizationMemberProfile` (403); nobody sees the tokens of
    someone holding more than they do (403).
    """
    user = _member(runtime, session, principal, user_uuid)
    return repository.personal_tokens(session, user.uuid)


def revoke_member_token(
    runtime: Runtime, session: Session, principal: Principal, user_uuid: str, token_uuid: str
) -> None:
    """An admin revokes one of a member's personal tokens.

    Rules: as `list_member_tokens`; a token of someone else is 404; audited
    with the owner named.
    """
    user = _member(runtime, session, principal, user_uuid)
    pat = repository.personal_token(session, user.uuid, token_uuid)
    if pat is None:
        raise NotFoundError("Personal access token not found")
    repository.delete_personal_token(session, pat.uuid)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.PERSONAL_ACCESS_TOKEN_DELETED,
        target=_token_target(pat),
        details={"userUuid": user.uuid, "email": user.email, "tokenHint": pat.token_hint},
    )
    log.info(
        "personal_access_token.revoked", uuid=pat.uuid, user_uuid=user.uuid, by=principal.user_uuid
    )
