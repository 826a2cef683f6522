"""The `lightkeeper` API client (cli.md § API client), run as a subprocess against a real server.

One server process per module (SQLite in a temporary folder, set up from LD_SETUP_* with an
admin personal token and a project); every test gets its own HOME and XDG_CONFIG_HOME. These
tests do not use the dual-database `engine` fixture: they run once, on SQLite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lightkeeper.dbt_manifest import convert_manifest, load_manifest
from lightkeeper.kit.tokens import TokenKind, generate
from tests.servers import free_port, running_server, server_env
from tests.support import JAFFLE_MANIFEST

CLI = (sys.executable, "-m", "lightkeeper")
SA_TOKEN = re.compile(r"ldsvc_[0-9A-Za-z]{38}")
# Variables of the developer's shell that must not leak into the commands under test.
_SCRUB_PREFIXES = ("LD_SETUP_", "LIGHTDASH_", "LIGHTKEEPER_")
_SCRUB = ("DATABASE_URL", "PGCONNECTIONURI", "PGHOST", "CI", "XDG_CONFIG_HOME", "PORT", "HOST")


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB and k != "NODE_ENV"
    }


@dataclass
class Server:
    url: str
    pat: str
    project_uuid: str
    organization_uuid: str
    log: Path

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api",
            headers={"Authorization": f"ApiKey {token or self.pat}"},
            timeout=30,
        )

    def get(self, path: str, token: str | None = None) -> Any:
        with self.api(token) as client:
            response = client.get(path)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        with self.api(token) as client:
            response = client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()["results"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("client-server")
    pat = generate(TokenKind.PERSONAL)
    env = server_env(
        root,
        LD_SETUP_ADMIN_EMAIL="admin@example.com",
        LD_SETUP_ORGANIZATION_NAME="Acme",
        LD_SETUP_ADMIN_API_KEY=pat,
        LD_SETUP_PROJECT_NAME="Analytics",
        LOG_LEVEL="info",
    )
    with running_server(env) as running:
        headers = {"Authorization": f"ApiKey {pat}"}
        projects = httpx.get(f"{running.url}/api/v1/org/projects", headers=headers).json()[
            "results"
        ]
        user = httpx.get(f"{running.url}/api/v1/user", headers=headers).json()["results"]
        yield Server(
            running.url, pat, projects[0]["projectUuid"], user["organizationUuid"], running.log
        )


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def cli(tmp_path: Path, home: Path) -> Run:
    """Run `lightkeeper …` with a private HOME and config folder (and nothing from the shell)."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Any:
        return subprocess.run(
            [*CLI, *args],
            input=stdin,
            env=clean_env()
            | {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "COLUMNS": "200"}
            | (env or {}),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def as_admin(server: Server, **extra: str) -> dict[str, str]:
    return {"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": server.pat, **extra}


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def parsed(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result).stdout)


def create_sa(cli: Run, server: Server, *args: str) -> str:
    result = ok(cli("service-accounts", "create", *args, "--quiet", env=as_admin(server)))
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and SA_TOKEN.fullmatch(lines[0]), result.stdout
    return lines[0]


# -- login, whoami, config ---------------------------------------------------------


def test_login_with_a_personal_token_saves_a_private_config(
    cli: Run, server: Server, home: Path
) -> None:
    result = ok(cli("login", server.url, "--token", server.pat, "--project", server.project_uuid))
    assert "Admin User" in result.stdout and "Analytics" in result.stdout
    assert server.pat not in result.stdout + result.stderr

    path = home / ".config" / "lightkeeper" / "config.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = yaml.safe_load(path.read_text())
    assert saved["context"] == {
        "serverUrl": server.url,
        "apiKey": server.pat,
        "project": server.project_uuid,
        "projectName": "Analytics",
    }
    assert not list(path.parent.glob(".config-*"))  # no temporary file left behind

    me = parsed(cli("whoami", "--json"))
    assert me["user"]["email"] == "admin@example.com"
    assert me["user"]["isServiceAccount"] is False
    assert me["user"]["role"] == "admin"
    assert me["user"]["organizationName"] == "Acme"
    assert me["project"]["projectUuid"] == server.project_uuid
    assert server.pat not in json.dumps(me)
    text = ok(cli("whoami")).stdout
    assert "admin@example.com" in text and "Acme" in text and "admin" in text
    assert server.pat not in text


