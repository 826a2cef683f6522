"""The server-admin command line (cli.md § Server administration), run as a real subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from lightkeeper import migrate
from lightkeeper.db import make_engine, transaction
from lightkeeper.identity import sessions
from lightkeeper.kit.tokens import TokenKind, check_shape, checksum, generate
from lightkeeper.models import AuditEvent, Organization, User, UserSession
from lightkeeper.runtime import Runtime
from tests.servers import running_server, server_env
from tests.support import count_rows

CLI = (sys.executable, "-m", "lightkeeper")
HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
# Variables of the developer's shell that must not leak into the command under test.
_SCRUB = (
    "DATABASE_URL",
    "PGCONNECTIONURI",
    "PGHOST",
    "LIGHTDASH_SECRET",
    "LIGHTKEEPER_ENV",
    "NODE_ENV",
    "PORT",
    "HOST",
    "LIGHTKEEPER_DATA_DIR",
)

Run = Callable[..., subprocess.CompletedProcess[str]]


def base_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_SETUP_") and k not in _SCRUB}
    env.update(
        DATABASE_URL=database_url,
        LIGHTKEEPER_DATA_DIR=str(tmp_path / "data"),
        LIGHTKEEPER_CHEAP_PASSWORD_HASH="true",
        LOG_LEVEL="warning",
    )
    return env


def make_run(tmp_path: Path, env: dict[str, str]) -> Run:
    def run(
        *args: str,
        stdin: str | None = None,
        extra: dict[str, str] | None = None,
        new_session: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            input=stdin if stdin is not None else "",
            env={**env, **(extra or {})},
            cwd=tmp_path,  # no stray .env file
            capture_output=True,
            text=True,
            timeout=60,
            # Without a controlling terminal getpass reads stdin instead of /dev/tty.
            start_new_session=new_session,
        )

    return run


@pytest.fixture
def sqlite_run(tmp_path: Path) -> Run:
    """The CLI against a fresh, empty SQLite file."""
    return make_run(tmp_path, base_env(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}"))


@pytest.fixture
def db_run(tmp_path: Path, database_url: str, engine: Any) -> Run:
    """The CLI against the suite's migrated test database (SQLite and PostgreSQL); emptied after."""
    return make_run(tmp_path, base_env(tmp_path, database_url))


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


# -- tokens ----------------------------------------------------------------------


def test_tokens_new_prints_a_token_of_our_format(sqlite_run: Run) -> None:
    token = ok(sqlite_run("tokens", "new", "ldsvc")).strip()
    assert re.fullmatch(r"ldsvc_[0-9A-Za-z]{38}", token), token
    check_shape(token, TokenKind.SERVICE_ACCOUNT)  # the checksum verifies
    body, given = token[6:38], token[38:]
    assert checksum(body) == given
    assert "ldsvc or ldpat" in failed(sqlite_run("tokens", "new", "ldxyz"), code=2)


# -- db --------------------------------------------------------------------------


def test_db_upgrade_current_downgrade_on_a_fresh_database(sqlite_run: Run) -> None:
    assert ok(sqlite_run("db", "current")).strip() == "empty (no migrations applied)"
    assert ok(sqlite_run("db", "upgrade")).strip() == f"Database at revision {HEAD}"
    assert ok(sqlite_run("db", "current")).strip() == HEAD
    assert ok(sqlite_run("db", "downgrade", "base")).strip() == "Database at revision base"


def test_db_commands_on_both_databases(db_run: Run) -> None:
    assert ok(db_run("db", "current")).strip() == HEAD
    assert ok(db_run("db", "upgrade")).strip() == f"Database at revision {HEAD}"  # idempotent


def test_db_errors_are_one_line_not_a_trace(sqlite_run: Run) -> None:
    assert "DATABASE_URL" in failed(sqlite_run("db", "current", extra={"DATABASE_URL": "nonsense"}))
    assert "lightkeeper db upgrade" in failed(
        sqlite_run("users", "set-password", "--email", "a@b.c")
    )


# -- users -----------------------------------------------------------------------


def create_user(
    run: Run, email: str, role: str, password: str, *more: str
) -> subprocess.CompletedProcess[str]:
    args = ("users", "create", "--email", email, "--org", "Acme", "--role", role, *more)
    return run(*args, "--password-stdin", stdin=password + "\n")


