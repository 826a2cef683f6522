"""Managing trust policies: who may, what a policy must pin, what its removal revokes.

Rules: only whoever may manage the service account manages its policies (the
service-account gate: the feature on, `manage:Organization`, the SA in the
caller's organization (404), holding no more than the caller (403)); the rules of
`policies.py` on every write (create and edit alike); disabling, narrowing or
deleting a policy revokes the tokens it minted, on the next request of every process;
each change is audited (`trust_policy.created|updated|deleted`) in the same
transaction. Services never commit.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.kit.errors import NotFoundError
from lightkeeper.models import ServiceAccount, TrustPolicy
from lightkeeper.runtime import Runtime
from lightkeeper.service_account.service import check_access, reachable_account
from lightkeeper.workload_identity import policies, repository

log = structlog.get_logger()

POLICY_NOT_FOUND = "Trust policy not found"
# What a policy trusts: changing any of these revokes the tokens minted under the old terms.
TRUST_FIELDS = ("issuer", "audience", "subject", "claims")


def _target(policy: TrustPolicy, account: ServiceAccount) -> Target:
    return Target(
        TargetType.TRUST_POLICY, policy.uuid, f"{policy.provider} trust for {account.description}"
    )


def _snapshot(policy: TrustPolicy) -> dict[str, Any]:
    return {
        "serviceAccountUuid": policy.service_account_uuid,
        "provider": policy.provider,
        "issuer": policy.issuer,
        "audience": policy.audience,
        "subject": policy.subject,
        "claims": dict(policy.claims),
        "maxTokenLifetimeSeconds": policy.max_token_lifetime_seconds,
        "enabled": policy.enabled,
    }


def _account(runtime: Runtime, session: Session, principal: Principal, uuid: str) -> ServiceAccount:
    check_access(runtime.settings, principal)
    return reachable_account(runtime.settings, session, principal, uuid)


def list_policies(
    runtime: Runtime, session: Session, principal: Principal, service_account_uuid: str
) -> list[TrustPolicy]:
    """The trust policies of one SA, oldest first. Rules: the service-account gate."""
    account = _account(runtime, session, principal, service_account_uuid)
    return repository.policies_of(session, account.uuid)


def policies_by_account(
    runtime: Runtime, session: Session, principal: Principal
) -> dict[str, list[TrustPolicy]]:
    """Every trust policy of the caller's organization, by service account (for the settings page).

    Rules: the service-account gate (feature on, manage:Organization); one query.
    """
    check_access(runtime.settings, principal)
    grouped: dict[str, list[TrustPolicy]] = {}
    for policy in repository.policies_in_organization(session, principal.organization_uuid):
        grouped.setdefault(policy.service_account_uuid, []).append(policy)
    return grouped


def create_policy(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    service_account_uuid: str,
    *,
    preset: str | None,
    issuer: str | None,
    audience: str | None,
    subject: str | None,
    claims: dict[str, Any] | None,
    max_token_lifetime_seconds: int | None,
    enabled: bool,
) -> TrustPolicy:
    """Add a trust policy to an SA.

    Rules: the service-account gate; a preset fills the issuer; the policy
    rules of `policies.py` (exact https issuer, immutable owner ids, no
    wildcards, lifetime 60-3600, default 900); audience defaults to SITE_URL;
    audited as trust_policy.created.
    """
    account = _account(runtime, session, principal, service_account_uuid)
    if issuer is None and preset in policies.PRESETS:
        issuer = policies.PRESETS[preset].issuer
    allow_http = runtime.settings.oidc_allow_http_issuers
    checked_issuer = policies.check_issuer(issuer, allow_http=allow_http)
    provider = policies.provider_of(preset, checked_issuer)
    checked_claims = policies.check_claims(claims or {})
    checked_subject = policies.check_subject(subject)
    policies.require_immutable_owner(provider, checked_claims, checked_subject)
    policy = TrustPolicy(
        organization_uuid=account.organization_uuid,
        service_account_uuid=account.uuid,
        provider=provider,
        issuer=checked_issuer,
        audience=policies.check_audience(
            audience
            if audience is not None
            else policies.default_audience(runtime.settings.site_url)
        ),
        subject=checked_subject,
        claims=checked_claims,
        max_token_lifetime_seconds=policies.check_lifetime(max_token_lifetime_seconds),
        enabled=enabled,
        created_by_user_uuid=principal.user_uuid,
    )
    session.add(policy)
    session.flush()
    record(
        session,
        organization_uuid=account.organization_uuid,
        actor=principal,
        action=AuditAction.TRUST_POLICY_CREATED,
        target=_target(policy, account),
        details=_snapshot(policy),
    )
    log.info("trust_policy.created", uuid=policy.uuid, service_account_uuid=account.uuid)
    return policy


def get_policy(
    runtime: Runtime, session: Session, principal: Principal, service_account_uuid: str, uuid: str
) -> TrustPolicy:
    """One policy of an SA. Rules: the service-account gate; another SA's policy is 404."""
    account = _account(runtime, session, principal, service_account_uuid)
    policy = repository.policy_of(session, account.uuid, uuid)
    if policy is None:
        raise NotFoundError(POLICY_NOT_FOUND)
    return policy


