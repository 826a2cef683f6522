"""LD_SETUP_SERVICE_ACCOUNT_TOKEN / _EXPIRATION, through this package's setup functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import structlog.testing
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock
from lightkeeper.kit.tokens import TokenKind, generate
from lightkeeper.models import AuditEvent, Organization, ServiceAccount, User
from lightkeeper.runtime import Runtime
from lightkeeper.setup.service_account import (
    prepare_service_account,
    setup_service_account,
    validate_service_account_setup,
)
from lightkeeper.setup.steps import SetupError
from tests.service_account.helpers import URL, bearer
from tests.support import Org, authenticated, make_org

TOKEN_VAR = "LD_SETUP_SERVICE_ACCOUNT_TOKEN"
EXPIRY_VAR = "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION"
T0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
LIGHTDASH_STYLE = "ldsvc_" + "0123456789abcdef" * 2  # Lightdash's own: 32 hex


def _run(runtime: Runtime, org: Org, environ: dict[str, str]) -> None:
    with transaction(runtime.sessions) as session:
        organization = session.get(Organization, org.uuid)
        admin = session.get(User, org.people["admin"].uuid)
        assert organization is not None and admin is not None
        setup_service_account(runtime, session, organization, admin, environ)


def _accounts(runtime: Runtime) -> list[ServiceAccount]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(ServiceAccount)))


@pytest.mark.parametrize(
    "token",
    [
        # A random value in the id would differ per xdist worker.
        pytest.param(generate(TokenKind.SERVICE_ACCOUNT), id="generated"),
        LIGHTDASH_STYLE,
        "ldsvc_" + "A-b_" * 32,
    ],
)
def test_setup_account_is_an_org_admin_created_by_the_admin(
    client: TestClient, runtime: Runtime, token: str
) -> None:
    clock.freeze(T0)
    org = make_org(runtime, "Acme")
    _run(runtime, org, {TOKEN_VAR: f"  {token} "})
    [account] = _accounts(runtime)
    assert account.description == "Initial setup service account"
    assert account.scopes == ["org:admin"] and account.role_uuid is None
    assert account.created_by_user_uuid == org.people["admin"].uuid
    assert account.expires_at == T0 + timedelta(days=30)  # the default
    assert account.token_hash != token and token not in account.token_hash
    assert account.token_hint == "ldsvc_\u2026" + token[-4:]
    with transaction(runtime.sessions) as session:
        user = session.get(User, account.user_uuid)
        assert user is not None and user.is_service_account and user.role == "admin"
        assert user.first_name == "Initial setup service account" and user.email is None
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "service_account.created")
        )
        assert (
            event is not None and event.actor_type == "system" and event.actor_label == "LD_SETUP"
        )
        assert token not in str(event.details)
    # It lets automation manage service accounts through the API.
    listed = client.get(URL, headers=bearer(token))
    assert listed.status_code == 200
    [wire] = listed.json()["results"]
    assert wire["createdBy"]["userUuid"] == org.people["admin"].uuid
    made = client.post(
        URL, json={"description": "narrow", "scopes": ["system:viewer"]}, headers=bearer(token)
    )
    assert made.status_code == 201
    assert made.json()["results"]["createdByUserUuid"] == account.user_uuid


@pytest.mark.parametrize(
    ("value", "expected"), [("0", None), ("7", timedelta(days=7)), ("", timedelta(days=30))]
)
def test_expiration_days(runtime: Runtime, value: str, expected: timedelta | None) -> None:
    clock.freeze(T0)
    org = make_org(runtime, "Acme")
    _run(runtime, org, {TOKEN_VAR: generate(TokenKind.SERVICE_ACCOUNT), EXPIRY_VAR: value})
    [account] = _accounts(runtime)
    assert account.expires_at == (None if expected is None else T0 + expected)


def test_nothing_without_a_token(runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    _run(runtime, org, {EXPIRY_VAR: "10"})
    _run(runtime, org, {TOKEN_VAR: "  "})
    assert _accounts(runtime) == []
    assert validate_service_account_setup({}) is None


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({TOKEN_VAR: "ldsvc_" + "a" * 31}, "too weak"),
        ({TOKEN_VAR: "ldsvc_short"}, "too weak"),
        ({TOKEN_VAR: "0123456789abcdef0123456789abcdef"}, "must start with ldsvc_"),
        ({TOKEN_VAR: "ldpat_" + "a" * 40}, "must start with ldsvc_"),
        ({TOKEN_VAR: "ldsvc_" + "a" * 129}, "32 to 128 characters"),
        ({TOKEN_VAR: "ldsvc_" + "a" * 31 + "!"}, "32 to 128 characters"),
        (
            {TOKEN_VAR: generate(TokenKind.SERVICE_ACCOUNT), EXPIRY_VAR: "abc"},
            "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION must be a valid number",
        ),
        ({EXPIRY_VAR: "thirty"}, "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION must be a valid number"),
        ({EXPIRY_VAR: "-1"}, "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION must be a valid number"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    runtime: Runtime, environ: dict[str, str], needle: str
) -> None:
    org = make_org(runtime, "Acme")
    with pytest.raises(SetupError) as raised:
        validate_service_account_setup(environ)
    message = str(raised.value)
    assert needle in message
    assert message.startswith("LD_SETUP_SERVICE_ACCOUNT_")
    if TOKEN_VAR in environ:
        assert environ[TOKEN_VAR] not in message
    with pytest.raises(SetupError):
        _run(runtime, org, environ)  # validated before acting
    assert _accounts(runtime) == []


def test_our_shape_with_a_wrong_checksum_says_how_to_generate_one(runtime: Runtime) -> None:
    token = generate(TokenKind.SERVICE_ACCOUNT)
    typo = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(SetupError) as raised:
        validate_service_account_setup({TOKEN_VAR: typo})
    message = str(raised.value)
    assert message.startswith(TOKEN_VAR) and "checksum" in message
    assert "lightkeeper tokens new ldsvc" in message
    assert typo not in message


def test_created_while_the_feature_is_off_and_works_once_on(
    make_runtime: Callable[..., Runtime], make_client: Callable[..., TestClient]
) -> None:
    off = make_runtime(SERVICE_ACCOUNT_ENABLED=False)
    org = make_org(off, "Acme")
    token = generate(TokenKind.SERVICE_ACCOUNT)
    with structlog.testing.capture_logs() as logs:
        _run(off, org, {TOKEN_VAR: token})
    assert len(_accounts(off)) == 1
    warning = next(e for e in logs if e["event"] == "setup.service_account_inactive")
    assert "SERVICE_ACCOUNT_ENABLED=true" in warning["message"] and "license" in warning["message"]
    assert token not in repr(logs)
    assert not authenticated(make_client(off), bearer(token))
    assert authenticated(make_client(), bearer(token))


def test_prepare_step_validates_up_front_and_creates_later(runtime: Runtime) -> None:
    from lightkeeper.setup.steps import SETUP_ACTOR, SetupContext

    with pytest.raises(SetupError):
        prepare_service_account(runtime, {TOKEN_VAR: "ldsvc_weak"})
    assert prepare_service_account(runtime, {}) is None
    token = generate(TokenKind.SERVICE_ACCOUNT)
    action = prepare_service_account(runtime, {TOKEN_VAR: token, EXPIRY_VAR: "0"})
    assert action is not None
    org = make_org(runtime, "Acme")
    with transaction(runtime.sessions) as session:
        organization = session.get(Organization, org.uuid)
        admin = session.get(User, org.people["admin"].uuid)
        assert organization is not None and admin is not None
        action(SetupContext(runtime, session, organization, admin, T0, SETUP_ACTOR))
    [account] = _accounts(runtime)
    assert account.expires_at is None and account.created_by_user_uuid == org.people["admin"].uuid
