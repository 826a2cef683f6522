"""`lightkeeper service-accounts …`: every operation of /api/v1/service-accounts.

Access flags mirror the API's three shapes (service-accounts.md):
- `--role ROLE`: organization scope with a system role (`scopes: ["system:ROLE"]`);
- `--custom-role NAME|UUID`: organization scope with a custom role (`roleUuid`; a name is looked
  up with GET /api/v2/orgs/{org}/roles);
- `--project UUID:ROLE` (repeatable): project scope (`scopes: ["system:member"]` and
  `projectAccess`); ROLE is a project role or a custom role's name or uuid;
- `--scope SCOPE` (repeatable): raw scopes, e.g. the legacy `org:read`.

A service account is named by its uuid or its description. `create` and `rotate` print the token
once; with `--quiet` the token is the only thing on stdout.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from lightkeeper.client.commands.common import JsonOption, connect
from lightkeeper.client.config import can_prompt
from lightkeeper.client.http import ApiClient, CliError
from lightkeeper.client.output import Output, UsageError, handle_errors

BASE = "/api/v1/service-accounts"
ORG_SYSTEM_ROLES = ("admin", "developer", "editor", "interactive_viewer", "viewer")
PROJECT_ROLES = ("viewer", "interactive_viewer", "editor", "developer", "admin")
EXPIRES_HELP = (
    "When the token expires: 30d (days from now), 2027-01-01 (midnight UTC), "
    "2027-01-01T12:00:00Z, or never."
)

service_accounts_app = typer.Typer(
    help="Service accounts: machine identities for CI and integrations (admins only).",
    no_args_is_help=True,
)

DescriptionOption = typer.Option(None, "--description", help="What the account is for.")
RoleOption = typer.Option(
    None, "--role", help=f"Organization role: {', '.join(ORG_SYSTEM_ROLES)}.", show_default=False
)
CustomRoleOption = typer.Option(
    None, "--custom-role", help="A custom role's name or uuid.", show_default=False
)
ProjectAccessOption = typer.Option(
    None,
    "--project",
    help="UUID:ROLE, repeatable: project scope with that project role (or custom role).",
    show_default=False,
)
ScopeOption = typer.Option(
    None, "--scope", help="A raw scope, repeatable (e.g. legacy org:read).", show_default=False
)
QuietOption = typer.Option(False, "--quiet", "-q", help="Print only the token.")
IpRangeOption = typer.Option(
    None,
    "--allowed-ip-range",
    help="Accept the token only from this CIDR range or address, IPv4 or IPv6 (repeatable).",
)
AccountArgument = typer.Argument(..., help="The service account's uuid or description.")


# -- parsing -----------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_expires(value: str, *, now: datetime | None = None) -> str | None:
    """`--expires` as the API's `expiresAt`: an ISO time in UTC, or None for never.

    Accepts `30d` (also `12h`, `2w`), a date (midnight UTC), an ISO time with `Z` or an offset,
    or `never`. A time without an offset is refused rather than read as local time.
    """
    text = value.strip()
    now = now or datetime.now(UTC)
    if text.lower() == "never":
        return None
    relative = re.fullmatch(r"(\d+)\s*([dhw])", text.lower())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        if amount == 0:
            raise UsageError("--expires must be in the future (e.g. 30d)")
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(weeks=amount)
        )
        try:
            return iso(now + delta)
        except OverflowError:
            raise UsageError(f"--expires {value!r} is too far in the future") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return iso(datetime.fromisoformat(text).replace(tzinfo=UTC))
        except ValueError:
            raise UsageError(f"--expires {value!r} is not a valid date") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--expires {value!r} is not understood: use 30d, 2027-01-01, "
            "2027-01-01T12:00:00Z or never"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(
            f"--expires {value!r} has no time zone: add Z (UTC) or an offset, "
            "e.g. 2027-01-01T12:00:00Z"
        )
    return iso(moment)


class RoleResolver:
    """Custom roles by name or uuid, loaded once from GET /api/v2/orgs/{org}/roles."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._roles: list[dict[str, Any]] | None = None

    def roles(self) -> list[dict[str, Any]]:
        if self._roles is None:
            organization = self.client.get("/api/v1/user").get("organizationUuid")
            found = self.client.get(
                f"/api/v2/orgs/{organization}/roles", params={"roleTypeFilter": "user"}
            )
            self._roles = [r for r in found or [] if r.get("ownerType", "user") == "user"]
        return self._roles

    def resolve(self, reference: str) -> dict[str, Any]:
        roles = self.roles()
        for role in roles:
            if role.get("roleUuid") == reference:
                return role
        matches = [r for r in roles if r.get("name") == reference] or [
            r for r in roles if str(r.get("name", "")).casefold() == reference.casefold()
        ]
        if len(matches) > 1:
            listed = "; ".join(f"{r.get('name')}: {r.get('roleUuid')}" for r in matches)
            raise CliError(f"Several custom roles are named {reference!r}: {listed}")
        if not matches:
            names = ", ".join(str(r.get("name")) for r in roles) or "none"
            raise CliError(f"No custom role named {reference!r}", hint=f"Custom roles: {names}")
        return matches[0]

    def names(self) -> dict[str, str]:
        try:
            return {str(r.get("roleUuid")): str(r.get("name")) for r in self.roles()}
        except CliError:
            return {}


