"""The server-admin commands of `lightkeeper`: serve, db, users, tokens (cli.md § Server administration).

They run next to the database and read the same environment as the server. Every expected
failure (a bad setting, an unreachable database, a rule of the domain) ends with one line on
stderr and exit code 1, never a stack trace; bad arguments exit 2 (Typer's usage errors).

Server modules (settings, database, domain services) are imported inside each command, at its
boundary, never at the top of this module: `lightkeeper.cli.main` loads this module for every
`lightkeeper` invocation, and an API-client command (`whoami`, `deploy`, …) must start without
loading the server, or where only the client is installed (`needs_server` then says what
to install).
"""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import typer

from lightkeeper.kit.tokens import TokenKind, generate

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from lightkeeper.config import Settings
    from lightkeeper.runtime import Runtime

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(
    help="Manage people directly in the database (server admin).", no_args_is_help=True
)
tokens_app = typer.Typer(help="Generate tokens for LD_SETUP_* variables.", no_args_is_help=True)

P = ParamSpec("P")
R = TypeVar("R")

CLI_ACTOR_LABEL = "lightkeeper CLI"
UVICORN_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def needs_server(command: Callable[P, R]) -> Callable[P, R]:
    """Where only the client is installed (`pip install lightkeeper`), say what to install."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ModuleNotFoundError as error:
            if (error.name or "").startswith("lightkeeper"):
                raise
            _fail(
                f"This command needs the server's packages ({error.name} is not installed): "
                "pip install 'lightkeeper[server]'"
            )

    return run


def _settings() -> Settings:
    """The settings, or a one-line error naming each variable with a bad value."""
    from pydantic import ValidationError

    from lightkeeper.config import Settings

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        _fail(f"Invalid configuration: {problems}")


def _runtime(settings: Settings | None = None) -> Runtime:
    from lightkeeper.config import ConfigError
    from lightkeeper.runtime import Runtime

    settings = settings or _settings()
    with _database_errors(settings):
        try:
            return Runtime.build(settings)
        except ConfigError as error:
            _fail(str(error))


def _engine(settings: Settings) -> Engine:
    """Only the database: schema commands need neither the server secret nor its checks."""
    from lightkeeper.db import make_engine

    return make_engine(settings.resolved_database_url)


@contextmanager
def _database_errors(settings: Settings) -> Iterator[None]:
    """Turn database failures into a message that says what to check (never SQL or a password)."""
    from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError

    from lightkeeper.kit.errors import LightkeeperError

    try:
        yield
    except LightkeeperError as error:
        _fail(error.message)
    except ArgumentError:
        _fail("DATABASE_URL is not a valid database URL (e.g. postgresql://user:pass@host/db)")
    except (OperationalError, ProgrammingError) as error:
        from sqlalchemy.engine import make_url

        where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
            _fail(f"The database at {where} has no schema yet: run `lightkeeper db upgrade`")
        _fail(f"Cannot use the database at {where}: {reason}")
    except SQLAlchemyError as error:
        _fail(f"Database error: {type(error).__name__}")


@needs_server
def serve(
    host: str | None = typer.Option(
        None, help="Address to listen on (default: HOST or 127.0.0.1)."
    ),
    port: int | None = typer.Option(None, help="Port to listen on (default: PORT or 8080)."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes (SQLite WAL and PostgreSQL both allow several)."
    ),
    migrate: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Run migrations before starting."
    ),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="The first organization gets the demo project (jaffle shop data, ready to query); "
        "the same as LIGHTKEEPER_DEMO=true.",
    ),
) -> None:
    """Run the server: migrations, first-run setup from LD_SETUP_*, then HTTP."""
    import uvicorn

    from lightkeeper import __version__
    from lightkeeper import migrate as migrations
    from lightkeeper.auth.cache import prune_changes
    from lightkeeper.db import transaction
    from lightkeeper.kit.logs import configure_logging
    from lightkeeper.setup.service import add_demo_to_existing_instance, run_setup
    from lightkeeper.setup.steps import SetupError

    if demo:
        # In the environment, so the worker processes (which read it again) agree.
        os.environ["LIGHTKEEPER_DEMO"] = "true"
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _runtime(settings)
    with _database_errors(settings):
        if migrate and settings.migrate_on_start:
            migrations.upgrade(runtime.engine)
        try:
            if not run_setup(runtime):
                add_demo_to_existing_instance(runtime)
        except SetupError as error:
            _fail(str(error))
        with transaction(runtime.sessions) as session:
            prune_changes(session)
    # Workers build their own runtime (and pool) from the same environment.
    runtime.close()
    bind_host, bind_port = host or settings.host, port or settings.port
    level = settings.log_level.lower()
    typer.echo(
        f"Lightkeeper {__version__} listening on http://{bind_host}:{bind_port} "
        f"({workers} worker{'s' if workers > 1 else ''})",
        err=True,
    )
    uvicorn.run(
        # An import string with factory=True: the only form uvicorn accepts for several workers.
        "lightkeeper.app:create_app_from_env",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        # X-Forwarded-* are read in one place, kit.http.RequestPlumbing (TRUST_PROXY_HOPS);
        # uvicorn's own reading would take the client-written leftmost entry.
        proxy_headers=False,
        log_level=level if level in UVICORN_LOG_LEVELS else "info",
        access_log=False,
    )


@db_app.command("upgrade")
@needs_server
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Upgrade the schema (to the newest revision by default)."""
    from lightkeeper import migrate as migrations

    settings = _settings()
    with _database_errors(settings):
        engine = _engine(settings)
        migrations.upgrade(engine, revision)
        typer.echo(f"Database at revision {migrations.current(engine) or 'base'}")
    engine.dispose()


