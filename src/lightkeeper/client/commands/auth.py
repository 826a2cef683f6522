"""`lightkeeper login`, `config set-project` and `whoami`: the saved login and who it acts as."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import typer
from rich.prompt import IntPrompt

from lightkeeper.client.commands.common import JsonOption, check_uuid, connect
from lightkeeper.client.config import (
    ENV_PROJECT,
    ENV_TOKEN,
    ConfigError,
    SavedConfig,
    Source,
    can_prompt,
    normalize_url,
    save_config,
)
from lightkeeper.client.http import ApiClient, CliError, token_hint
from lightkeeper.client.output import Output, UsageError, handle_errors

config_app = typer.Typer(help="The saved login: server, token and project.", no_args_is_help=True)


def display_name(user: dict[str, Any]) -> str:
    if user.get("isServiceAccount"):
        return f"service account {user.get('firstName') or ''}".strip()
    name = f"{user.get('firstName') or ''} {user.get('lastName') or ''}".strip()
    email = user.get("email")
    if name and email:
        return f"{name} <{email}>"
    return name or email or str(user.get("userUuid"))


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """The principal without its ability rules (long and of no use on a terminal)."""
    return {k: v for k, v in user.items() if k != "abilityRules"}


def choose_project(
    output: Output, projects: Sequence[dict[str, Any]], wanted: str | None
) -> tuple[dict[str, Any] | None, str]:
    """The project to save: `wanted`, the only one, the first (CI), or the person's choice."""
    if wanted is not None:
        for project in projects:
            if project.get("projectUuid") == wanted:
                return project, "given"
        names = ", ".join(f"{p.get('name')} ({p.get('projectUuid')})" for p in projects)
        raise CliError(
            f"Project {wanted} does not exist or this token cannot see it",
            hint=f"Projects it can see: {names}" if names else "It can see no project.",
        )
    if not projects:
        return None, "none"
    if len(projects) == 1:
        return projects[0], "only"
    if not can_prompt():
        return projects[0], "first"
    output.err.print("Choose a project:")
    for i, p in enumerate(projects):
        output.err.print(f"  {i + 1}. {p.get('name')} ({p.get('projectUuid')})", markup=False)
    while True:
        choice = IntPrompt.ask("Project number", default=1, console=output.err)
        if 1 <= choice <= len(projects):
            return projects[choice - 1], "chosen"
        output.err.print(f"Enter a number from 1 to {len(projects)}")


# -- login -------------------------------------------------------------------------