def update_policy(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    service_account_uuid: str,
    uuid: str,
    fields: dict[str, Any],
) -> TrustPolicy:
    """Change the given fields of a policy (`fields`: snake_case names of what the client sent).

    Rules: the service-account gate; the result obeys every rule a new policy
    does (the provider follows the issuer); disabling it, changing what it
    trusts (issuer, audience, subject, claims) or lowering its lifetime revokes
    the tokens it minted, which were granted on the old terms; audited with
    before and after.
    """
    account = _account(runtime, session, principal, service_account_uuid)
    policy = repository.policy_of(session, account.uuid, uuid)
    if policy is None:
        raise NotFoundError(POLICY_NOT_FOUND)
    before = _snapshot(policy)
    issuer = policies.check_issuer(
        fields.get("issuer", policy.issuer), allow_http=runtime.settings.oidc_allow_http_issuers
    )
    claims = policies.check_claims(
        fields["claims"] if fields.get("claims") is not None else dict(policy.claims)
    )
    subject = policies.check_subject(fields.get("subject", policy.subject))
    provider = policies.provider_of(policy.provider, issuer)
    policies.require_immutable_owner(provider, claims, subject)
    policy.issuer, policy.provider, policy.claims, policy.subject = (
        issuer,
        provider,
        claims,
        subject,
    )
    if fields.get("audience") is not None:
        policy.audience = policies.check_audience(fields["audience"])
    if fields.get("max_token_lifetime_seconds") is not None:
        policy.max_token_lifetime_seconds = policies.check_lifetime(
            fields["max_token_lifetime_seconds"]
        )
    if fields.get("enabled") is not None:
        policy.enabled = bool(fields["enabled"])
    after = _snapshot(policy)
    terms_changed = any(before[k] != after[k] for k in TRUST_FIELDS) or (
        after["maxTokenLifetimeSeconds"] < before["maxTokenLifetimeSeconds"]
    )
    if not policy.enabled or terms_changed:
        repository.revoke_minted_tokens(session, policy.uuid)
    session.flush()
    record(
        session,
        organization_uuid=account.organization_uuid,
        actor=principal,
        action=AuditAction.TRUST_POLICY_UPDATED,
        target=_target(policy, account),
        details=changes(before, after),
    )
    return policy


def delete_policy(
    runtime: Runtime, session: Session, principal: Principal, service_account_uuid: str, uuid: str
) -> None:
    """Remove a policy. Rules: the service-account gate; the tokens it minted stop working on the
    next request of every process; audited with what it trusted."""
    account = _account(runtime, session, principal, service_account_uuid)
    policy = repository.policy_of(session, account.uuid, uuid)
    if policy is None:
        raise NotFoundError(POLICY_NOT_FOUND)
    target, before = _target(policy, account), _snapshot(policy)
    repository.revoke_minted_tokens(session, policy.uuid)
    session.delete(policy)
    session.flush()
    record(
        session,
        organization_uuid=account.organization_uuid,
        actor=principal,
        action=AuditAction.TRUST_POLICY_DELETED,
        target=target,
        details={"before": before},
    )
    log.info("trust_policy.deleted", uuid=target.uuid, service_account_uuid=account.uuid)