def test_login_with_a_service_account_token(cli: Run, server: Server, tmp_path: Path) -> None:
    token = create_sa(cli, server, "--description", "Deploy bot", "--role", "developer")
    result = ok(cli("login", server.url, "--token", token, "--json"))
    login = json.loads(result.stdout)
    assert login["user"]["isServiceAccount"] is True
    assert login["project"]["projectUuid"]  # the first visible project, with no prompt
    me = parsed(cli("whoami", "--json"))
    assert me["user"]["firstName"] == "Deploy bot"
    assert me["user"]["isServiceAccount"] is True
    assert me["tokenHint"] == f"ldsvc_…{token[-4:]}"
    assert token not in json.dumps(me)
    assert "Service account" in ok(cli("whoami")).stdout


def test_login_takes_the_first_project_in_ci_and_set_project_changes_it(
    cli: Run, server: Server
) -> None:
    suffix = uuid.uuid4().hex[:6]
    first = server.post("/v1/org/projects", {"name": f"aaa {suffix}", "type": "DEFAULT"})["project"]
    twin_a = server.post("/v1/org/projects", {"name": f"Twin {suffix}", "type": "DEFAULT"})[
        "project"
    ]
    twin_b = server.post("/v1/org/projects", {"name": f"Twin {suffix}", "type": "DEFAULT"})[
        "project"
    ]
    visible = server.get("/v1/org/projects")
    login = parsed(cli("login", server.url, "--token", server.pat, "--json", env={"CI": "true"}))
    assert login["project"]["projectUuid"] == visible[0]["projectUuid"]
    assert login["projectSelection"] in ("first", "only")
    assert first["projectUuid"] in {p["projectUuid"] for p in visible}

    twins = cli("config", "set-project", "--name", f"Twin {suffix}")
    assert twins.returncode == 1
    assert twin_a["projectUuid"] in twins.stderr and twin_b["projectUuid"] in twins.stderr

    chosen = parsed(cli("config", "set-project", "--uuid", twin_b["projectUuid"], "--json"))
    assert chosen["project"]["projectUuid"] == twin_b["projectUuid"]
    assert parsed(cli("whoami", "--json"))["project"]["projectUuid"] == twin_b["projectUuid"]

    ok(cli("config", "set-project", "--name", "analytics"))  # unique, any case
    assert parsed(cli("whoami", "--json"))["project"]["projectUuid"] == server.project_uuid
    missing = cli("config", "set-project", "--name", "No such project")
    assert missing.returncode == 1 and "No project named" in missing.stderr
    assert cli("config", "set-project", "--uuid", "not-a-uuid").returncode == 2
    assert cli("config", "set-project", env={"CI": "true"}).returncode == 2


def test_env_only_mode_in_ci_never_writes_or_prompts(
    cli: Run, server: Server, home: Path, tmp_path: Path
) -> None:
    token = create_sa(cli, server, "--description", "CI only", "--role", "editor")
    env = {
        "LIGHTDASH_URL": server.url,
        "LIGHTDASH_API_KEY": token,
        "LIGHTDASH_PROJECT": server.project_uuid,
        "CI": "true",
    }
    me = parsed(cli("whoami", "--json", env=env))
    assert me["user"]["firstName"] == "CI only"
    assert me["project"]["projectUuid"] == server.project_uuid
    assert me["sources"] == {"url": "environment", "token": "environment", "project": "environment"}
    ok(cli("download", "--path", str(tmp_path / "content"), env=env))
    assert not (home / ".config").exists()

    # CI=true is recorded as the client kind of what the CLI does.
    ok(
        cli(
            "service-accounts",
            "create",
            "--description",
            "via ci",
            "--role",
            "viewer",
            "--quiet",
            env=as_admin(server, CI="true"),
        )
    )
    events = server.get("/v1/org/audit-log?action=service_account.created")["data"]
    kinds = {e["target"]["label"]: e["clientKind"] for e in events}
    assert kinds["via ci"] == "CLI_CI"
    assert kinds["CI only"] == "CLI"


def test_saved_token_is_not_sent_to_another_server(cli: Run, server: Server) -> None:
    ok(cli("login", server.url, "--token", server.pat))
    closed = f"http://127.0.0.1:{free_port()}"
    result = cli("whoami", env={"LIGHTDASH_URL": closed})
    assert result.returncode == 1
    assert "No token for" in result.stderr and "LIGHTDASH_API_KEY" in result.stderr