def test_users_create_and_set_password(db_run: Run, runtime: Runtime) -> None:
    refused = failed(create_user(db_run, "vi@acme.example", "viewer", "long enough pw"))
    assert "first user must be an admin" in refused and "--role admin" in refused
    assert count_rows(runtime, Organization) == 0

    names = ("--first-name", "Ada", "--last-name", "Lovelace")
    created = ok(create_user(db_run, "Ada@Acme.example", "admin", "first password 1", *names))
    assert created.startswith("Created ada@acme.example (admin) in Acme: ")
    with transaction(runtime.sessions) as session:
        ada = session.scalars(select(User).where(User.email == "ada@acme.example")).one()
        organization = session.get(Organization, ada.organization_uuid)
        assert organization is not None and organization.name == "Acme"
        assert (ada.role, ada.first_name, ada.last_name) == ("admin", "Ada", "Lovelace")
        assert runtime.passwords.verify(ada.password_hash, "first password 1")
        sessions.start_session(runtime, session, ada)

    ok(create_user(db_run, "vi@acme.example", "viewer", "viewer password"))
    assert count_rows(runtime, Organization) == 1 and count_rows(runtime, User) == 2
    with transaction(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        assert [(e.action, e.actor_label, e.details) for e in events] == [
            (
                "organization.created",
                "lightkeeper CLI",
                {"name": "Acme", "defaultRole": "viewer", "via": "cli"},
            ),
            (
                "user.created",
                "lightkeeper CLI",
                {"role": "admin", "via": "cli", "hasPassword": True},
            ),
            (
                "user.created",
                "lightkeeper CLI",
                {"role": "viewer", "via": "cli", "hasPassword": True},
            ),
        ]
    assert "already exists" in failed(create_user(db_run, "vi@acme.example", "viewer", "pw123456"))

    set_password = ("users", "set-password", "--password-stdin", "--email")
    said = ok(db_run(*set_password, "ADA@acme.example", stdin="second password 2\n"))
    assert "Password set for ada@acme.example" in said
    with transaction(runtime.sessions) as session:
        ada = session.scalars(select(User).where(User.email == "ada@acme.example")).one()
        assert runtime.passwords.verify(ada.password_hash, "second password 2")
        assert not runtime.passwords.verify(ada.password_hash, "first password 1")
    assert count_rows(runtime, UserSession) == 0  # their sessions ended
    unknown = db_run(*set_password, "nobody@acme.example", stdin="x" * 10)
    assert "No user with email nobody@acme.example" in failed(unknown)

    with transaction(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "organization.created",
            "user.created",
            "user.created",
            "user.password_changed",
        ]
        assert {(e.actor_type, e.actor_label) for e in events} == {("system", "lightkeeper CLI")}


def test_users_create_prompts_for_the_password(sqlite_run: Run, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    migrate.upgrade(engine)  # in process: one subprocess less
    engine.dispose()
    args = ("users", "create", "--email", "ada@acme.example", "--org", "Acme", "--role", "admin")
    mismatch = sqlite_run(*args, stdin="first password\nsecond password\n", new_session=True)
    assert "The passwords do not match" in failed(mismatch)
    created = sqlite_run(*args, stdin="same password\nsame password\n", new_session=True)
    assert "Created ada@acme.example" in ok(created)


# -- serve -----------------------------------------------------------------------


def test_serve_refuses_a_bad_setup_value_naming_it(sqlite_run: Run) -> None:
    result = sqlite_run("serve", "--port", "1", extra={"LD_SETUP_API_KEY_EXPIRATION": "abc"})
    assert result.returncode != 0
    assert "LD_SETUP_API_KEY_EXPIRATION must be a valid number" in failed(result)
    assert "Invalid configuration: PORT" in failed(sqlite_run("serve", extra={"PORT": "eighty"}))


def test_serve_migrates_sets_up_and_serves(tmp_path: Path) -> None:
    api_key = generate(TokenKind.PERSONAL)
    env = server_env(
        tmp_path / "data",
        LD_SETUP_ADMIN_EMAIL="ops@acme.example",
        LD_SETUP_ORGANIZATION_NAME="Acme",
        LD_SETUP_ADMIN_API_KEY=api_key,
        LOG_LEVEL="info",
    )
    with running_server(env) as server:
        health = httpx.get(
            f"{server.url}/api/v1/health", headers={"Authorization": f"ApiKey {api_key}"}
        ).json()
        assert health["results"]["requiresOrgRegistration"] is False
        assert health["results"]["isAuthenticated"] is True
        server.process.terminate()
        # uvicorn re-raises the SIGTERM it handled after a graceful shutdown.
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
    output = server.log.read_text()
    assert "setup.completed" in output and "listening on" in output
    assert api_key not in output  # the token never reaches a log


def test_serve_with_several_workers(tmp_path: Path) -> None:
    with running_server(server_env(tmp_path / "data"), "--workers", "2") as server:
        health = httpx.get(f"{server.url}/api/v1/health").json()
        assert health["results"]["requiresOrgRegistration"] is True
        server.process.terminate()
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