@db_app.command("current")
@needs_server
def db_current() -> None:
    """Print the schema revision of the database."""
    from lightkeeper import migrate as migrations

    settings = _settings()
    with _database_errors(settings):
        engine = _engine(settings)
        typer.echo(migrations.current(engine) or "empty (no migrations applied)")
    engine.dispose()


@db_app.command("downgrade")
@needs_server
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Downgrade the schema to REVISION."""
    from lightkeeper import migrate as migrations

    settings = _settings()
    with _database_errors(settings):
        engine = _engine(settings)
        migrations.downgrade(engine, revision)
        typer.echo(f"Database at revision {migrations.current(engine) or 'base'}")
    engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line; only the line break is removed (a password may contain spaces).
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        _fail("The passwords do not match")
    return first


@users_app.command("create")
@needs_server
def users_create(
    email: str = typer.Option(..., help="The person's email (unique per instance)."),
    org: str = typer.Option(..., "--org", help="Organization name; created if it does not exist."),
    role: str = typer.Option(
        ..., help="Org role: member, viewer, interactive_viewer, editor, developer, admin."
    ),
    first_name: str = typer.Option("", help="First name."),
    last_name: str = typer.Option("", help="Last name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Add a person to an organization (creating it; its first user must be admin)."""
    from lightkeeper.audit.service import Actor
    from lightkeeper.db import transaction
    from lightkeeper.identity import people, repository

    settings = _settings()
    runtime = _runtime(settings)
    actor = Actor("system", None, CLI_ACTOR_LABEL)
    with _database_errors(settings):
        people.validate_role(role)
        # Check what can be checked before asking for a password nobody will use.
        with runtime.sessions() as session:
            existing = repository.organization_by_name(session, org.strip())
            if existing is None and role != "admin":
                _fail(
                    f"Organization {org.strip()!r} does not exist yet and its first user must be "
                    "an admin: run again with --role admin"
                )
            if repository.user_by_email(session, email) is not None:
                _fail(f"A user with email {email.strip().lower()} already exists")
        password = _read_password(password_stdin)
        with transaction(runtime.sessions) as session:
            organization, user = people.add_person(
                runtime,
                session,
                organization_name=org,
                email=email,
                role=role,
                first_name=first_name,
                last_name=last_name,
                password=password,
                actor=actor,
                via="cli",
            )
            summary = f"Created {user.email} ({role}) in {organization.name}: {user.uuid}"
    typer.echo(summary)


@users_app.command("set-password")
@needs_server
def users_set_password(
    email: str = typer.Option(..., help="The person's email."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Set a person's password (ends their sessions)."""
    from lightkeeper.audit.actions import AuditAction, TargetType
    from lightkeeper.audit.service import Actor, Target, record
    from lightkeeper.db import transaction
    from lightkeeper.identity import people, repository

    settings = _settings()
    runtime = _runtime(settings)
    with _database_errors(settings):
        with runtime.sessions() as session:
            found = repository.user_by_email(session, email)
            if found is None or found.is_service_account:
                _fail(f"No user with email {email.strip().lower()}")
        password = _read_password(password_stdin)
        with transaction(runtime.sessions) as session:
            user = repository.user_by_email(session, email)
            if user is None:  # deleted between the check and now
                _fail(f"No user with email {email.strip().lower()}")
            people.set_password(runtime, session, user, password)
            repository.end_sessions(session, user.uuid)
            record(
                session,
                organization_uuid=user.organization_uuid,
                actor=Actor("system", None, CLI_ACTOR_LABEL),
                action=AuditAction.USER_PASSWORD_CHANGED,
                target=Target(TargetType.USER, user.uuid, user.email or ""),
                details={"via": "cli"},
            )
    typer.echo(f"Password set for {email.strip().lower()}; their sessions have ended")


@tokens_app.command("new")
def tokens_new(
    kind: str = typer.Argument(..., help="ldsvc (service account) or ldpat (personal)."),
) -> None:
    """Print a freshly generated token in Lightkeeper's format (prefix, 32 base62, checksum)."""
    try:
        token_kind = TokenKind(kind)
    except ValueError:
        _fail("KIND must be ldsvc or ldpat", code=2)
    typer.echo(generate(token_kind))


def register(app: typer.Typer) -> None:
    """Add the server-admin commands to the `lightkeeper` app."""
    app.command()(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
