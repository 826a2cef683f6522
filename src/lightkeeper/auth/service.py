"""Authentication: a request's credential becomes one Principal, or one generic 401.

Rules: the token prefix decides the kind; malformed tokens and bad checksums
are refused before any query; a rejection never reveals whether the token
exists; failures are logged (never the token) and counted per IP, and a
flood from one IP is answered 429; `lastUsedAt` is written at most once a
minute per credential; rows hashed under an older secret are re-hashed; an
expired token that matches a service account is refused as
`ExpiredServiceAccountToken`, which the app audits (app.py); a service
account's token also authenticates from its extra rows (`service_account_tokens`:
the previous token during a rotation's grace period, tokens minted by a trust
policy) until they expire; a service account with `allowed_ip_ranges` is refused
from any other address on every request, cached or not, as
`NetworkDeniedServiceAccountToken` (audited by the app).

What authentication needs of the process is `AuthContext` (the Runtime has it),
so this layer imports neither the runtime nor the audit log.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import datetime, timedelta
from typing import Protocol, cast

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lightkeeper.auth.cache import AUTH_NEUTRAL, CachedPrincipal, Network, PrincipalCache
from lightkeeper.auth.credentials import PresentedCredential
from lightkeeper.auth.grants import grants_for
from lightkeeper.auth.principal import Credential, Principal
from lightkeeper.config import Settings
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import AuthorizationError, TooManyRequestsError
from lightkeeper.kit.ratelimit import SlidingWindow
from lightkeeper.kit.request_context import RequestContext
from lightkeeper.kit.tokens import Keyring, MalformedTokenError, TokenKind, check_shape
from lightkeeper.models import (
    Organization,
    PersonalAccessToken,
    ServiceAccount,
    ServiceAccountToken,
    User,
    UserSession,
)

log = structlog.get_logger()

SA_REJECTED = "Invalid service account token. Authentication failed."
SA_EMPTY = "No service account token provided"
PAT_REJECTED = "Invalid personal access token. Authentication failed."
GENERIC_REJECTED = "Unauthorized"
LAST_USED_EVERY = timedelta(minutes=1)


class AuthContext(Protocol):
    """What authentication reads of the process (`Runtime` is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def keyring(self) -> Keyring: ...
    @property
    def token_failures(self) -> SlidingWindow: ...
    @property
    def principal_cache(self) -> PrincipalCache: ...


class ExpiredServiceAccountToken(AuthorizationError):
    """An expired token that matches a service account: the usual 401, plus an audit event.

    The event goes to the account's organization; the app's handler for this
    error records it (service_account.service.record_expired_attempt).
    """

    def __init__(self, message: str, account: ServiceAccount) -> None:
        super().__init__(message)
        self.service_account_uuid = account.uuid
        self.organization_uuid = account.organization_uuid
        self.description = account.description
        self.token_hint = account.token_hint


class NetworkDeniedServiceAccountToken(AuthorizationError):
    """A service account's token used from outside its `allowedIpRanges`: the usual 401, audited.

    The app's handler for this error records `service_account.network_denied`
    with the address (service_account.service.record_network_denial).
    """

    def __init__(self, message: str, principal: Principal, ip: str) -> None:
        super().__init__(message)
        self.service_account_uuid = principal.service_account_uuid
        self.organization_uuid = principal.organization_uuid
        self.description = principal.first_name
        self.token_hint = principal.token_hint
        self.ip = ip


def parse_networks(ranges: list[str] | None) -> tuple[Network, ...]:
    """Stored CIDR strings as networks (they were validated when they were written)."""
    return tuple(ipaddress.ip_network(r, strict=False) for r in ranges or ())


def address_allowed(networks: tuple[Network, ...], ip: str) -> bool:
    """Whether `ip` is inside one of `networks` (no networks: any address; unparsable: none)."""
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


def _check_network(runtime: AuthContext, ctx: RequestContext, cached: CachedPrincipal) -> None:
    if address_allowed(cached.networks, ctx.ip):
        return
    refused = reject(runtime, ctx, TokenKind.SERVICE_ACCOUNT, "network denied")
    raise NetworkDeniedServiceAccountToken(refused.message, cached.principal, ctx.ip)


def _rejected_message(kind: TokenKind | None) -> str:
    if kind is TokenKind.SERVICE_ACCOUNT:
        return SA_REJECTED
    if kind is TokenKind.PERSONAL:
        return PAT_REJECTED
    return GENERIC_REJECTED


def reject(
    runtime: AuthContext, ctx: RequestContext, kind: TokenKind | None, reason: str
) -> AuthorizationError:
    """Log and count a failed authentication; the caller raises what this returns."""
    runtime.token_failures.hit(ctx.ip)
    log.warning(
        "auth.failed",
        reason=reason,
        credential=kind.value if kind else "unknown",
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
    )
    return AuthorizationError(_rejected_message(kind))


def check_failure_rate(runtime: AuthContext, ctx: RequestContext) -> None:
    wait = runtime.token_failures.retry_after(ctx.ip)
    if wait:
        raise TooManyRequestsError(
            "Too many failed authentication attempts from this address. Try again later.", wait
        )


def principal_for_user(
    runtime: AuthContext,
    session: Session,
    user: User,
    *,
    credential: Credential,
    service_account: ServiceAccount | None = None,
    token_hint: str | None = None,
    session_token_hash: str | None = None,
) -> Principal:
    organization = session.get(Organization, user.organization_uuid)
    assert organization is not None  # foreign key
    grants = grants_for(session, runtime.settings, user, service_account)
    return Principal(
        user_uuid=user.uuid,
        organization_uuid=organization.uuid,
        organization_name=organization.name,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=user.role,
        custom_role_uuid=user.custom_role_uuid,
        is_service_account=user.is_service_account,
        service_account_uuid=service_account.uuid if service_account else None,
        credential=credential,
        grants=grants,
        token_hint=token_hint,
        session_token_hash=session_token_hash,
        created_at=user.created_at,
        updated_at=user.updated_at,
        organization_created_at=organization.created_at,
    )


def _find_by_hash(
    runtime: AuthContext,
    session: Session,
    model: type[PersonalAccessToken] | type[ServiceAccount] | type[ServiceAccountToken],
    raw: str,
) -> PersonalAccessToken | ServiceAccount | ServiceAccountToken | None:
    """Indexed lookup under the current key, then previous keys (re-hashing a hit)."""
    for position, (key_id, digest) in enumerate(runtime.keyring.candidates(raw)):
        row = cast(
            "PersonalAccessToken | ServiceAccount | ServiceAccountToken | None",
            session.scalar(select(model).where(model.token_hash == digest)),
        )
        if row is None:
            continue
        if position > 0 or row.token_key_id != key_id:
            row.token_key_id, row.token_hash = runtime.keyring.hash(raw)
            log.info("auth.token_rehashed", kind=model.__tablename__, uuid=row.uuid)
        return row
    return None


def _touch_last_used(
    session: Session,
    model: type[PersonalAccessToken] | type[ServiceAccount],
    uuid: str,
    ctx: RequestContext,
) -> bool:
    """A conditional update: at most one write per credential per minute, across processes.

    Bookkeeping only: if SQLite cannot take its write lock at this moment the
    write is skipped (in a savepoint) rather than failing the request.
    """
    now = utcnow()
    values: dict[str, object] = {"last_used_at": now}
    if model is ServiceAccount:
        values |= {"last_used_ip": ctx.ip, "last_used_user_agent": (ctx.user_agent or "")[:512]}
    statement = (
        update(model)
        .where(model.uuid == uuid)
        .where(or_(model.last_used_at.is_(None), model.last_used_at < now - LAST_USED_EVERY))
        .values(**values)
        .execution_options(synchronize_session=False, **{AUTH_NEUTRAL: True})
    )
    try:
        with session.begin_nested():
            session.execute(statement)
    except OperationalError:
        log.info("auth.last_used_skipped", kind=model.__tablename__, uuid=uuid)
        return False
    return True


TokenModel = type[PersonalAccessToken] | type[ServiceAccount]


def _check_presented(
    runtime: AuthContext, presented: PresentedCredential, ctx: RequestContext
) -> tuple[str, TokenModel]:
    """Everything decided without the database; returns the keyed hash and the token's table."""
    check_failure_rate(runtime, ctx)
    kind = presented.kind
    if not presented.token:
        raise AuthorizationError(SA_EMPTY if presented.scheme_present else GENERIC_REJECTED)
    if kind is None:
        raise reject(runtime, ctx, None, "unknown prefix")
    try:
        check_shape(presented.token, kind)
    except MalformedTokenError as error:
        raise reject(runtime, ctx, kind, str(error)) from None
    if kind is TokenKind.PERSONAL and not runtime.settings.pat_enabled:
        raise reject(runtime, ctx, kind, "personal tokens disabled")
    if kind is TokenKind.SERVICE_ACCOUNT and not runtime.settings.is_service_account_enabled:
        raise reject(runtime, ctx, kind, "service accounts disabled")
    _key_id, digest = runtime.keyring.hash(presented.token)
    return digest, PersonalAccessToken if kind is TokenKind.PERSONAL else ServiceAccount


def _last_used_due(cached: CachedPrincipal) -> bool:
    return time.monotonic() - cached.last_used_written >= LAST_USED_EVERY.total_seconds()


def cached_principal(
    runtime: AuthContext, presented: PresentedCredential, ctx: RequestContext
) -> Principal | None:
    """The principal when the cache answers with no database work at all, else None.

    None means "call `authenticate_token`": the cache misses, is due to check
    for other processes' changes, or the credential's lastUsedAt write is due.
    Refusals that need no database are raised here exactly as there.
    """
    digest, _model = _check_presented(runtime, presented, ctx)
    cache = runtime.principal_cache
    if cache.sync_due():
        return None
    cached = cache.get(digest)
    if cached is None or _last_used_due(cached):
        return None
    _check_network(runtime, ctx, cached)
    return cached.principal


def authenticate_token(
    runtime: AuthContext, session: Session, presented: PresentedCredential, ctx: RequestContext
) -> Principal:
    """The principal of a token: shape and checksum first, then the cache, then the database."""
    digest, model = _check_presented(runtime, presented, ctx)
    cache = runtime.principal_cache
    cache.sync(session)
    cached = cache.get(digest)
    if cached is not None:
        _check_network(runtime, ctx, cached)
        if _last_used_due(cached) and _touch_last_used(session, model, cached.credential_uuid, ctx):
            cached.last_used_written = time.monotonic()
        return cached.principal

    epoch = cache.epoch
    networks: tuple[Network, ...] = ()
    if model is PersonalAccessToken:
        principal, expires_at, uuid = _authenticate_pat(runtime, session, presented.token, ctx)
    else:
        (principal, expires_at, uuid), networks = _authenticate_service_account(
            runtime, session, presented.token, ctx
        )
    entry = CachedPrincipal(principal, expires_at, uuid, time.monotonic(), networks)
    cache.put(digest, entry, epoch)
    _check_network(runtime, ctx, entry)
    _touch_last_used(session, model, uuid, ctx)
    return principal


Resolved = tuple[Principal, datetime | None, str]


def _earliest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _authenticate_pat(
    runtime: AuthContext, session: Session, raw: str, ctx: RequestContext
) -> Resolved:
    pat = _find_by_hash(runtime, session, PersonalAccessToken, raw)
    if not isinstance(pat, PersonalAccessToken):
        raise reject(runtime, ctx, TokenKind.PERSONAL, "no match")
    if pat.expires_at is not None and pat.expires_at <= utcnow():
        raise reject(runtime, ctx, TokenKind.PERSONAL, "expired")
    user = session.get(User, pat.user_uuid)
    if user is None or not user.is_active or user.is_service_account:
        raise reject(runtime, ctx, TokenKind.PERSONAL, "user inactive")
    principal = principal_for_user(
        runtime, session, user, credential="pat", token_hint=pat.token_hint
    )
    return principal, pat.expires_at, pat.uuid


def _authenticate_service_account(
    runtime: AuthContext, session: Session, raw: str, ctx: RequestContext
) -> tuple[Resolved, tuple[Network, ...]]:
    account = _find_by_hash(runtime, session, ServiceAccount, raw)
    token_hint, token_expires_at = None, None
    if not isinstance(account, ServiceAccount):
        # The previous token in a rotation's grace period, or a token minted by a trust policy.
        extra = _find_by_hash(runtime, session, ServiceAccountToken, raw)
        if not isinstance(extra, ServiceAccountToken):
            raise reject(runtime, ctx, TokenKind.SERVICE_ACCOUNT, "no match")
        if extra.expires_at <= utcnow():
            raise reject(runtime, ctx, TokenKind.SERVICE_ACCOUNT, f"{extra.kind} token expired")
        account = session.get(ServiceAccount, extra.service_account_uuid)
        assert account is not None  # foreign key
        token_hint, token_expires_at = extra.token_hint, extra.expires_at
    if account.expires_at is not None and account.expires_at <= utcnow():
        refused = reject(runtime, ctx, TokenKind.SERVICE_ACCOUNT, "expired")
        raise ExpiredServiceAccountToken(refused.message, account)
    user = session.get(User, account.user_uuid)
    if user is None or not user.is_active:
        raise reject(runtime, ctx, TokenKind.SERVICE_ACCOUNT, "principal inactive")
    principal = principal_for_user(
        runtime,
        session,
        user,
        credential="service_account",
        service_account=account,
        token_hint=token_hint or account.token_hint,
    )
    expires_at = _earliest(account.expires_at, token_expires_at)
    return (principal, expires_at, account.uuid), parse_networks(account.allowed_ip_ranges)


def authenticate_session(runtime: AuthContext, session: Session, cookie: str) -> Principal | None:
    """The principal of a browser session cookie, or None if it is unknown or expired."""
    _key_id, digest = runtime.keyring.hash(cookie)
    row = session.get(UserSession, digest)
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_uuid)
    if user is None or not user.is_active or user.is_service_account:
        return None
    return principal_for_user(
        runtime, session, user, credential="session", session_token_hash=digest
    )