# -- errors and exit codes ---------------------------------------------------------


def test_a_bad_token_exits_1_naming_lightdash_api_key(cli: Run, server: Server) -> None:
    bad = "ldsvc_" + "x" * 32
    result = cli("whoami", env={"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": bad})
    assert result.returncode == 1
    assert (
        f"Token rejected by {server.url}: Invalid service account token. Authentication "
        "failed. Check LIGHTDASH_API_KEY." in result.stderr
    )
    assert bad not in result.stdout + result.stderr
    login = cli("login", server.url, "--token", "ldpat_" + "y" * 32)
    assert login.returncode == 1 and "Invalid personal access token" in login.stderr


def test_an_unreachable_server_exits_3(cli: Run) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = {"LIGHTDASH_URL": closed, "LIGHTDASH_API_KEY": "ldpat_whatever"}
    result = cli("whoami", env=env)
    assert result.returncode == 3
    assert f"Cannot reach the server at {closed}" in result.stderr
    assert "LIGHTDASH_URL" in result.stderr
    assert cli("login", closed, "--token", "ldpat_whatever").returncode == 3
    assert (
        cli(
            "deploy", "--manifest", str(JAFFLE_MANIFEST), "--project", str(uuid.uuid4()), env=env
        ).returncode
        == 3
    )


def test_usage_errors(cli: Run, server: Server) -> None:
    assert cli("whoami").returncode == 1  # not logged in
    assert "lightkeeper login" in cli("whoami").stderr
    admin = as_admin(server)
    create = ("service-accounts", "create", "--description", "x")
    for args in (
        (*create, "--role", "editor", "--expires", "soon"),
        (*create, "--role", "editor", "--expires", "2030-01-01T10:00"),
        (*create, "--role", "editor", "--scope", "org:read"),
        create,
        ("service-accounts", "rotate", "x"),  # --expires is required
        ("service-accounts", "create", "--description", "x", "--project", "nope:editor"),
        ("deploy",),
        ("deploy", "--manifest", "missing.json"),
        ("deploy", "--manifest", str(JAFFLE_MANIFEST), "--project-name", "x"),
        ("login", "ftp://example.com", "--token", "x"),
        ("whoami", "--no-such-flag"),
    ):
        result = cli(*args, env=admin)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
    server_error = cli(
        "service-accounts", "create", "--description", " ", "--role", "editor", env=admin
    )
    assert server_error.returncode == 1 and "Description is required" in server_error.stderr


# -- service accounts --------------------------------------------------------------


def test_create_and_rotate_quiet_print_exactly_one_token_line(cli: Run, server: Server) -> None:
    admin = as_admin(server)
    first = ok(
        cli(
            "service-accounts",
            "create",
            "--description",
            "Rotating",
            "--role",
            "viewer",
            "--expires",
            "2030-01-01",
            "--quiet",
            env=admin,
        )
    )
    assert first.stdout.count("\n") == 1 and SA_TOKEN.fullmatch(first.stdout.strip())
    old = first.stdout.strip()

    rotated = ok(
        cli("service-accounts", "rotate", "Rotating", "--expires", "30d", "--quiet", env=admin)
    )
    assert rotated.stdout.count("\n") == 1
    new = rotated.stdout.strip()
    assert SA_TOKEN.fullmatch(new) and new != old

    as_old = cli("whoami", env={"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": old})
    assert as_old.returncode == 1
    ok(cli("whoami", env={"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": new}))

    again = cli("service-accounts", "rotate", "Rotating", "--expires", "30d", env=admin)
    assert again.returncode == 1
    assert "Token can only be rotated once per hour" in again.stderr

    never = ok(
        cli(
            "service-accounts",
            "create",
            "--description",
            "Forever",
            "--role",
            "viewer",
            "--json",
            env=admin,
        )
    )
    account = json.loads(never.stdout)
    assert account["expiresAt"] is None and SA_TOKEN.fullmatch(account["token"])
    rotate_never = cli("service-accounts", "rotate", account["uuid"], "--expires", "30d", env=admin)
    assert rotate_never.returncode == 1
    assert "Token with no expiration date cannot be rotated" in rotate_never.stderr