def access_body(
    resolver: RoleResolver,
    *,
    role: str | None,
    custom_role: str | None,
    projects: list[str] | None,
    scopes: list[str] | None,
) -> dict[str, Any] | None:
    """The API's access fields from the flags; None when no access flag was given."""
    if role == "member" and not projects:
        raise UsageError("--role member needs --project UUID:ROLE (a project-scoped account)")
    chosen = [
        flag
        for flag, given in (
            ("--role", role is not None and role != "member"),
            ("--custom-role", custom_role is not None),
            ("--project", bool(projects)),
            ("--scope", bool(scopes)),
        )
        if given
    ]
    if len(chosen) > 1:
        raise UsageError(
            f"Give one kind of access, not {' and '.join(chosen)}: --role, --custom-role, "
            "--project UUID:ROLE (repeatable) or --scope"
        )
    if role is not None and role != "member":
        if role not in ORG_SYSTEM_ROLES:
            raise UsageError(f"--role must be one of {', '.join(ORG_SYSTEM_ROLES)}, not {role!r}")
        return {"scopes": [f"system:{role}"]}
    if custom_role is not None:
        return {"roleUuid": resolver.resolve(custom_role.strip())["roleUuid"]}
    if projects:
        grants = []
        for item in projects:
            project, separator, project_role = item.partition(":")
            if not separator or not project_role.strip():
                raise UsageError(
                    f"--project {item!r} must be UUID:ROLE, e.g. {uuid.uuid4()}:editor"
                )
            try:
                project_uuid = str(uuid.UUID(project.strip()))
            except ValueError:
                raise UsageError(f"--project {item!r}: {project!r} is not a project uuid") from None
            project_role = project_role.strip()
            if project_role in PROJECT_ROLES:
                grants.append({"projectUuid": project_uuid, "role": project_role})
            else:
                grants.append(
                    {
                        "projectUuid": project_uuid,
                        "roleUuid": resolver.resolve(project_role)["roleUuid"],
                    }
                )
        return {"scopes": ["system:member"], "projectAccess": grants}
    if scopes:
        return {"scopes": [s.strip() for s in scopes]}
    return None


def find_account(client: ApiClient, reference: str) -> dict[str, Any]:
    """The service account named by uuid or by description (exact, then case-insensitive)."""
    text = reference.strip()
    try:
        return dict(client.get(f"{BASE}/{uuid.UUID(text)}"))
    except ValueError:
        pass
    accounts: list[dict[str, Any]] = client.get(BASE) or []
    matches = [a for a in accounts if a.get("description") == text] or [
        a for a in accounts if str(a.get("description", "")).casefold() == text.casefold()
    ]
    if len(matches) > 1:
        listed = "; ".join(f"{a.get('uuid')} (created {when(a.get('createdAt'))})" for a in matches)
        raise CliError(
            f"{len(matches)} service accounts are described {text!r}: {listed}",
            hint="Name it by uuid.",
        )
    if not matches:
        raise CliError(
            f"No service account with uuid or description {text!r}",
            hint="List them with `lightkeeper service-accounts list`.",
        )
    return matches[0]


# -- display -----------------------------------------------------------------------


