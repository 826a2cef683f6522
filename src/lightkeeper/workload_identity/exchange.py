"""The RFC 8693 token exchange: a CI identity token in, a short-lived `ldsvc_` token out.

Verification (reference/workload-identity.md §2.2), in this order, each failure
an `invalid_grant` naming the check and never a policy's contents:

1. the token is a signed JWT (at most 16 KB) whose header names an asymmetric
   algorithm (RS*, PS*, ES*, EdDSA: never `none` or HMAC) and a `kid`, and has
   no `crit` header;
2. some trust policy names its `iss` exactly; only then are the issuer's keys
   fetched (kit/jwks.py: cached by kid, one refetch per issuer per minute);
3. the signature verifies with that key, the algorithm fitting the key's type;
4. exactly one `aud`; `exp`, `iat`, `sub` and `jti` present; `exp`, `nbf`, `iat`
   within 30 s of our clock; the token at most 6 hours old;
5. an enabled policy with that issuer and audience whose subject and claims all
   match exactly; `audience` (the policy uuid or `sa:<service account uuid>`)
   chooses when several do, and is required then (`invalid_target`);
6. the service account has not expired;
7. the `jti` was never exchanged before: an insert that fails the second time,
   across processes, kept until the token expires.

The minted token is an ordinary service-account credential (a
`service_account_tokens` row, kind "exchanged"): the SA's own permissions,
expiring after the policy's lifetime and never after the SA; deleting the SA or
the policy (or disabling it) revokes it. Audited as
`service_account.token_exchanged` with the policy, the issuer, the subject and
the run's identifying claims, never a token. Failed exchanges are logged, not
audited (as failed logins: nobody may fill an organization's log).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, record
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.kit.jwks import KeySetUnavailable, UnknownKey, is_allowed_url
from lightkeeper.kit.tokens import TokenKind, generate, hint
from lightkeeper.models import ServiceAccount, ServiceAccountToken, TrustPolicy, User
from lightkeeper.runtime import Runtime
from lightkeeper.service_account.service import DISABLED_MESSAGE
from lightkeeper.workload_identity import policies, repository
from lightkeeper.workload_identity.errors import OAuthError

log = structlog.get_logger()

LEEWAY = 30
MAX_TOKEN_AGE = timedelta(hours=6)
MAX_TOKEN_BYTES = 16 * 1024
ALGORITHMS_BY_KEY = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
}
ALGORITHMS = frozenset(a for algs in ALGORITHMS_BY_KEY.values() for a in algs)
ISSUED_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
# The run's identifying claims copied into the audit event (GitHub, then GitLab names).
RUN_CLAIMS = (
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "workflow",
    "workflow_ref",
    "job_workflow_ref",
    "run_id",
    "run_attempt",
    "ref",
    "sha",
    "environment",
    "event_name",
    "actor",
    "runner_environment",
    "project_path",
    "project_id",
    "namespace_path",
    "namespace_id",
    "pipeline_id",
    "pipeline_source",
    "job_id",
    "user_login",
)


@dataclass(frozen=True)
class Exchanged:
    token: str
    expires_in: int
    service_account_uuid: str


def _grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def _shown(value: str, limit: int = 200) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def _queryable(value: str) -> bool:
    """Text a database can compare: bounded, printable, no NUL or lone surrogates."""
    return len(value) <= 512 and value.isprintable()  # NUL and lone surrogates are not


def _storable(value: object) -> object:
    """A claim as the audit log can store it: text without NUL or lone surrogates, bounded."""
    if isinstance(value, str):
        text = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
        return _shown(text, 512)
    return value


# -- verification -----------------------------------------------------------------


def _raw_header(token: str) -> dict[str, Any]:
    """The JOSE header as sent, read by hand so that `crit` gets its own answer."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise _grant("subject_token is not a signed JWT") from None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise _grant("subject_token is not a signed JWT")
    return header


