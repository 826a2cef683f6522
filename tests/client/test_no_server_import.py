"""The API client runs without loading the server (issue 10 § 5).

Each case runs the `lightkeeper` entry point in a fresh interpreter and lists the modules it
loaded. The modules that must stay out are the ones the import-linter contract in
pyproject.toml forbids to `lightkeeper.client` (one list for the static and the run-time check),
less `lightkeeper.cli`, which the entry point is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers import server_env

ROOT = Path(__file__).resolve().parents[2]
SA = "ldsvc_" + "a" * 38
PROJECT_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

# Runs the entry point with the given arguments, then writes the loaded modules to a file
# (in `finally`: Typer ends every command with SystemExit). HIDDEN_MODULES act as not installed.
DRIVER = """
import json, os, sys
for name in filter(None, os.environ.get("HIDDEN_MODULES", "").split(",")):
    sys.modules[name] = None
from lightkeeper.cli.main import app
try:
    app(args=sys.argv[2:], prog_name="lightkeeper")
finally:
    with open(sys.argv[1], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def server_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "client-without-server"
    ]
    return [m for m in contract["forbidden_modules"] if m != "lightkeeper.cli"]


def loaded(name: str, modules: list[str]) -> list[str]:
    return [m for m in modules if m == name or m.startswith(name + ".")]


def run_lightkeeper(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    listing = tmp_path / "modules.json"
    environment = env or {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(listing), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    return result, json.loads(listing.read_text())


class StubApi(BaseHTTPRequestHandler):
    """Just enough of the API for `whoami` and `deploy`."""

    answers: dict[tuple[str, str], Any] = {
        ("GET", "/api/v1/user"): {
            "userUuid": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
            "firstName": "ci-deployer",
            "isServiceAccount": True,
            "serviceAccountUuid": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
            "organizationUuid": "6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b",
            "organizationName": "Acme",
            "role": "developer",
        },
        ("GET", "/api/v1/org/projects"): [
            {"projectUuid": PROJECT_UUID, "name": "Analytics", "type": "DEFAULT"}
        ],
        ("PUT", f"/api/v1/projects/{PROJECT_UUID}/explores"): {"explores": 1},
    }

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        key = (self.command, self.path)
        status, body = (
            (200, {"status": "ok", "results": self.answers[key]})
            if key in self.answers
            else (404, {"status": "error", "error": {"statusCode": 404, "message": "stub"}})
        )
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    do_GET = do_PUT = answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def client_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "LIGHTDASH_URL": url,
        "LIGHTDASH_API_KEY": SA,
        "LIGHTDASH_PROJECT": PROJECT_UUID,
        "CI": "true",
    }


def test_a_server_command_loads_what_this_test_looks_for(tmp_path: Path) -> None:
    # Proves the listing would show a server module: `db current` opens the database.
    result, modules = run_lightkeeper(tmp_path, "db", "current", env=server_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "empty" in result.stdout
    for name in ("lightkeeper.config", "lightkeeper.db", "sqlalchemy", "pydantic_settings"):
        assert loaded(name, modules), name


@pytest.mark.parametrize(
    "args",
    [("--help",), ("whoami", "--help"), ("login", "--help"), ("deploy", "--help")],
    ids=lambda args: " ".join(args),
)
def test_help_loads_no_server_module(tmp_path: Path, args: tuple[str, ...]) -> None:
    result, modules = run_lightkeeper(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Usage: lightkeeper" in result.stdout
    assert {name: loaded(name, modules) for name in server_modules()} == {
        name: [] for name in server_modules()
    }


def test_client_commands_against_a_server_load_no_server_module(
    tmp_path: Path, stub_url: str
) -> None:
    env = client_env(tmp_path, stub_url)
    whoami, modules = run_lightkeeper(tmp_path, "whoami", "--json", env=env)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["organizationName"] == "Acme"

    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "metadata": {"adapter_type": "postgres", "project_name": "shop"},
                "nodes": {
                    "model.shop.orders": {
                        "unique_id": "model.shop.orders",
                        "resource_type": "model",
                        "name": "orders",
                        "database": "db",
                        "schema": "analytics",
                        "relation_name": '"db"."analytics"."orders"',
                        "meta": {},
                        "config": {"meta": {}},
                        "columns": {"id": {"name": "id", "meta": {}, "data_type": "integer"}},
                    }
                },
            }
        )
    )
    deploy, deploy_modules = run_lightkeeper(
        tmp_path, "deploy", "--manifest", str(manifest), "--json", env=env
    )
    assert deploy.returncode == 0, deploy.stderr
    assert json.loads(deploy.stdout)["deployed"] == 1
    # deploy loads the dbt converter, the largest client module: it pulls no server either.
    assert loaded("lightkeeper.dbt_manifest", deploy_modules)

    for listing in (modules, deploy_modules):
        assert {name: loaded(name, listing) for name in server_modules()} == {
            name: [] for name in server_modules()
        }


def test_a_server_command_without_the_server_packages_says_what_to_install(
    tmp_path: Path,
) -> None:
    # What `pip install lightkeeper` (the client alone, no `server` extra) gives.
    env = server_env(tmp_path, HIDDEN_MODULES="alembic,sqlalchemy,uvicorn,fastapi")
    for command in (("db", "current"), ("serve",)):
        result, _ = run_lightkeeper(tmp_path, *command, env=env)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "pip install 'lightkeeper[server]'" in result.stderr
        assert "is not installed" in result.stderr