@handle_errors
def login(
    url: str = typer.Argument(..., help="The server's address, e.g. https://lightdash.example.com"),
    token: str | None = typer.Option(
        None,
        "--token",
        help=f"A service-account (ldsvc_…) or personal (ldpat_…) token. Default: {ENV_TOKEN}, "
        "else a prompt.",
        show_default=False,
    ),
    project: str | None = typer.Option(
        None, "--project", help="Project uuid to select (default: the only one, or a prompt)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check a token against a server (GET /api/v1/user) and save the login (mode 0600)."""
    output = Output(as_json)
    try:
        server = normalize_url(url)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    wanted = check_uuid(project, "--project") if project else None
    source = Source.FLAG
    if token is None:
        if os.environ.get(ENV_TOKEN, "").strip():
            token, source = os.environ[ENV_TOKEN].strip(), Source.ENV
        elif can_prompt():
            token = typer.prompt("Token", hide_input=True).strip()
        else:
            raise UsageError(f"--token is required (or set {ENV_TOKEN})")
    with ApiClient(server, token, url_source=Source.FLAG, token_source=source) as client:
        user = client.get("/api/v1/user")
        projects = client.get("/api/v1/org/projects") or []
    chosen, how = choose_project(output, projects, wanted)
    saved = SavedConfig(
        url=server,
        token=token,
        project_uuid=chosen.get("projectUuid") if chosen else None,
        project_name=chosen.get("name") if chosen else None,
        user={
            "userUuid": user.get("userUuid"),
            "organizationUuid": user.get("organizationUuid"),
        },
    )
    path = save_config(saved)
    if as_json:
        output.json(
            {
                "url": server,
                "user": public_user(user),
                "project": chosen,
                "projectSelection": how,
                "configPath": str(path),
            }
        )
        return
    output.line(f"Logged in to {server} as {display_name(user)}")
    output.line(f"Organization: {user.get('organizationName')} (role {user.get('role')})")
    if chosen is None:
        output.line(
            "No project yet: create one with `lightkeeper deploy --create --manifest …`, "
            "then `lightkeeper config set-project`."
        )
    else:
        note = {
            "first": f" (the first of {len(projects)}; change with `lightkeeper config "
            "set-project`)"
        }.get(how, "")
        output.line(f"Project: {chosen.get('name')} ({chosen.get('projectUuid')}){note}")
    output.note(f"Saved to {path}")


# -- config set-project ------------------------------------------------------------


@config_app.command("set-project")
@handle_errors
def set_project(
    project_uuid: str | None = typer.Option(None, "--uuid", help="The project's uuid."),
    name: str | None = typer.Option(None, "--name", help="The project's name."),
    as_json: bool = JsonOption,
) -> None:
    """Choose the project that deploy, download and upload use by default."""
    output = Output(as_json)
    if project_uuid and name:
        raise UsageError("Give --uuid or --name, not both")
    wanted = check_uuid(project_uuid, "--uuid") if project_uuid else None
    client, context = connect(output)
    if not context.uses_saved_server:
        raise CliError(
            f"No saved login for {context.url}: run `lightkeeper login {context.url} --token …` "
            f"first (in CI, set {ENV_PROJECT} instead)"
        )
    with client:
        projects: list[dict[str, Any]] = client.get("/api/v1/org/projects") or []
    if wanted is not None:
        chosen, _ = choose_project(output, projects, wanted)
    elif name is not None:
        matches = [p for p in projects if p.get("name") == name] or [
            p for p in projects if str(p.get("name", "")).casefold() == name.casefold()
        ]
        if len(matches) > 1:
            listed = "; ".join(f"{p.get('name')}: {p.get('projectUuid')}" for p in matches)
            raise CliError(
                f"{len(matches)} projects are named {name!r}: {listed}",
                hint="Choose one with --uuid.",
            )
        if not matches:
            names = ", ".join(str(p.get("name")) for p in projects) or "none"
            raise CliError(f"No project named {name!r}", hint=f"Projects: {names}")
        chosen = matches[0]
    else:
        if not projects:
            raise CliError("This token can see no project")
        if not can_prompt():
            raise UsageError("Give --uuid or --name (no prompt in CI or without a terminal)")
        chosen, _ = choose_project(output, projects, None)
    assert chosen is not None
    saved = context.saved
    saved.project_uuid = chosen.get("projectUuid")
    saved.project_name = chosen.get("name")
    path = save_config(saved)
    if as_json:
        output.json({"project": chosen, "configPath": str(path)})
        return
    output.line(f"Project set to {chosen.get('name')} ({chosen.get('projectUuid')})")
    if context.project_source == Source.ENV:
        output.warn(f"{ENV_PROJECT} is set and still takes precedence over the saved project")


# -- whoami ------------------------------------------------------------------------


@handle_errors
def whoami(as_json: bool = JsonOption) -> None:
    """Who the token acts as: person or service account, organization, role, project."""
    output = Output(as_json)
    client, context = connect(output)
    with client:
        user = client.get("/api/v1/user")
        project: dict[str, Any] | None = None
        if context.project_uuid:
            projects = client.get("/api/v1/org/projects") or []
            project = next(
                (p for p in projects if p.get("projectUuid") == context.project_uuid), None
            )
    assert context.token is not None
    sources = {
        Source.FLAG: "flag",
        Source.ENV: "environment",
        Source.CONFIG: str(context.path),
        Source.OIDC: "CI identity token exchange",
    }
    if as_json:
        output.json(
            {
                "url": context.url,
                "user": public_user(user),
                "project": project
                or ({"projectUuid": context.project_uuid} if context.project_uuid else None),
                "tokenHint": token_hint(context.token),
                "sources": {
                    "url": sources.get(context.url_source) if context.url_source else None,
                    "token": sources.get(context.token_source) if context.token_source else None,
                    "project": sources.get(context.project_source)
                    if context.project_source
                    else None,
                },
            }
        )
        return
    rows: list[tuple[str, Any]] = [("Server", context.url)]
    if user.get("isServiceAccount"):
        rows += [
            ("Service account", user.get("firstName")),
            ("Uuid", user.get("serviceAccountUuid")),
        ]
    else:
        name = f"{user.get('firstName') or ''} {user.get('lastName') or ''}".strip()
        rows += [("User", name or "-"), ("Email", user.get("email") or "-")]
    rows += [
        ("Organization", f"{user.get('organizationName')} ({user.get('organizationUuid')})"),
        ("Role", user.get("role")),
    ]
    if context.project_uuid:
        label = (
            f"{project.get('name')} ({context.project_uuid})"
            if project
            else f"{context.project_uuid} (not visible to this token)"
        )
        rows.append(("Project", label))
    else:
        rows.append(("Project", "none selected"))
    rows.append(
        (
            "Token",
            f"{token_hint(context.token)} (from {sources[context.token_source or Source.FLAG]})",
        )
    )
    output.fields(rows)