def _header(token: str) -> tuple[str, str]:
    """Step 1: the algorithm and key id of a signed JWT, refusing what is never acceptable."""
    if len(token) > MAX_TOKEN_BYTES:
        raise OAuthError("invalid_request", f"subject_token is longer than {MAX_TOKEN_BYTES} bytes")
    header = _raw_header(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _grant(
            f"Identity tokens must be signed with an asymmetric algorithm (RS256, ES256, …), "
            f"not {_shown(str(alg), 20)}"
        )
    if "crit" in header:
        raise _grant("Identity tokens with a crit header are refused")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _grant("The identity token's header has no kid")
    return str(alg), kid


def _unverified_issuer(token: str) -> str:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _grant("subject_token is not a signed JWT") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer or not _queryable(issuer):
        raise _grant("The identity token has no usable iss claim")
    return issuer


def _verified_claims(
    runtime: Runtime, token: str, alg: str, kid: str, issuer: str
) -> dict[str, Any]:
    """Steps 3: the claims, once the signature verifies with the issuer's key `kid`."""
    try:
        key = runtime.key_sets.key(issuer, kid)
    except KeySetUnavailable as unavailable:
        raise OAuthError(
            "temporarily_unavailable",
            "The issuer's signing keys could not be fetched; try again shortly",
            status_code=503,
            retry_after=unavailable.retry_after,
        ) from None
    except UnknownKey:
        raise _grant(
            "The identity token is signed with a key (kid) its issuer does not publish"
        ) from None
    if alg not in ALGORITHMS_BY_KEY.get(str(key.key_type), ()):
        raise _grant(f"The identity token's algorithm {alg} does not fit the issuer's key {kid}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            options={
                "verify_signature": True,
                # Time and audience are checked below, against the one clock tests move.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise _grant("The identity token's signature does not verify") from None
    except jwt.PyJWTError as error:
        raise _grant(f"The identity token is not valid: {type(error).__name__}") from None
    if claims.get("iss") != issuer:
        raise _grant("The identity token's iss claim does not match")
    return claims


def _number(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _grant(f"The identity token's {name} claim is missing or not a number")
    return float(value)


def _check_claims(claims: dict[str, Any], now: datetime) -> str:
    """Step 4: one audience, times within the leeway, sub and jti present; returns the audience."""
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) == 1:
        audience = audience[0]
    if not isinstance(audience, str) or not audience or not _queryable(audience):
        raise _grant("The identity token must have exactly one audience (aud)")
    moment = now.timestamp()
    exp = _number(claims, "exp", required=True)
    iat = _number(claims, "iat", required=True)
    nbf = _number(claims, "nbf", required=False)
    assert exp is not None and iat is not None
    if exp + LEEWAY <= moment:
        raise _grant("The identity token has expired (exp)")
    if nbf is not None and nbf - LEEWAY > moment:
        raise _grant("The identity token is not valid yet (nbf)")
    if iat - LEEWAY > moment:
        raise _grant("The identity token was issued in the future (iat)")
    if moment - iat > MAX_TOKEN_AGE.total_seconds():
        raise _grant("The identity token is too old (iat more than 6 hours ago)")
    for name in ("sub", "jti"):
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > 512:
            raise _grant(f"The identity token has no {name} claim")
    return audience


# -- choosing the policy -----------------------------------------------------------


def _named_by(policy: TrustPolicy, audience: str) -> bool:
    return audience in (policy.uuid, f"sa:{policy.service_account_uuid}")


def _choose_policy(
    candidates: list[TrustPolicy], claims: dict[str, Any], audience: str | None
) -> TrustPolicy:
    """Step 5: the one enabled policy whose subject and claims all match."""
    if audience is not None:
        candidates = [p for p in candidates if _named_by(p, audience)]
        if not candidates:
            raise OAuthError(
                "invalid_target",
                "audience names no trust policy or service account (sa:<uuid>) that trusts "
                "this token's issuer and audience",
            )
    if not candidates:
        raise _grant("No enabled trust policy trusts this issuer for this token's audience (aud)")
    matched: list[TrustPolicy] = []
    failed: list[str] = []
    for policy in candidates:
        mismatch = policies.first_mismatch(policy.subject, dict(policy.claims), claims)
        if mismatch is None:
            matched.append(policy)
        else:
            failed.append(mismatch)
    if not matched:
        detail = f": claim {failed[0]} does not match" if len(candidates) == 1 else ""
        raise _grant(f"No trust policy matches the identity token's claims{detail}")
    accounts = {p.service_account_uuid for p in matched}
    if len(accounts) > 1 or (audience is None and len(matched) > 1):
        raise OAuthError(
            "invalid_target",
            "Several trust policies match this token: name one with audience=<trust policy "
            "uuid> or audience=sa:<service account uuid>",
        )
    return matched[0]


# -- the exchange ------------------------------------------------------------------


def _jti_key(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()


def exchange(
    runtime: Runtime, session: Session, subject_token: str, audience: str | None
) -> Exchanged:
    """Verify a CI identity token and mint a short-lived token of the one SA it is trusted for.

    Rules: the module docstring's steps. Network work (the issuer's keys)
    happens before the request's session writes anything, so no database lock
    is held while the issuer answers.
    """
    settings = runtime.settings
    if not settings.is_service_account_enabled:
        raise OAuthError("invalid_request", DISABLED_MESSAGE)
    alg, kid = _header(subject_token)
    issuer = _unverified_issuer(subject_token)
    if not is_allowed_url(issuer, allow_http=settings.oidc_allow_http_issuers):
        raise _grant("The identity token's issuer is not an https:// URL")
    with runtime.sessions() as reader:  # a reader: nothing is locked while keys are fetched
        trusted = repository.issuer_is_trusted(reader, issuer)
    if not trusted:
        raise _grant(f"No trust policy trusts the issuer {_shown(issuer)!r}")
    claims = _verified_claims(runtime, subject_token, alg, kid, issuer)
    now = utcnow()
    token_audience = _check_claims(claims, now)

    policy = _choose_policy(
        repository.enabled_policies(session, issuer, token_audience), claims, audience
    )
    account = session.get(ServiceAccount, policy.service_account_uuid)
    assert account is not None  # foreign key
    principal_row = session.get(User, account.user_uuid)
    if account.expires_at is not None and account.expires_at <= now:
        raise _grant("The service account this token is trusted for has expired")
    if principal_row is None or not principal_row.is_active:
        raise _grant("The service account this token is trusted for is not active")

    lifetime = policy.max_token_lifetime_seconds
    if account.expires_at is not None:
        lifetime = min(lifetime, int((account.expires_at - now).total_seconds()))
    if lifetime < 1:
        raise _grant("The service account this token is trusted for has expired")

    # Remembered until the token expires (bounded: a far `exp` must not overflow or linger).
    # Past now + MAX_TOKEN_AGE + 60 s its `iat` (at most 30 s ahead) is too old anyway.
    remember_until = min(
        float(claims["exp"]), now.timestamp() + MAX_TOKEN_AGE.total_seconds() + 2 * LEEWAY
    )
    exp = datetime.fromtimestamp(remember_until, UTC) + timedelta(seconds=LEEWAY)
    try:
        with session.begin_nested():
            repository.remember_identity_token(session, _jti_key(issuer, claims["jti"]), exp, now)
    except IntegrityError:
        log.warning("oidc.token_reused", issuer=issuer, policy_uuid=policy.uuid)
        raise _grant("This identity token has already been exchanged (jti)") from None

    raw = generate(TokenKind.SERVICE_ACCOUNT)
    key_id, digest = runtime.keyring.hash(raw)
    minted = ServiceAccountToken(
        service_account_uuid=account.uuid,
        kind=repository.EXCHANGED,
        trust_policy_uuid=policy.uuid,
        token_hash=digest,
        token_key_id=key_id,
        token_hint=hint(raw),
        expires_at=now + timedelta(seconds=lifetime),
    )
    session.add(minted)
    policy.last_used_at = now
    session.flush()
    record(
        session,
        organization_uuid=account.organization_uuid,
        actor=Actor("service_account", account.uuid, account.description, minted.token_hint),
        action=AuditAction.SERVICE_ACCOUNT_TOKEN_EXCHANGED,
        target=Target(TargetType.SERVICE_ACCOUNT, account.uuid, account.description),
        details={
            "trustPolicyUuid": policy.uuid,
            "issuer": issuer,
            "subject": _storable(claims["sub"]),
            "jti": _storable(claims["jti"]),
            "claims": {
                name: _storable(claims[name])
                for name in RUN_CLAIMS
                if policies.claim_text(claims.get(name)) is not None
            },
            "expiresAt": iso(minted.expires_at),
            "tokenHint": minted.token_hint,
        },
    )
    log.info(
        "service_account.token_exchanged",
        service_account_uuid=account.uuid,
        trust_policy_uuid=policy.uuid,
        issuer=issuer,
        expires_in=lifetime,
    )
    return Exchanged(raw, lifetime, account.uuid)
