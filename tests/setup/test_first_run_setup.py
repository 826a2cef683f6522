"""First-run setup from LD_SETUP_* (setup-and-config.md § First-run setup)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
import structlog.testing
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock, utcnow
from lightkeeper.kit.tokens import TokenKind, generate
from lightkeeper.models import (
    AuditEvent,
    Organization,
    PersonalAccessToken,
    Project,
    ServiceAccount,
    User,
)
from lightkeeper.runtime import Runtime
from lightkeeper.setup import service as setup
from lightkeeper.setup.service import run_setup
from lightkeeper.setup.steps import SetupAction, SetupContext, SetupError, SetupStep
from tests.support import auth, make_org

API_KEY = generate(TokenKind.PERSONAL)
PASSWORD = "a sturdy setup password"
FULL = {
    "LD_SETUP_ORGANIZATION_NAME": "Acme Analytics",
    "LD_SETUP_ADMIN_EMAIL": "Ops@Acme.example",
    "LD_SETUP_ADMIN_NAME": "Grace Brewster Hopper",
    "LD_SETUP_ADMIN_PASSWORD": PASSWORD,
    "LD_SETUP_ORGANIZATION_DEFAULT_ROLE": "editor",
    "LD_SETUP_ADMIN_API_KEY": API_KEY,
    "LD_SETUP_API_KEY_EXPIRATION": "7",
    "LD_SETUP_PROJECT_NAME": "Jaffle Shop",
}
COUNTED = (Organization, User, PersonalAccessToken, Project, AuditEvent)


def counts(runtime: Runtime) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        return {
            m.__name__: session.scalar(select(func.count()).select_from(m)) or 0 for m in COUNTED
        }


def one(runtime: Runtime, model: type[Any]) -> Any:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(model)).one()


def test_initializes_an_empty_instance_once(client: TestClient, runtime: Runtime) -> None:
    clock.freeze()
    assert run_setup(runtime, FULL) is True
    after_first = counts(runtime)
    assert after_first == {
        "Organization": 1,
        "User": 1,
        "PersonalAccessToken": 1,
        "Project": 1,
        "AuditEvent": 4,
    }

    organization = one(runtime, Organization)
    assert organization.name == "Acme Analytics"
    assert organization.default_role == "editor"
    admin = one(runtime, User)
    assert (admin.email, admin.role) == ("ops@acme.example", "admin")
    assert (admin.first_name, admin.last_name) == ("Grace", "Brewster Hopper")
    assert runtime.passwords.verify(admin.password_hash, PASSWORD)
    assert not runtime.passwords.verify(admin.password_hash, "wrong password")

    pat = one(runtime, PersonalAccessToken)
    assert pat.user_uuid == admin.uuid
    assert pat.expires_at == utcnow() + timedelta(days=7)
    assert API_KEY not in (pat.token_hash, pat.token_hint)  # only the hash is stored
    project = one(runtime, Project)
    assert (project.name, project.type, project.created_by_user_uuid) == (
        "Jaffle Shop",
        "DEFAULT",
        admin.uuid,
    )

    with transaction(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "organization.created",
            "user.created",
            "personal_access_token.created",
            "project.created",
        ]
        assert {(e.actor_type, e.actor_uuid, e.actor_label) for e in events} == {
            ("system", None, "LD_SETUP")
        }
        assert all(e.organization_uuid == organization.uuid for e in events)
        assert all(API_KEY not in str(e.details) for e in events)

    # The API key authenticates as the admin.
    health = client.get("/api/v1/health", headers=auth(API_KEY)).json()["results"]
    assert health["isAuthenticated"] is True
    assert health["requiresOrgRegistration"] is False

    # A restart (same or different values) never duplicates anything.
    assert run_setup(runtime, FULL) is False
    assert (
        run_setup(
            runtime,
            {
                **FULL,
                "LD_SETUP_ORGANIZATION_NAME": "Other",
                "LD_SETUP_ADMIN_EMAIL": "x@y.z",
                "LD_SETUP_ADMIN_API_KEY": generate(TokenKind.PERSONAL),
            },
        )
        is False
    )
    assert counts(runtime) == after_first


def test_minimal_setup_uses_the_defaults(runtime: Runtime) -> None:
    clock.freeze()
    assert (
        run_setup(
            runtime,
            {"LD_SETUP_ADMIN_EMAIL": "admin@acme.example", "LD_SETUP_ORGANIZATION_NAME": "Acme"},
        )
        is True
    )
    assert counts(runtime) == {
        "Organization": 1,
        "User": 1,
        "PersonalAccessToken": 0,
        "Project": 0,
        "AuditEvent": 2,
    }
    assert one(runtime, Organization).default_role == "viewer"
    admin = one(runtime, User)
    assert (admin.first_name, admin.last_name, admin.role) == ("Admin", "User", "admin")
    assert admin.password_hash is None  # no password until one is set with the CLI


def test_api_key_expiration_default_and_never(runtime: Runtime) -> None:
    clock.freeze()
    base = {
        "LD_SETUP_ADMIN_EMAIL": "admin@acme.example",
        "LD_SETUP_ORGANIZATION_NAME": "Acme",
        "LD_SETUP_ADMIN_API_KEY": API_KEY,
    }
    run_setup(runtime, base)
    assert one(runtime, PersonalAccessToken).expires_at == utcnow() + timedelta(days=30)


def test_api_key_that_never_expires(runtime: Runtime, client: TestClient) -> None:
    legacy = "ldpat_" + "a1B2-c3D4_" * 4  # Lightdash's shape: 40 characters of [A-Za-z0-9_-]
    run_setup(
        runtime,
        {
            "LD_SETUP_ADMIN_EMAIL": "admin@acme.example",
            "LD_SETUP_ORGANIZATION_NAME": "Acme",
            "LD_SETUP_ADMIN_API_KEY": legacy,
            "LD_SETUP_API_KEY_EXPIRATION": "0",
        },
    )
    assert one(runtime, PersonalAccessToken).expires_at is None
    assert (
        client.get("/api/v1/health", headers=auth(legacy)).json()["results"]["isAuthenticated"]
        is True
    )


def test_nothing_happens_without_an_admin_email(runtime: Runtime) -> None:
    assert run_setup(runtime, {}) is False
    assert (
        run_setup(runtime, {k: v for k, v in FULL.items() if k != "LD_SETUP_ADMIN_EMAIL"}) is False
    )
    assert run_setup(runtime, {**FULL, "LD_SETUP_ADMIN_EMAIL": "  "}) is False
    assert counts(runtime) == dict.fromkeys(
        ["Organization", "User", "PersonalAccessToken", "Project", "AuditEvent"], 0
    )


def _bad(token: str) -> str:
    """Our exact shape with one checksum character changed."""
    last = token[-1]
    return token[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize(
    ("variable", "bad_value", "message"),
    [
        (
            "LD_SETUP_API_KEY_EXPIRATION",
            "abc",
            "LD_SETUP_API_KEY_EXPIRATION must be a valid number",
        ),
        (
            "LD_SETUP_API_KEY_EXPIRATION",
            "30d",
            "LD_SETUP_API_KEY_EXPIRATION must be a valid number",
        ),
        ("LD_SETUP_API_KEY_EXPIRATION", "-1", "LD_SETUP_API_KEY_EXPIRATION must be a valid number"),
        ("LD_SETUP_API_KEY_EXPIRATION", "99999999", "LD_SETUP_API_KEY_EXPIRATION must be at most"),
        ("LD_SETUP_ADMIN_API_KEY", "a" * 40, "LD_SETUP_ADMIN_API_KEY must start with ldpat_"),
        pytest.param(
            "LD_SETUP_ADMIN_API_KEY",
            generate(TokenKind.SERVICE_ACCOUNT),
            "LD_SETUP_ADMIN_API_KEY must start with ldpat_",
            id="service-account-token",  # a random value in the id differs per xdist worker
        ),
        (
            "LD_SETUP_ADMIN_API_KEY",
            "ldpat_tooshort",
            "LD_SETUP_ADMIN_API_KEY must be ldpat_ followed by 32 to 128",
        ),
        (
            "LD_SETUP_ADMIN_API_KEY",
            "ldpat_" + "x" * 129,
            "LD_SETUP_ADMIN_API_KEY must be ldpat_ followed by 32 to 128",
        ),
        (
            "LD_SETUP_ADMIN_API_KEY",
            "ldpat_" + "x" * 31 + "!",
            "LD_SETUP_ADMIN_API_KEY must be ldpat_ followed by 32 to 128",
        ),
        pytest.param(
            "LD_SETUP_ADMIN_API_KEY",
            _bad(API_KEY),
            "LD_SETUP_ADMIN_API_KEY looks like a Lightkeeper token but its checksum is wrong",
            id="wrong-checksum",
        ),
        (
            "LD_SETUP_ORGANIZATION_DEFAULT_ROLE",
            "superuser",
            "LD_SETUP_ORGANIZATION_DEFAULT_ROLE must be one of",
        ),
        ("LD_SETUP_ADMIN_PASSWORD", "short", "LD_SETUP_ADMIN_PASSWORD"),
        (
            "LD_SETUP_ADMIN_EMAIL",
            "not-an-email",
            "LD_SETUP_ADMIN_EMAIL must be a valid email address",
        ),
        (
            "LD_SETUP_ORGANIZATION_NAME",
            "",
            "LD_SETUP_ORGANIZATION_NAME is required when LD_SETUP_ADMIN_EMAIL is set",
        ),
        ("LD_SETUP_PROJECT_NAME", "p" * 256, "LD_SETUP_PROJECT_NAME must be at most 255"),
    ],
)
def test_a_bad_value_stops_setup_naming_the_variable(
    runtime: Runtime, variable: str, bad_value: str, message: str
) -> None:
    with pytest.raises(SetupError) as raised:
        run_setup(runtime, {**FULL, variable: bad_value})
    assert str(raised.value).startswith(message)
    assert variable in str(raised.value)
    if variable == "LD_SETUP_ADMIN_API_KEY":
        assert bad_value not in str(raised.value)  # a token is never echoed
        assert "lightkeeper tokens new ldpat" in str(raised.value)
    assert counts(runtime)["Organization"] == 0


def test_bad_values_stop_the_server_even_once_set_up(runtime: Runtime) -> None:
    """A typo must not lie dormant until the next fresh install."""
    make_org(runtime, "Existing")
    with pytest.raises(SetupError, match="LD_SETUP_API_KEY_EXPIRATION must be a valid number"):
        run_setup(runtime, {**FULL, "LD_SETUP_API_KEY_EXPIRATION": "abc"})
    # ...and without the email too: every set variable is checked.
    with pytest.raises(SetupError, match="LD_SETUP_API_KEY_EXPIRATION"):
        run_setup(runtime, {"LD_SETUP_API_KEY_EXPIRATION": "soon"})


def test_the_pat_maximum_expiration_applies(make_runtime: Callable[..., Runtime]) -> None:
    capped = make_runtime(PAT_MAX_EXPIRATION_TIME_IN_DAYS=10)
    with pytest.raises(
        SetupError, match="LD_SETUP_API_KEY_EXPIRATION must be between 1 and 10 days"
    ):
        run_setup(capped, {**FULL, "LD_SETUP_API_KEY_EXPIRATION": "0"})
    with pytest.raises(SetupError, match="LD_SETUP_API_KEY_EXPIRATION"):
        run_setup(capped, {**FULL, "LD_SETUP_API_KEY_EXPIRATION": "11"})
    clock.freeze()
    without_expiration = {k: v for k, v in FULL.items() if k != "LD_SETUP_API_KEY_EXPIRATION"}
    assert run_setup(capped, without_expiration) is True  # the default 30 shortens to the maximum
    assert one(capped, PersonalAccessToken).expires_at == utcnow() + timedelta(days=10)


def test_a_failing_step_leaves_nothing_half_created(runtime: Runtime) -> None:
    def explode(_runtime: Runtime, _env: Mapping[str, str]) -> SetupAction:
        def action(ctx: SetupContext) -> None:
            raise RuntimeError("disk on fire")

        return action

    steps = (*setup.SETUP_STEPS, SetupStep("explode", (), explode))
    with pytest.raises(RuntimeError):
        run_setup(runtime, FULL, steps=steps)
    assert counts(runtime) == dict.fromkeys(
        ["Organization", "User", "PersonalAccessToken", "Project", "AuditEvent"], 0
    )
    assert run_setup(runtime, FULL) is True  # the next start succeeds from scratch


def test_plugged_in_steps_run_after_the_admin_exists(runtime: Runtime) -> None:
    seen: list[tuple[str, str]] = []

    def prepare(_runtime: Runtime, env: Mapping[str, str]) -> SetupAction | None:
        if "LD_SETUP_EXTRA" not in env:
            return None
        return lambda ctx: seen.append((ctx.organization.name, ctx.admin.email or ""))

    step = SetupStep("extra", ("LD_SETUP_EXTRA",), prepare)
    run_setup(runtime, {**FULL, "LD_SETUP_EXTRA": "1"}, steps=(step,))
    assert seen == [("Acme Analytics", "ops@acme.example")]


def test_reads_the_environment_and_a_dotenv_file(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "LD_SETUP_ADMIN_EMAIL=dotenv@acme.example\nLD_SETUP_ORGANIZATION_NAME=From Dotenv\n"
        "LD_SETUP_PROJECT_NAME=From Dotenv\n"
    )
    monkeypatch.setenv("LD_SETUP_ORGANIZATION_NAME", "From Environment")  # the environment wins
    monkeypatch.delenv("LD_SETUP_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("LD_SETUP_PROJECT_NAME", raising=False)
    assert run_setup(runtime) is True
    assert one(runtime, Organization).name == "From Environment"
    assert one(runtime, User).email == "dotenv@acme.example"
    assert one(runtime, Project).name == "From Dotenv"


def test_logs_completion_without_the_token(runtime: Runtime) -> None:
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            run_setup(runtime, FULL)
            run_setup(runtime, FULL)
    finally:
        structlog.configure(**saved)
    assert [e["event"] for e in logs] == ["setup.completed", "setup.skipped"]
    assert logs[0]["steps"] == ["admin_api_key", "project"]
    assert API_KEY not in str(logs) and PASSWORD not in str(logs)


def test_unknown_setup_variables_are_reported(runtime: Runtime) -> None:
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            run_setup(runtime, {**FULL, "LD_SETUP_ADMIN_EMIAL": "typo@acme.example"})
    finally:
        structlog.configure(**saved)
    warning = next(e for e in logs if e["event"] == "setup.unknown_variables")
    assert warning["variables"] == ["LD_SETUP_ADMIN_EMIAL"]


def test_the_setup_service_account_is_created_with_everything_else(
    client: TestClient, runtime: Runtime
) -> None:
    sa_token = generate(TokenKind.SERVICE_ACCOUNT)
    assert run_setup(runtime, {**FULL, "LD_SETUP_SERVICE_ACCOUNT_TOKEN": sa_token}) is True
    with transaction(runtime.sessions) as session:
        account = session.scalars(select(ServiceAccount)).one()
        admin = session.scalars(select(User).where(User.email == "ops@acme.example")).one()
        assert account.description == "Initial setup service account"
        assert account.created_by_user_uuid == admin.uuid
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert "service_account.created" in actions
    assert client.get("/api/v1/health", headers=auth(sa_token)).json()["results"]["isAuthenticated"]
    with pytest.raises(
        SetupError, match="LD_SETUP_SERVICE_ACCOUNT_EXPIRATION must be a valid number"
    ):
        run_setup(runtime, {**FULL, "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION": "abc"})