def when(value: Any) -> str:
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def access_label(account: dict[str, Any], role_names: dict[str, str]) -> str:
    scopes = list(account.get("scopes") or [])
    if account.get("roleUuid"):
        uuid_ = str(account["roleUuid"])
        return f"custom role {role_names.get(uuid_, uuid_)}"
    if scopes == ["system:member"]:
        count = account.get("projectAccessCount")
        if count is None:
            return "project scope"
        return f"{count} project{'s' if count != 1 else ''}"
    if len(scopes) == 1 and scopes[0].startswith("system:"):
        return f"{scopes[0].removeprefix('system:')} (organization)"
    return ", ".join(scopes) or "-"


def without_token(account: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in account.items() if k != "token"}


def show_account(output: Output, account: dict[str, Any], role_names: dict[str, str]) -> None:
    output.fields(
        [
            ("Uuid", account.get("uuid")),
            ("Description", account.get("description")),
            ("Access", access_label(account, role_names)),
            ("Expires", when(account.get("expiresAt")) if account.get("expiresAt") else "never"),
            ("Token", account.get("tokenHint") or "-"),
            *(
                [("Previous token works until", when(account["previousTokenExpiresAt"]))]
                if account.get("previousTokenExpiresAt")
                else []
            ),
            ("Allowed from", ", ".join(account.get("allowedIpRanges") or []) or "any address"),
        ]
    )


def show_token(
    output: Output, account: dict[str, Any], quiet: bool, verb: str, role_names: dict[str, str]
) -> None:
    token = str(account.get("token") or "")
    if not token:
        raise CliError("The server's answer has no token")
    if quiet:
        output.raw(token)
        return
    if output.as_json:
        output.json(account)
        return
    output.line(f"{verb} service account {account.get('description')!r}")
    show_account(output, account, role_names)
    output.line()
    output.line("Token (shown only now; store it as a secret, e.g. LIGHTDASH_API_KEY in CI):")
    output.raw(token)


def check_quiet(quiet: bool, as_json: bool) -> None:
    if quiet and as_json:
        raise UsageError("Give --quiet or --json, not both")


# -- commands ----------------------------------------------------------------------


@service_accounts_app.command("list")
@handle_errors
def list_accounts(as_json: bool = JsonOption) -> None:
    """List the organization's service accounts."""
    output = Output(as_json)
    client, _ = connect(output)
    with client:
        accounts: list[dict[str, Any]] = client.get(BASE) or []
        role_names = (
            RoleResolver(client).names() if any(a.get("roleUuid") for a in accounts) else {}
        )
    if as_json:
        output.json([without_token(a) for a in accounts])
        return
    if not accounts:
        output.line("No service accounts. Create one with `lightkeeper service-accounts create`.")
        return
    output.table(
        ("Uuid", "Description", "Access", "Expires", "Last used", "Token"),
        [
            (
                a.get("uuid"),
                a.get("description"),
                access_label(a, role_names),
                when(a.get("expiresAt")) if a.get("expiresAt") else "never",
                when(a.get("lastUsedAt")),
                a.get("tokenHint"),
            )
            for a in accounts
        ],
    )


