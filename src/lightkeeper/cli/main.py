"""The `lightkeeper` command: running and administering the server.

Server-admin commands run next to the database (they read the same
environment as the server). API-client commands talk HTTP only.
"""

from __future__ import annotations

import getpass
import sys

import typer

from lightkeeper.config import ConfigError, Settings
from lightkeeper.kit.tokens import TokenKind, generate

app = typer.Typer(
    name="lightkeeper",
    help="Lightkeeper: identity and access for a Lightdash-style analytics platform.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(
    help="Manage people directly in the database (server admin).", no_args_is_help=True
)
tokens_app = typer.Typer(help="Generate tokens for LD_SETUP_* variables.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _runtime():  # type: ignore[no-untyped-def]
    from lightkeeper.runtime import Runtime

    try:
        return Runtime.build(Settings())
    except ConfigError as error:
        _fail(str(error))


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default: HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default: PORT or 8080)."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes (SQLite WAL and PostgreSQL both allow several)."
    ),
    migrate: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Run migrations before starting."
    ),
) -> None:
    """Run the server: migrations, first-run setup from LD_SETUP_*, then HTTP."""
    import uvicorn

    from lightkeeper import migrate as migrations
    from lightkeeper.setup.service import SetupError, run_setup

    settings = Settings()
    runtime = _runtime()
    if migrate and settings.migrate_on_start:
        migrations.upgrade(runtime.engine)
    try:
        run_setup(runtime)
    except SetupError as error:
        _fail(str(error))
    runtime.engine.dispose()
    uvicorn.run(
        "lightkeeper.app:create_app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=settings.trust_proxy,
        log_level="warning",
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Upgrade the schema (to the newest revision by default)."""
    from lightkeeper import migrate as migrations

    migrations.upgrade(_runtime().engine, revision)
    typer.echo(f"Database at revision {migrations.current(_runtime().engine)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from lightkeeper import migrate as migrations

    typer.echo(migrations.current(_runtime().engine) or "empty (no migrations applied)")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Downgrade the schema to REVISION."""
    from lightkeeper import migrate as migrations

    migrations.downgrade(_runtime().engine, revision)
    typer.echo(f"Database at revision {migrations.current(_runtime().engine) or 'base'}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        _fail("The passwords do not match")
    return first


@users_app.command("create")
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
    from lightkeeper.audit.service import Actor, Target, record
    from lightkeeper.db import transaction
    from lightkeeper.identity import repository
    from lightkeeper.identity import service as identity
    from lightkeeper.kit.errors import LightkeeperError

    runtime = _runtime()
    password = _read_password(password_stdin)
    try:
        with transaction(runtime.sessions) as session:
            organization = repository.organization_by_name(session, org)
            if organization is None:
                organization = identity.create_organization(session, org)
            user = identity.create_user(
                runtime,
                session,
                organization,
                email=email,
                role=role,
                first_name=first_name,
                last_name=last_name,
                password=password,
            )
            record(
                session,
                organization_uuid=organization.uuid,
                actor=Actor("system", None, "lightkeeper CLI"),
                action="user.created",
                target=Target("user", user.uuid, user.email or ""),
                details={"role": role},
            )
            typer.echo(f"Created {user.email} ({role}) in {organization.name}: {user.uuid}")
    except LightkeeperError as error:
        _fail(error.message)


@users_app.command("set-password")
def users_set_password(
    email: str = typer.Option(..., help="The person's email."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Set a person's password (ends their sessions)."""
    from lightkeeper.db import transaction
    from lightkeeper.identity import repository
    from lightkeeper.identity import service as identity
    from lightkeeper.kit.errors import LightkeeperError

    runtime = _runtime()
    password = _read_password(password_stdin)
    try:
        with transaction(runtime.sessions) as session:
            user = repository.user_by_email(session, email)
            if user is None or user.is_service_account:
                _fail(f"No user with email {email}")
                return
            identity.set_password(runtime, session, user, password)
            repository.end_sessions(session, user.uuid)
    except LightkeeperError as error:
        _fail(error.message)
    typer.echo(f"Password set for {email}")


@tokens_app.command("new")
def tokens_new(
    kind: str = typer.Argument(..., help="ldsvc (service account) or ldpat (personal)."),
) -> None:
    """Print a freshly generated token in Lightkeeper's format (prefix, 32 base62, checksum)."""
    try:
        token_kind = TokenKind(kind)
    except ValueError:
        _fail("KIND must be ldsvc or ldpat", code=2)
        return
    typer.echo(generate(token_kind))