def test_allowed_ranges_and_a_rotation_grace_from_the_cli(cli: Run, server: Server) -> None:
    admin = as_admin(server)
    created = parsed(
        cli(
            "service-accounts",
            "create",
            "--description",
            "Ranged bot",
            "--role",
            "viewer",
            "--expires",
            "30d",
            "--allowed-ip-range",
            "127.0.0.1",  # the tests talk from here
            "--allowed-ip-range",
            "2001:db8::/32",
            "--json",
            env=admin,
        )
    )
    assert created["allowedIpRanges"] == ["127.0.0.1/32", "2001:db8::/32"]
    as_bot = {"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": created["token"]}
    ok(cli("whoami", env=as_bot))

    moved = ok(
        cli(
            "service-accounts",
            "edit",
            "Ranged bot",
            "--allowed-ip-range",
            "203.0.113.0/24",
            env=admin,
        )
    )
    assert "Allowed from" in moved.stdout and "203.0.113.0/24" in moved.stdout
    assert cli("whoami", env=as_bot).returncode == 1  # 127.0.0.1 is outside now
    bad = cli(
        "service-accounts", "edit", "Ranged bot", "--allowed-ip-range", "10.0.0.0/33", env=admin
    )
    assert bad.returncode == 1 and "'10.0.0.0/33' is not an IPv4 or IPv6" in bad.stderr
    cleared = parsed(cli("service-accounts", "edit", "Ranged bot", "--any-ip", "--json", env=admin))
    assert cleared["allowedIpRanges"] == []
    ok(cli("whoami", env=as_bot))

    rotated = ok(
        cli(
            "service-accounts",
            "rotate",
            "Ranged bot",
            "--expires",
            "30d",
            "--grace-period-minutes",
            "60",
            env=admin,
        )
    )
    assert "Previous token works until" in rotated.stdout
    ok(cli("whoami", env=as_bot))  # the old token, within its grace
    too_long = cli(
        "service-accounts",
        "rotate",
        "Ranged bot",
        "--expires",
        "30d",
        "--grace-period-minutes",
        "1441",
        env=admin,
    )
    assert too_long.returncode == 2


def test_service_account_lifecycle(cli: Run, server: Server) -> None:
    admin = as_admin(server)
    created = parsed(
        cli(
            "service-accounts",
            "create",
            "--description",
            "Project bot",
            "--project",
            f"{server.project_uuid}:editor",
            "--expires",
            "2031-05-06",
            "--json",
            env=admin,
        )
    )
    token = created["token"]
    assert created["expiresAt"] == "2031-05-06T00:00:00.000Z"  # a date is midnight UTC
    assert created["scopes"] == ["system:member"]

    grants = parsed(cli("service-accounts", "projects", "Project bot", "--json", env=admin))
    assert grants == [
        {"projectUuid": server.project_uuid, "projectName": "Analytics", "role": "editor"}
    ]
    assert "Analytics" in ok(cli("service-accounts", "projects", created["uuid"], env=admin)).stdout

    listed = parsed(cli("service-accounts", "list", "--json", env=admin))
    mine = next(a for a in listed if a["uuid"] == created["uuid"])
    assert mine["projectAccessCount"] == 1 and "token" not in mine
    table = ok(cli("service-accounts", "list", env=admin)).stdout
    assert "Project bot" in table and "1 project" in table

    role = server.post(
        f"/v2/orgs/{server.organization_uuid}/roles",
        {"name": "Content reader", "description": "reads", "scopes": ["view:Project"]},
    )
    edited = parsed(
        cli(
            "service-accounts",
            "edit",
            "Project bot",
            "--custom-role",
            "content reader",
            "--json",
            env=admin,
        )
    )
    assert edited["roleUuid"] == role["roleUuid"] and edited["scopes"] == []
    assert "custom role Content reader" in ok(cli("service-accounts", "list", env=admin)).stdout

    renamed = parsed(
        cli(
            "service-accounts",
            "edit",
            created["uuid"],
            "--description",
            "Renamed bot",
            "--role",
            "viewer",
            "--json",
            env=admin,
        )
    )
    assert renamed["description"] == "Renamed bot" and renamed["scopes"] == ["system:viewer"]

    refused = cli("service-accounts", "delete", "Renamed bot", env=admin | {"CI": "true"})
    assert refused.returncode == 2 and "--yes" in refused.stderr
    deleted = parsed(cli("service-accounts", "delete", "Renamed bot", "--yes", "--json", env=admin))
    assert deleted["deleted"]["uuid"] == created["uuid"]
    gone = cli("whoami", env={"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": token})
    assert gone.returncode == 1
    missing = cli("service-accounts", "delete", "Renamed bot", "--yes", env=admin)
    assert missing.returncode == 1 and "No service account" in missing.stderr

    # Tokens appear only in the create/rotate output: never in the server's log.
    assert token not in server.log.read_text()
    assert server.pat not in server.log.read_text()


