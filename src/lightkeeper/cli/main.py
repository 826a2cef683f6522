"""The one `lightkeeper` command: the server-admin commands next to the API client (cli.md).

`lightkeeper.cli.server` holds serve, db, users and tokens; `lightkeeper.client.commands` the
HTTP-only client (login, config, whoami, service-accounts, deploy, download, upload), which
imports nothing of the server.
"""

from __future__ import annotations

import typer

from lightkeeper.cli import server
from lightkeeper.client import commands as client_commands

app = typer.Typer(
    name="lightkeeper",
    help="Lightkeeper: identity and access for a Lightdash-style analytics platform.",
    no_args_is_help=True,
)
server.register(app)
client_commands.register(app)
