"""What the API-client command groups share: the `--json` and `--project` options, and the
connection (`connect`: the resolved server, token and project, as an `ApiClient`)."""

from __future__ import annotations

import uuid

import typer

from lightkeeper.client import oidc
from lightkeeper.client.config import (
    ENV_PROJECT,
    ENV_TOKEN,
    ENV_URL,
    Context,
    Source,
    loose_permissions,
    resolve,
)
from lightkeeper.client.http import ApiClient, CliError
from lightkeeper.client.output import JSON_HELP, Output, UsageError

NOT_LOGGED_IN = (
    f"Not logged in: run `lightkeeper login URL --token TOKEN`, or set {ENV_URL} and {ENV_TOKEN}"
)

JsonOption = typer.Option(False, "--json", help=JSON_HELP)
ProjectOption = typer.Option(
    None,
    "--project",
    help=f"Project uuid (default: {ENV_PROJECT}, then the saved project).",
    show_default=False,
)


def check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise UsageError(f"{what} {value!r} is not a uuid") from None


def connect(
    output: Output, *, project: str | None = None, keyless: oidc.OidcOptions | None = None
) -> tuple[ApiClient, Context]:
    """A client for the resolved context; CliError when there is no server or token.

    Without --token or LIGHTDASH_API_KEY, a CI identity token (client/oidc.py) is exchanged
    for a short-lived service-account token when one is configured.
    """
    context = resolve(project=project)
    keyless = keyless or oidc.OidcOptions()
    if (
        context.url is not None
        and context.token_source not in (Source.FLAG, Source.ENV)
        and oidc.configured(keyless)
    ):
        context.token, context.token_source = oidc.exchange(context.url, keyless), Source.OIDC
    if context.url is None or context.token is None:
        if context.url is not None and context.saved.url and context.saved.url != context.url:
            raise CliError(
                f"No token for {context.url}: set {ENV_TOKEN} (the saved login is for "
                f"{context.saved.url})"
            )
        raise CliError(NOT_LOGGED_IN)
    if context.token_source == Source.CONFIG and loose_permissions(context.path):
        output.warn(f"{context.path} is readable by other users: run `chmod 600 {context.path}`")
    client = ApiClient(
        context.url,
        context.token,
        url_source=context.url_source,
        token_source=context.token_source,
    )
    return client, context


def project_of(context: Context) -> str:
    """The project to act on; CliError saying how to choose one when there is none."""
    if context.project_uuid is None:
        raise CliError(
            "No project selected",
            hint=(
                f"Pass --project UUID, set {ENV_PROJECT}, or run `lightkeeper config set-project`."
            ),
        )
    try:
        return str(uuid.UUID(context.project_uuid))
    except ValueError:
        where = {
            Source.FLAG: "--project",
            Source.ENV: ENV_PROJECT,
            Source.CONFIG: f"The saved project (in {context.path})",
        }[context.project_source or Source.FLAG]
        exit_code = 2 if context.project_source == Source.FLAG else 1
        raise CliError(
            f"{where} {context.project_uuid!r} is not a project uuid", exit_code=exit_code
        ) from None