# -- deploy ------------------------------------------------------------------------


def test_deploy_the_jaffle_shop_manifest(cli: Run, server: Server, tmp_path: Path) -> None:
    project = server.post("/v1/org/projects", {"name": "Deploy target", "type": "DEFAULT"})[
        "project"
    ]
    # As docs/cli.md's GitHub Actions job: a project-scoped developer, environment only.
    grant = f"{project['projectUuid']}:developer"
    token = create_sa(cli, server, "--description", "dbt deploy", "--project", grant)
    env = {
        "LIGHTDASH_URL": server.url,
        "LIGHTDASH_API_KEY": token,
        "LIGHTDASH_PROJECT": project["projectUuid"],
        "CI": "true",
    }
    result = ok(cli("deploy", "--manifest", str(JAFFLE_MANIFEST), env=env))
    assert "Deployed 22 explores" in result.stdout
    assert re.search(r"22\s+341\s+80\s+43\s+1\s+0", result.stdout), result.stdout
    assert "unknown key 'relatiosnship' ignored" in result.stderr  # warnings are shown

    expected = {e["name"]: e for e in convert_manifest(load_manifest(JAFFLE_MANIFEST)).explores}
    nodes = load_manifest(JAFFLE_MANIFEST)["nodes"].values()
    models = {n["name"] for n in nodes if n["resource_type"] == "model"}
    summaries = server.get(f"/v1/projects/{project['projectUuid']}/explores", token)
    assert {s["name"] for s in summaries} == models == set(expected)
    assert len(models) == 22
    metrics = joins = 0
    for name, explore in expected.items():
        stored = server.get(f"/v1/projects/{project['projectUuid']}/explores/{name}", token)
        base = stored["tables"][stored["baseTable"]]
        assert set(base["metrics"]) == set(explore["tables"][explore["baseTable"]]["metrics"])
        assert [j["table"] for j in stored["joinedTables"]] == [
            j["table"] for j in explore["joinedTables"]
        ]
        metrics += len(base["metrics"])
        joins += len(stored["joinedTables"])
    assert (metrics, joins) == (80, 43)
    assert (
        len(
            server.get(f"/v1/projects/{project['projectUuid']}/explores/orders", token)["tables"][
                "orders"
            ]["metrics"]
        )
        > 0
    )

    again = parsed(cli("deploy", "--manifest", str(JAFFLE_MANIFEST), "--json", env=env))
    assert again["deployed"] == 22 and again["summary"]["metrics"] == 80
    assert again["project"] == {
        "projectUuid": project["projectUuid"],
        "name": None,  # not known in env-only mode
        "created": False,
    }
    assert len(again["warnings"]) == 1 and again["errors"] == {}

    # The same job then uploads the content kept in the repository.
    make_content(server, project["projectUuid"])
    folder = tmp_path / "repo" / "lightdash"
    ok(cli("download", "--path", str(folder), env=env))
    uploaded = parsed(cli("upload", "--path", str(folder), "--force", "--json", env=env))
    assert {f["result"] for f in uploaded["files"]} == {"unchanged"}
    assert len(uploaded["files"]) == 2


def test_deploy_create_makes_a_project_named_after_the_dbt_project(
    cli: Run, server: Server
) -> None:
    admin = as_admin(server)
    created = parsed(
        cli("deploy", "--manifest", str(JAFFLE_MANIFEST), "--create", "--json", env=admin)
    )
    assert created["project"]["created"] is True
    assert created["project"]["name"] == "jaffle_shop"
    uuid_ = created["project"]["projectUuid"]
    assert {p["projectUuid"]: p["name"] for p in server.get("/v1/org/projects")}[uuid_] == (
        "jaffle_shop"
    )
    assert len(server.get(f"/v1/projects/{uuid_}/explores")) == 22

    named = parsed(
        cli(
            "deploy",
            "--manifest",
            str(JAFFLE_MANIFEST),
            "--create",
            "--project-name",
            "Jaffle prod",
            "--json",
            env=admin,
        )
    )
    assert named["project"]["name"] == "Jaffle prod"
    both = cli(
        "deploy", "--manifest", str(JAFFLE_MANIFEST), "--create", "--project", uuid_, env=admin
    )
    assert both.returncode == 2


