"""The setup service account: LD_SETUP_SERVICE_ACCOUNT_TOKEN / LD_SETUP_SERVICE_ACCOUNT_EXPIRATION.

Plugged into first-run setup (`lightkeeper.setup.service`), which validates
every LD_SETUP_* variable before acting. Two ways in:
- `setup_service_account(runtime, session, organization, admin_user, environ)`
  creates the account in the caller's transaction;
- `prepare_service_account(runtime, env)` has the shape of a setup step's
  `prepare`: `SetupStep("service_account", VARIABLES, prepare_service_account)`.

The variables are read with setup's own helpers (`check_setup_token`,
`parse_expiration_days`, setup/steps.py) so every LD_SETUP_* token and
expiration obeys the same rules and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.service import Actor
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.tokens import TokenKind
from lightkeeper.models import Organization, User
from lightkeeper.runtime import Runtime
from lightkeeper.service_account.service import record_system_creation, store_service_account
from lightkeeper.setup.steps import (
    SETUP_ACTOR,
    SetupAction,
    SetupContext,
    check_setup_token,
    parse_expiration_days,
)

log = structlog.get_logger()

TOKEN_VARIABLE = "LD_SETUP_SERVICE_ACCOUNT_TOKEN"  # noqa: S105 - a variable name
EXPIRATION_VARIABLE = "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION"
VARIABLES = (TOKEN_VARIABLE, EXPIRATION_VARIABLE)
DESCRIPTION = "Initial setup service account"
SCOPES = ("org:admin",)
INACTIVE_MESSAGE = (
    "The setup service account was created; it will work once SERVICE_ACCOUNT_ENABLED=true "
    "and a license key (LIGHTDASH_LICENSE_KEY) are set"
)


@dataclass(frozen=True)
class SetupServiceAccount:
    """The validated request; `expiration_days` None means the token never expires."""

    token: str
    expiration_days: int | None

    def __repr__(self) -> str:  # never print the token
        return f"SetupServiceAccount(token=<hidden>, expiration_days={self.expiration_days})"

    def expires_at(self, now: datetime) -> datetime | None:
        return None if self.expiration_days is None else now + timedelta(days=self.expiration_days)


def validate_service_account_setup(environ: Mapping[str, str]) -> SetupServiceAccount | None:
    """Check the setup SA variables without touching anything; None when no token is set.

    Rules: the token is `ldsvc_` + 32..128 of [A-Za-z0-9_-] (shorter is refused
    as too weak; our exact shape with a wrong checksum is refused; the message
    says to generate one with `lightkeeper tokens new ldsvc`); the expiration
    is whole days, 0 = never, default 30, and is checked even without a token
    (non-numeric: "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION must be a valid
    number"); blank counts as unset; errors (SetupError) name the variable and
    never the token.
    """
    days = parse_expiration_days(environ, EXPIRATION_VARIABLE)
    token = check_setup_token(environ, TOKEN_VARIABLE, TokenKind.SERVICE_ACCOUNT)
    if token is None:
        return None
    return SetupServiceAccount(token=token, expiration_days=days)


def create_setup_service_account(
    runtime: Runtime,
    session: Session,
    organization: Organization,
    admin_user: User,
    wanted: SetupServiceAccount,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> None:
    """Create the validated setup SA in the caller's transaction.

    Rules: description "Initial setup service account", legacy scope org:admin
    (principal role admin), creator the setup admin, expiry now + days (or
    never); only the token's keyed hash is stored; created even when the
    feature is off, with a warning saying when it will work; audited as
    service_account.created by `actor`; the token is never logged.
    """
    account, user, _raw = store_service_account(
        runtime,
        session,
        organization_uuid=organization.uuid,
        description=DESCRIPTION,
        expires_at=wanted.expires_at(now or utcnow()),
        created_by_user_uuid=admin_user.uuid,
        raw_token=wanted.token,
    )
    account.scopes = list(SCOPES)
    user.role = "admin"  # what org:admin gives; the legacy scope is re-read at authentication
    session.flush()
    record_system_creation(session, account, actor)
    log.info(
        "setup.service_account_created",
        uuid=account.uuid,
        organization_uuid=organization.uuid,
        expires_at=account.expires_at.isoformat() if account.expires_at else None,
    )
    if not runtime.settings.is_service_account_enabled:
        log.warning("setup.service_account_inactive", uuid=account.uuid, message=INACTIVE_MESSAGE)


def setup_service_account(
    runtime: Runtime,
    session: Session,
    organization: Organization,
    admin_user: User,
    environ: Mapping[str, str],
) -> None:
    """Create the setup SA from LD_SETUP_SERVICE_ACCOUNT_* in the caller's transaction.

    Rules: validates first (`validate_service_account_setup`, SetupError naming
    the variable); does nothing without a token; then as
    `create_setup_service_account`, audited with setup's actor (LD_SETUP).
    """
    wanted = validate_service_account_setup(environ)
    if wanted is None:
        return
    create_setup_service_account(
        runtime, session, organization, admin_user, wanted, actor=SETUP_ACTOR
    )


def prepare_service_account(runtime: Runtime, env: Mapping[str, str]) -> SetupAction | None:
    """A setup step's `prepare`: validate now, create inside the setup transaction later.

    Rules: as `validate_service_account_setup`; the action creates the SA with
    the setup context's admin as creator, its actor in the audit and its `now`.
    """
    wanted = validate_service_account_setup(env)
    if wanted is None:
        return None

    def create(ctx: SetupContext) -> None:
        create_setup_service_account(
            ctx.runtime,
            ctx.session,
            ctx.organization,
            ctx.admin,
            wanted,
            actor=ctx.actor,
            now=ctx.now,
        )

    return create
