"""The API-client commands of `lightkeeper` (cli.md § API client), one module per group.

They speak HTTP only (never the database), so they work from a laptop or a CI job with
`LIGHTDASH_URL`, `LIGHTDASH_API_KEY` and `LIGHTDASH_PROJECT`. `lightkeeper.cli.main` adds them
to the one `lightkeeper` command, next to the server-admin commands.
"""

from __future__ import annotations

import typer

from lightkeeper.client.commands.auth import config_app, login, whoami
from lightkeeper.client.commands.content import download, upload
from lightkeeper.client.commands.deploy import deploy
from lightkeeper.client.commands.queries import query, sql
from lightkeeper.client.commands.service_accounts import service_accounts_app


def register(app: typer.Typer) -> None:
    """Add the API-client commands to the `lightkeeper` app."""
    app.command("login")(login)
    app.command("whoami")(whoami)
    app.command("deploy")(deploy)
    app.command("download")(download)
    app.command("upload")(upload)
    app.command("query")(query)
    app.command("sql")(sql)
    app.add_typer(config_app, name="config")
    app.add_typer(service_accounts_app, name="service-accounts")