@service_accounts_app.command("create")
@handle_errors
def create_account(
    description: str = typer.Option(..., "--description", help="What the account is for."),
    expires: str = typer.Option("never", "--expires", help=EXPIRES_HELP),
    role: str | None = RoleOption,
    custom_role: str | None = CustomRoleOption,
    project: list[str] | None = ProjectAccessOption,
    scope: list[str] | None = ScopeOption,
    allowed_ip_range: list[str] | None = IpRangeOption,
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a service account and print its token (shown only once)."""
    output = Output(as_json)
    check_quiet(quiet, as_json)
    expires_at = parse_expires(expires)
    if not any((role, custom_role, project, scope)):
        raise UsageError(
            "Say what the account may do: --role ROLE, --custom-role NAME, "
            "--project UUID:ROLE or --scope SCOPE"
        )
    client, _ = connect(output)
    with client:
        resolver = RoleResolver(client)
        access = access_body(
            resolver, role=role, custom_role=custom_role, projects=project, scopes=scope
        )
        body: dict[str, Any] = {
            "description": description,
            "expiresAt": expires_at,
            **(access or {}),
        }
        if allowed_ip_range:
            body["allowedIpRanges"] = allowed_ip_range
        account = client.post(BASE, body)
        role_names = resolver.names() if account.get("roleUuid") and not quiet else {}
    show_token(output, account, quiet, "Created", role_names)


@service_accounts_app.command("edit")
@handle_errors
def edit_account(
    account_ref: str = AccountArgument,
    description: str | None = DescriptionOption,
    role: str | None = RoleOption,
    custom_role: str | None = CustomRoleOption,
    project: list[str] | None = ProjectAccessOption,
    scope: list[str] | None = ScopeOption,
    allowed_ip_range: list[str] | None = IpRangeOption,
    any_ip: bool = typer.Option(
        False, "--any-ip", help="Accept the token from any address again (clears the ranges)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Rename a service account, change what it may do or where its token works (token and
    expiry unchanged)."""
    output = Output(as_json)
    if allowed_ip_range and any_ip:
        raise UsageError("Give --allowed-ip-range or --any-ip, not both")
    if description is None and not any(
        (role, custom_role, project, scope, allowed_ip_range, any_ip)
    ):
        raise UsageError(
            "Nothing to change: give --description, an access flag, --allowed-ip-range or --any-ip"
        )
    client, _ = connect(output)
    with client:
        account = find_account(client, account_ref)
        resolver = RoleResolver(client)
        access = access_body(
            resolver, role=role, custom_role=custom_role, projects=project, scopes=scope
        )
        body: dict[str, Any] = {
            "description": description if description is not None else account.get("description"),
            **(access or {}),
        }
        if allowed_ip_range or any_ip:
            body["allowedIpRanges"] = allowed_ip_range or []
        updated = client.patch(f"{BASE}/{account['uuid']}", body)
        role_names = resolver.names() if updated.get("roleUuid") else {}
    if as_json:
        output.json(without_token(updated))
        return
    output.line(f"Updated service account {updated.get('description')!r}")
    show_account(output, updated, role_names)


@service_accounts_app.command("rotate")
@handle_errors
def rotate_account(
    account_ref: str = AccountArgument,
    expires: str = typer.Option(..., "--expires", help=EXPIRES_HELP.replace(", or never", "")),
    grace: int = typer.Option(
        0,
        "--grace-period-minutes",
        min=0,
        max=1440,
        help="Keep the old token working this many minutes (0-1440), so a running deploy ends.",
    ),
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """Replace a service account's token (the old one stops working at once, or after the grace)."""
    output = Output(as_json)
    check_quiet(quiet, as_json)
    expires_at = parse_expires(expires)
    if expires_at is None:
        raise UsageError("A rotated token needs an expiry: --expires 30d, a date or a time")
    client, _ = connect(output)
    with client:
        account = find_account(client, account_ref)
        body: dict[str, object] = {"expiresAt": expires_at}
        if grace:
            body["gracePeriodMinutes"] = grace
        rotated = client.patch(f"{BASE}/{account['uuid']}/rotate", body)
        role_names = RoleResolver(client).names() if rotated.get("roleUuid") and not quiet else {}
    show_token(output, rotated, quiet, "Rotated the token of", role_names)


@service_accounts_app.command("delete")
@handle_errors
def delete_account(
    account_ref: str = AccountArgument,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = JsonOption,
) -> None:
    """Delete a service account: its token stops working on the very next request."""
    output = Output(as_json)
    client, _ = connect(output)
    with client:
        account = find_account(client, account_ref)
        label = f"{account.get('description')!r} ({account.get('uuid')})"
        if not yes:
            if not can_prompt():
                raise UsageError(f"Deleting {label} needs confirmation: add --yes")
            if not typer.confirm(f"Delete service account {label}? Its token stops working."):
                raise CliError("Not deleted")
        client.delete(f"{BASE}/{account['uuid']}")
    if as_json:
        output.json({"deleted": without_token(account)})
        return
    output.line(f"Deleted service account {label}")


@service_accounts_app.command("projects")
@handle_errors
def account_projects(account_ref: str = AccountArgument, as_json: bool = JsonOption) -> None:
    """List a service account's project grants."""
    output = Output(as_json)
    client, _ = connect(output)
    with client:
        account = find_account(client, account_ref)
        grants: list[dict[str, Any]] = client.get(f"{BASE}/{account['uuid']}/projects") or []
    if as_json:
        output.json(grants)
        return
    if not grants:
        output.line(
            f"{account.get('description')!r} has no project grants ({access_label(account, {})})"
        )
        return
    output.table(
        ("Project", "Uuid", "Role"),
        [
            (
                g.get("projectName"),
                g.get("projectUuid"),
                g.get("role") or f"custom role {g.get('roleName') or g.get('roleUuid')}",
            )
            for g in grants
        ],
    )
