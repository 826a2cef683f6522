"""Leaked-token response: revoke what a secret scanner found, say only true or false positive.

Rules:
- unauthenticated, rate limited per client address (429 with Retry-After);
- at most 100 reports per request; each costs at most one keyed hash (under the
  current key only) and the same indexed lookups whether it is unknown, expired
  or already revoked (so neither time nor answer tells them apart): a string
  that is not one of our tokens' shapes (prefix, checksum) costs no query at all;
- a live service-account token is rotated out (the SA keeps existing and its
  permissions, its token is replaced by one nobody knows); a live grace-period
  or exchanged SA token is deleted; a live personal token is deleted;
- each revocation is audited as `token.leak_reported` in the owner's
  organization, with the reported URL, source and type, never the token;
- the answer for each entry is `{token_hash_prefix, label}` only, in the
  request's order: `true_positive` when a live token was revoked now,
  `false_positive` otherwise (unknown, expired, already revoked, garbage alike).
  `token_hash_prefix` is the first 12 hex digits of the token's plain SHA-256,
  which the reporter can compute, and which reveals nothing they do not hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, record
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import TooManyRequestsError
from lightkeeper.kit.request_context import RequestContext
from lightkeeper.kit.tokens import (
    MalformedTokenError,
    TokenKind,
    check_shape,
    generate,
    hint,
    kind_of,
)
from lightkeeper.models import ServiceAccount
from lightkeeper.runtime import Runtime
from lightkeeper.secret_scanning import repository

log = structlog.get_logger()

MAX_REPORTS = 100
Label = Literal["true_positive", "false_positive"]


@dataclass(frozen=True)
class Report:
    token: str
    type: str
    url: str
    source: str


@dataclass(frozen=True)
class Verdict:
    token_hash_prefix: str
    label: Label


def check_rate(runtime: Runtime, ctx: RequestContext) -> None:
    """Rule: at most `leak_reports.limit` requests per client address per window."""
    wait = runtime.leak_reports.retry_after(ctx.ip)
    if wait:
        raise TooManyRequestsError("Too many leaked-token reports from this address", wait)
    runtime.leak_reports.hit(ctx.ip)


def _audit(
    session: Session,
    organization_uuid: str,
    report: Report,
    target: Target,
    revoked: str,
    token_hint: str,
) -> None:
    record(
        session,
        organization_uuid=organization_uuid,
        actor=Actor("secret_scanner", None, report.source or "secret scanning"),
        action=AuditAction.TOKEN_LEAK_REPORTED,
        target=target,
        details={
            "url": report.url,
            "source": report.source,
            "type": report.type,
            "revoked": revoked,
            "tokenHint": token_hint,
        },
    )


def _revoke_service_account_token(
    runtime: Runtime, session: Session, report: Report, digest: str
) -> bool:
    now = utcnow()
    # Both lookups always, so an expired token costs what an unknown one does.
    account = repository.service_account_by_hash(session, digest)
    extra = repository.extra_token_by_hash(session, digest)
    if account is not None:
        if account.expires_at is not None and account.expires_at <= now:
            return False
        leaked_hint = account.token_hint
        unknown = generate(TokenKind.SERVICE_ACCOUNT)  # replaces the leaked one; never shown
        account.token_key_id, account.token_hash = runtime.keyring.hash(unknown)
        account.token_hint = hint(unknown)
        target = Target(TargetType.SERVICE_ACCOUNT, account.uuid, account.description)
        _audit(
            session, account.organization_uuid, report, target, "service_account_token", leaked_hint
        )
        return True
    if extra is None or extra.expires_at <= now:
        return False
    owner = session.get(ServiceAccount, extra.service_account_uuid)
    assert owner is not None  # foreign key
    session.delete(extra)
    target = Target(TargetType.SERVICE_ACCOUNT, owner.uuid, owner.description)
    _audit(
        session, owner.organization_uuid, report, target, f"{extra.kind}_token", extra.token_hint
    )
    return True


def _revoke_personal_token(session: Session, report: Report, digest: str) -> bool:
    found = repository.personal_token_by_hash(session, digest)
    if found is None:
        return False
    pat, user = found
    if (pat.expires_at is not None and pat.expires_at <= utcnow()) or not user.is_active:
        return False
    session.delete(pat)
    target = Target(TargetType.PERSONAL_ACCESS_TOKEN, pat.uuid, pat.description)
    _audit(session, user.organization_uuid, report, target, "personal_access_token", pat.token_hint)
    return True


def _revoke(runtime: Runtime, session: Session, report: Report) -> bool:
    kind = kind_of(report.token)
    if kind is None:
        return False
    try:
        check_shape(report.token, kind)
    except MalformedTokenError:
        return False
    _key_id, digest = runtime.keyring.hash(report.token)  # the one keyed hash
    if kind is TokenKind.SERVICE_ACCOUNT:
        return _revoke_service_account_token(runtime, session, report, digest)
    return _revoke_personal_token(session, report, digest)


def revoke_leaked(runtime: Runtime, session: Session, reports: list[Report]) -> list[Verdict]:
    """Revoke each live reported token; one verdict per report, in order (module rules)."""
    verdicts: list[Verdict] = []
    for report in reports:
        revoked = _revoke(runtime, session, report)
        session.flush()
        verdicts.append(
            Verdict(
                hashlib.sha256(report.token.encode("utf-8", "surrogatepass")).hexdigest()[:12],
                "true_positive" if revoked else "false_positive",
            )
        )
    log.info(
        "token.leak_reported",
        reports=len(reports),
        revoked=sum(v.label == "true_positive" for v in verdicts),
    )
    return verdicts