def test_deploy_reports_models_with_errors_and_deploys_the_rest(
    cli: Run, server: Server, tmp_path: Path
) -> None:
    def model(name: str, meta: dict[str, Any]) -> dict[str, Any]:
        return {
            "resource_type": "model",
            "name": name,
            "unique_id": f"model.shop.{name}",
            "database": "db",
            "schema": "public",
            "relation_name": f'"db"."public"."{name}"',
            "meta": meta,
            "columns": {"id": {"name": "id", "data_type": "integer", "meta": {}}},
        }

    manifest = {
        "metadata": {"project_name": "shop", "adapter_type": "postgres"},
        "nodes": {
            "model.shop.good": model("good", {"metrics": {"n": {"type": "count", "sql": "id"}}}),
            "model.shop.broken": model("broken", {"metrics": {"n": {"sql": "id"}}}),
        },
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    project = server.post("/v1/org/projects", {"name": "Partial", "type": "DEFAULT"})["project"]
    env = as_admin(server, LIGHTDASH_PROJECT=project["projectUuid"])
    result = cli("deploy", "--manifest", str(path), env=env)
    assert result.returncode == 1
    assert "broken" in result.stderr
    assert "Deployed 1 explores" in result.stdout
    names = [e["name"] for e in server.get(f"/v1/projects/{project['projectUuid']}/explores")]
    assert names == ["good"]

    as_json = cli("deploy", "--manifest", str(path), "--json", env=env)
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)  # one document, which says what went wrong
    assert document["deployed"] == 1 and list(document["errors"]) == ["broken"]

    explores = tmp_path / "explores.json"
    explores.write_text(json.dumps({"explores": [document_explore("from_file")]}))
    ok(cli("deploy", "--explores", str(explores), env=env))
    names = [e["name"] for e in server.get(f"/v1/projects/{project['projectUuid']}/explores")]
    assert names == ["from_file"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli("deploy", "--explores", str(bad), env=env).returncode == 1


def document_explore(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "baseTable": name,
        "tags": [],
        "joinedTables": [],
        "tables": {
            name: {
                "name": name,
                "label": name,
                "sqlTable": f'"db"."public"."{name}"',
                "dimensions": {},
                "metrics": {},
            }
        },
    }


# -- content as code ---------------------------------------------------------------


def make_content(server: Server, project_uuid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    space = server.post(f"/v1/projects/{project_uuid}/spaces", {"name": "Sales"})
    chart = server.post(
        f"/v1/projects/{project_uuid}/saved",
        {
            "name": "Orders by month",
            "description": "Monthly orders.\nExcludes returns.",
            "spaceUuid": space["uuid"],
            "tableName": "orders",
            "metricQuery": {
                "exploreName": "orders",
                "dimensions": ["orders_order_date_month"],
                "metrics": ["orders_total_order_amount"],
                "filters": {
                    "dimensions": {
                        "id": "f1",
                        "and": [
                            {
                                "target": {"fieldId": "orders_country"},
                                "operator": "equals",
                                "values": ["NO", "2026-01-01", "yes"],
                            }
                        ],
                    }
                },
                "limit": 500,
            },
            "chartConfig": {"type": "cartesian", "config": {"layout": {"flipAxes": False}}},
        },
    )
    dashboard = server.post(
        f"/v1/projects/{project_uuid}/dashboards",
        {
            "name": "Sales overview",
            "spaceUuid": space["uuid"],
            "tiles": [
                {
                    "type": "saved_chart",
                    "x": 0,
                    "y": 0,
                    "h": 3,
                    "w": 6,
                    "properties": {"savedChartUuid": chart["uuid"], "title": "Orders"},
                },
                {
                    "type": "markdown",
                    "x": 6,
                    "y": 0,
                    "h": 3,
                    "w": 6,
                    "properties": {"title": "Notes", "content": "# Hello\nworld"},
                },
            ],
        },
    )
    return chart, dashboard


def without_downloaded_at(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if "downloadedAt" not in line)


def test_download_edit_upload_round_trip(cli: Run, server: Server, tmp_path: Path) -> None:
    project = server.post("/v1/org/projects", {"name": "Content", "type": "DEFAULT"})["project"]
    p = project["projectUuid"]
    chart, dashboard = make_content(server, p)
    env = as_admin(server, LIGHTDASH_PROJECT=p)
    folder = tmp_path / "content"

    downloaded = parsed(cli("download", "--path", str(folder), "--json", env=env))
    assert downloaded["counts"] == {"charts": 1, "dashboards": 1}
    chart_file = folder / "charts" / f"{chart['slug']}.yml"
    dashboard_file = folder / "dashboards" / f"{dashboard['slug']}.yml"
    assert chart_file.is_file() and dashboard_file.is_file()
    document = yaml.safe_load(chart_file.read_text())
    assert list(document)[:9] == [
        "version",
        "name",
        "description",
        "slug",
        "spaceSlug",
        "tableName",
        "metricQuery",
        "chartConfig",
        "tableConfig",
    ]
    assert document["metricQuery"]["filters"]["dimensions"]["and"][0]["values"] == [
        "NO",
        "2026-01-01",
        "yes",
    ]
    assert "description: |" in chart_file.read_text()  # readable multi-line text
    tiles = yaml.safe_load(dashboard_file.read_text())["tiles"]
    assert tiles[0]["properties"]["chartSlug"] == chart["slug"]

    before = without_downloaded_at(chart_file)
    ok(cli("download", "--path", str(folder), env=env))
    assert without_downloaded_at(chart_file) == before  # stable, byte for byte

    # Nothing edited: nothing sent.
    untouched = parsed(cli("upload", "--path", str(folder), "--json", env=env))
    assert {f["result"] for f in untouched["files"]} == {"unchanged"}

    # Edit the chart; add a new one by copying it under another slug; the dashboard untouched.
    chart_file.write_text(chart_file.read_text().replace("Orders by month", "Orders per month"))
    copy = chart_file.read_text().replace(f"slug: {chart['slug']}", "slug: orders-copy")
    (folder / "charts" / "orders-copy.yml").write_text(copy)
    uploaded = parsed(cli("upload", "--path", str(folder), "--json", env=env))
    results = {(f["kind"], f["slug"]): f["result"] for f in uploaded["files"]}
    assert results == {
        ("chart", chart["slug"]): "updated",
        ("chart", "orders-copy"): "created",
        ("dashboard", dashboard["slug"]): "unchanged",
    }
    assert uploaded["counts"]["charts"] == {"created": 1, "updated": 1, "unchanged": 0, "failed": 0}
    charts = {c["slug"]: c for c in server.get(f"/v1/projects/{p}/charts")}
    assert charts[chart["slug"]]["name"] == "Orders per month"
    assert charts["orders-copy"]["name"] == "Orders per month"

    text = ok(cli("upload", "--path", str(folder), env=env)).stdout
    assert "Charts: 0 created, 0 updated, 2 unchanged, 0 failed" in text

    # An edit made in the web app is not reverted by an untouched file, unless --force.
    with server.api() as api:
        response = api.patch(f"/v1/dashboards/{dashboard['uuid']}", json={"name": "Edited in UI"})
        assert response.status_code == 200, response.text
    ok(cli("upload", "--path", str(folder), env=env))
    assert server.get(f"/v1/dashboards/{dashboard['uuid']}")["name"] == "Edited in UI"
    forced = parsed(cli("upload", "--path", str(folder), "--force", "--json", env=env))
    assert {(f["kind"], f["result"]) for f in forced["files"]} == {
        ("chart", "unchanged"),
        ("dashboard", "updated"),
    }
    assert server.get(f"/v1/dashboards/{dashboard['uuid']}")["name"] == "Sales overview"

    # Into another project: the slugs do not exist there, so everything is created.
    other = server.post("/v1/org/projects", {"name": "Content copy", "type": "DEFAULT"})["project"]
    promoted = parsed(
        cli("upload", "--path", str(folder), "--project", other["projectUuid"], "--json", env=env)
    )
    assert {f["result"] for f in promoted["files"]} == {"created"}
    assert [d["slug"] for d in server.get(f"/v1/projects/{other['projectUuid']}/dashboards")] == [
        dashboard["slug"]
    ]

    # A broken file fails alone; the rest is still uploaded.
    (folder / "dashboards" / "broken.yml").write_text("name: [unclosed\n")
    shutil.copy(folder / "charts" / "orders-copy.yml", folder / "charts" / "third.yml")
    (folder / "charts" / "third.yml").write_text(
        (folder / "charts" / "third.yml").read_text().replace("slug: orders-copy", "slug: third")
    )
    partial = cli("upload", "--path", str(folder), "--json", env=env)
    assert partial.returncode == 1
    document = json.loads(partial.stdout)
    by_file = {Path(f["file"]).name: f for f in document["files"]}
    assert by_file["broken.yml"]["result"] == "failed"
    assert "not valid YAML" in by_file["broken.yml"]["detail"]
    assert by_file["third.yml"]["result"] == "created"


def test_download_filters_and_missing_ids(cli: Run, server: Server, tmp_path: Path) -> None:
    project = server.post("/v1/org/projects", {"name": "Filtered", "type": "DEFAULT"})["project"]
    p = project["projectUuid"]
    chart, dashboard = make_content(server, p)
    env = as_admin(server, LIGHTDASH_PROJECT=p)

    only_charts = tmp_path / "charts-only"
    ok(cli("download", "--charts", chart["slug"], "--path", str(only_charts), env=env))
    assert [f.name for f in (only_charts / "charts").iterdir()] == [f"{chart['slug']}.yml"]
    assert not (only_charts / "dashboards").exists()

    by_dashboard = tmp_path / "dashboard"
    url = f"{server.url}/projects/{p}/dashboards/{dashboard['uuid']}/view"
    ok(cli("download", "--dashboards", url, "--path", str(by_dashboard), env=env))
    assert (by_dashboard / "dashboards" / f"{dashboard['slug']}.yml").is_file()
    assert (by_dashboard / "charts" / f"{chart['slug']}.yml").is_file()  # the chart it shows

    missing = cli(
        "download",
        "--charts",
        f"{chart['slug']},no-such-chart",
        "--path",
        str(tmp_path / "m"),
        "--json",
        env=env,
    )
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["missing"]["charts"] == ["no-such-chart"]


def test_download_pages_through_more_than_100_charts(
    cli: Run, server: Server, tmp_path: Path
) -> None:
    project = server.post("/v1/org/projects", {"name": "Many", "type": "DEFAULT"})["project"]
    p = project["projectUuid"]
    space = server.post(f"/v1/projects/{p}/spaces", {"name": "Bulk"})
    with server.api() as api:
        for i in range(105):
            body = {"name": f"Chart {i:03}", "spaceUuid": space["uuid"], "tableName": "orders"}
            assert api.post(f"/v1/projects/{p}/saved", json=body).status_code == 200
    folder = tmp_path / "many"
    result = parsed(
        cli("download", "--path", str(folder), "--json", env=as_admin(server, LIGHTDASH_PROJECT=p))
    )
    assert result["counts"]["charts"] == 105
    assert len(list((folder / "charts").glob("*.yml"))) == 105


# -- output ------------------------------------------------------------------------


def test_every_command_has_json_output(cli: Run, server: Server, tmp_path: Path) -> None:
    admin = as_admin(server, LIGHTDASH_PROJECT=server.project_uuid)
    for args in (
        ("whoami",),
        ("service-accounts", "list"),
        ("download", "--path", str(tmp_path / "json")),
        ("login", server.url, "--token", server.pat),
        ("config", "set-project", "--uuid", server.project_uuid),
    ):
        parsed(cli(*args, "--json", env=admin))
    error = cli("whoami", "--json", env={"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": "bad"})
    assert error.returncode == 1
    assert json.loads(error.stdout)["error"]["statusCode"] == 401


def test_shell_completion_is_available(cli: Run, home: Path) -> None:
    # Otherwise Typer ignores the shell named and guesses one from the parent processes,
    # which fails under an xdist worker ("Shell  not supported."); this switch is Typer's own.
    bash = {"SHELL": "/bin/bash", "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = ok(cli("--show-completion", "bash", env=bash))
    assert "_lightkeeper_completion" in shown.stdout.replace("-", "_")
    ok(cli("--install-completion", "bash", env=bash))
    assert (home / ".bash_completions" / "lightkeeper.sh").is_file()
