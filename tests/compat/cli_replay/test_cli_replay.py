"""The Lightdash CLI's request sequences, replayed in Node against a real server, on both databases.

The CLI itself cannot be installed here; `replay.js` rebuilds each command from its source
(shared/reference/lightdash-clients.md §1): node-fetch 2 as the HTTP client, the CLI's headers,
its config file, its handling of every answer (an error or a wrong shape fails the command as it
would fail the CLI), and its own CASL checks with @casl/ability. Only the local dbt compile is
replaced, by explores converted from the jaffle-shop manifest. One server per database for the
module, set up from LD_SETUP_* (an admin with a password and a personal token, an admin service
account, one project).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
import yaml

from lightkeeper.dbt_manifest import convert_manifest, load_manifest
from lightkeeper.kit.tokens import TokenKind, generate
from lightkeeper.models import Base
from tests.conftest import BACKENDS, _create_pg_database
from tests.servers import running_server, server_env
from tests.support import JAFFLE_MANIFEST, PASSWORD

HERE = Path(__file__).parent
NODE = shutil.which("node") or "node"
ADMIN_EMAIL = "admin@acme.example"
CLI_HEADERS = {"Content-Type", "Authorization", "Lightdash-Request-Method"}
# One worker runs the module (`make test` uses --dist loadgroup): one server per database.
pytestmark = pytest.mark.xdist_group("cli-replay")


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """`npm ci` once (under a lock: xdist workers share the folder) when node_modules is missing."""
    modules = HERE / "node_modules"
    with open(HERE / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / ".package-lock.json").exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=900
            )
    return modules


@dataclass
class Replay:
    url: str
    pat: str
    sa_token: str
    project_uuid: str
    root: Path
    database_url: str

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        response = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"ApiKey {token or self.pat}"},
            timeout=60,
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["results"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replay]:
    root = tmp_path_factory.mktemp(f"cli-replay-{request.param}")
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'lightkeeper.db'}"
    else:
        url, drop = _create_pg_database()
    pat, sa_token = generate(TokenKind.PERSONAL), generate(TokenKind.SERVICE_ACCOUNT)
    env = server_env(
        root / "server",
        url,
        LD_SETUP_ORGANIZATION_NAME="Acme",
        LD_SETUP_ADMIN_EMAIL=ADMIN_EMAIL,
        LD_SETUP_ADMIN_PASSWORD=PASSWORD,
        LD_SETUP_ADMIN_API_KEY=pat,
        LD_SETUP_SERVICE_ACCOUNT_TOKEN=sa_token,
        LD_SETUP_PROJECT_NAME="Jaffle shop",
    )
    try:
        with running_server(env) as running:
            projects = httpx.get(
                f"{running.url}/api/v1/org/projects", headers={"Authorization": f"ApiKey {pat}"}
            ).json()["results"]
            yield Replay(running.url, pat, sa_token, projects[0]["projectUuid"], root, url)
    finally:
        if drop is not None:
            drop()


@pytest.fixture(scope="module")
def explores_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `dbt compile` + the CLI's conversion would hand to deploy: the jaffle-shop explores."""
    path = tmp_path_factory.mktemp("compiled") / "explores.json"
    path.write_text(json.dumps(convert_manifest(load_manifest(JAFFLE_MANIFEST)).explores))
    return path


@dataclass
class Outcome:
    code: int
    ok: bool
    result: Any
    error: str | None
    requests: list[dict[str, Any]]
    warnings: list[str]
    config: dict[str, Any]

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path'].split('?')[0]}" for r in self.requests]


@pytest.fixture
def cli(tmp_path: Path, node_modules: Path, explores_file: Path):  # type: ignore[no-untyped-def]
    """Run one replayed CLI command with its own HOME (and nothing of the developer's shell)."""
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LIGHTDASH_", "LD_", "REPLAY_")) and k != "CI"
        }
        proc = subprocess.run(
            [NODE, str(HERE / "replay.js"), *args],
            cwd=tmp_path,
            env=base | {"HOME": str(home), "REPLAY_EXPLORES": str(explores_file)} | (env or {}),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.stdout.strip(), proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        return Outcome(
            proc.returncode,
            out["ok"],
            out.get("result"),
            out.get("error"),
            out["requests"],
            out["warnings"],
            out.get("config") or {},
        )

    run.home = home  # type: ignore[attr-defined]
    return run


def ci_env(server: Replay, token: str | None = None, **extra: str) -> dict[str, str]:
    """The usual CI setup: no login, three variables."""
    return {
        "CI": "true",
        "LIGHTDASH_URL": server.url,
        "LIGHTDASH_API_KEY": token or server.sa_token,
        "LIGHTDASH_PROJECT": server.project_uuid,
        **extra,
    }


def assert_cli_headers(outcome: Outcome, token: str, method: str = "CLI_CI") -> None:
    scheme = "Bearer" if token.startswith("ldsvc_") else "ApiKey"
    for request in outcome.requests:
        headers = request["headers"]
        assert headers["Content-Type"] == "application/json", request
        assert headers["Authorization"] == f"{scheme} {token}", request
        assert headers["Lightdash-Request-Method"] == method, request


# -- login and project selection -------------------------------------------------------


def test_login_with_a_service_account_token(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("login", server.url, "--token", server.sa_token)
    assert out.ok, out.error
    me = server.api("GET", "/api/v1/user", token=server.sa_token)
    assert out.result["userUuid"] == me["userUuid"]
    assert out.result["organizationUuid"] == me["organizationUuid"]
    assert out.paths()[:2] == ["GET /api/v1/user", "GET /api/v1/org/projects"]
    assert_cli_headers(out, server.sa_token, method="CLI")
    assert set(out.requests[0]["headers"]) == CLI_HEADERS
    context = out.config["context"]
    assert context["serverUrl"] == server.url and context["apiKey"] == server.sa_token
    assert context["project"] == server.project_uuid and context["projectName"] == "Jaffle shop"
    config_file = cli.home / ".config" / "lightdash" / "config.yaml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert out.warnings == []


def test_ci_login_with_a_personal_token_picks_the_first_project(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("login", server.url, "--token", server.pat, env={"CI": "true"})
    assert out.ok, out.error
    assert out.paths()[:2] == ["GET /api/v1/user", "GET /api/v1/org/projects"]
    assert_cli_headers(out, server.pat)
    assert out.config["context"]["project"] == server.project_uuid

    chosen = cli("login", server.url, "--token", server.pat, "--project", server.project_uuid)
    assert chosen.ok and chosen.result["project"]["projectUuid"] == server.project_uuid


def test_set_project_by_uuid_and_by_name(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    env = ci_env(server)
    by_uuid = cli("set-project", "--uuid", server.project_uuid, env=env)
    assert by_uuid.ok, by_uuid.error
    assert by_uuid.paths() == ["GET /api/v1/org/projects"]
    assert_cli_headers(by_uuid, server.sa_token)
    by_name = cli("set-project", "--name", "Jaffle shop", env=env)
    assert by_name.ok and by_name.config["context"]["project"] == server.project_uuid


def test_email_login_mints_a_personal_token(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    out = cli(
        "login",
        server.url,
        env={"CI": "true", "LIGHTDASH_CLI_EMAIL": ADMIN_EMAIL, "LIGHTDASH_CLI_PASSWORD": PASSWORD},
    )
    assert out.ok, out.error
    token = out.config["context"]["apiKey"]
    assert token.startswith("ldpat_")
    assert out.paths()[:3] == [
        "POST /api/v1/login",
        "POST /api/v1/user/me/personal-access-tokens",
        "GET /api/v1/user",
    ]
    assert out.requests[2]["headers"]["Authorization"] == f"ApiKey {token}"
    tokens = server.api("GET", "/api/v1/user/me/personal-access-tokens", token=token)
    assert "Lightdash CLI" in {t["description"] for t in tokens}


# -- deploy --------------------------------------------------------------------------


def test_deploy_stores_tags_parameters_and_explores(
    server: Replay, cli, tmp_path: Path, explores_file: Path
) -> None:  # type: ignore[no-untyped-def]
    tags = tmp_path / "tags.json"
    tags.write_text(
        json.dumps([{"name": "Finance", "color": "#00ff00", "yamlReference": "finance"}])
    )
    parameters = tmp_path / "parameters.json"
    parameters.write_text(json.dumps({"region": {"label": "Region", "options": ["EU", "US"]}}))
    out = cli(
        "deploy",
        env=ci_env(
            server,
            LIGHTDASH_PROXY_AUTHORIZATION="Bearer proxyjwt",
            REPLAY_TAGS=str(tags),
            REPLAY_PARAMETERS=str(parameters),
        ),
    )
    assert out.ok, out.error
    assert out.warnings == []  # tags and parameters succeeded (the CLI only warns otherwise)
    p = server.project_uuid
    assert out.paths() == [
        "GET /api/v1/health",
        "GET /api/v1/user",
        "GET /api/v1/user",
        f"PUT /api/v1/projects/{p}/tags/yaml",
        f"PUT /api/v2/projects/{p}/parameters",
        f"PUT /api/v1/projects/{p}/explores",
        "GET /api/v1/user",
    ]
    assert_cli_headers(out, server.sa_token)
    assert all(r["headers"]["Proxy-Authorization"] == "Bearer proxyjwt" for r in out.requests)
    stored = server.api("GET", f"/api/v1/projects/{p}/tags")
    assert [(t["name"], t["yamlReference"]) for t in stored] == [("Finance", "finance")]
    assert server.api("GET", f"/api/v2/projects/{p}/parameters") == json.loads(
        parameters.read_text()
    )
    names = {e["name"] for e in server.api("GET", f"/api/v1/projects/{p}/explores")}
    assert names == {e["name"] for e in json.loads(explores_file.read_text())}


def test_batched_deploy(server: Replay, cli, explores_file: Path) -> None:  # type: ignore[no-untyped-def]
    explores = json.loads(explores_file.read_text())
    assert len(explores) >= 3
    out = cli(
        "deploy",
        "--use-batched-deploy",
        "--batch-size",
        "2",
        env=ci_env(server, REPLAY_GZIP="true"),
    )
    assert out.ok, out.error
    assert out.result["explores"] == len(explores)
    assert out.result["batches"] == (len(explores) + 1) // 2
    session = out.result["session"]
    p = server.project_uuid
    batched = [x for x in out.paths() if "/deploy" in x]
    assert batched == [
        f"POST /api/v2/projects/{p}/deploy",
        *[f"POST /api/v2/projects/{p}/deploy/{session}/batch"] * out.result["batches"],
        f"POST /api/v2/projects/{p}/deploy/{session}/finalize",
    ]
    assert any(r["gzipped"] for r in out.requests if r["path"].endswith("/batch"))
    names = {e["name"] for e in server.api("GET", f"/api/v1/projects/{p}/explores")}
    assert names == {e["name"] for e in explores}


def test_deploy_create_checks_abilities_then_creates(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("deploy", "--create", "Replayed shop", env=ci_env(server))
    assert out.ok, out.error
    created = out.result["created"]
    new = created["project"]["projectUuid"]
    assert created["hasContentCopy"] is False
    paths = out.paths()
    assert paths.index("GET /api/v1/user") < paths.index("POST /api/v1/org/projects")
    assert f"PUT /api/v1/projects/{new}/explores" in paths
    listed = {p["projectUuid"]: p["name"] for p in server.api("GET", "/api/v1/org/projects")}
    assert listed[new] == "Replayed shop"
    server.api("DELETE", f"/api/v1/org/projects/{new}")

    # A viewer's abilityRules do not grant `create Project`: the CLI refuses before asking.
    viewer = server.api(
        "POST",
        "/api/v1/service-accounts",
        {"description": "viewer bot", "expiresAt": None, "scopes": ["org:read"]},
    )["token"]
    refused = cli("deploy", "--create", "Nope", env=ci_env(server, token=viewer))
    assert not refused.ok and refused.error.startswith("Error: You don't have permission")
    assert "POST /api/v1/org/projects" not in refused.paths()


# -- validate ------------------------------------------------------------------------


def test_validate_reports_content_with_missing_fields(
    server: Replay, cli, explores_file: Path
) -> None:  # type: ignore[no-untyped-def]
    # A project of its own: what other tests leave in the setup project cannot interfere.
    p = server.api("POST", "/api/v1/org/projects", {"name": "Validation"})["project"]["projectUuid"]
    env = ci_env(server, LIGHTDASH_PROJECT=p)
    explores = json.loads(explores_file.read_text())
    explore = next(e for e in explores if e.get("tables"))
    table, fields = next(
        (t, body) for t, body in explore["tables"].items() if body.get("dimensions")
    )
    field_id = f"{table}_{next(iter(fields['dimensions']))}"
    space = server.api("POST", f"/api/v1/projects/{p}/spaces", {"name": "Validation"})["uuid"]
    good = {
        "name": "Good",
        "spaceUuid": space,
        "tableName": explore["name"],
        "metricQuery": {"dimensions": [field_id]},
    }
    server.api("POST", f"/api/v1/projects/{p}/saved", good)
    clean = cli("validate", "--only", "charts,dashboards", env=env)
    assert clean.ok and clean.code == 0, clean.error
    assert clean.result["errors"] == []
    assert [x for x in clean.paths() if "validate" in x or "schedulers" in x] == [
        f"POST /api/v1/projects/{p}/validate",
        f"GET /api/v1/schedulers/job/{clean.result['jobId']}/status",
        f"GET /api/v1/projects/{p}/validate",
    ]

    broken = {**good, "name": "Broken", "metricQuery": {"dimensions": [field_id, f"{table}_gone"]}}
    chart = server.api("POST", f"/api/v1/projects/{p}/saved", broken)["uuid"]
    failing = cli("validate", env=env)
    assert failing.code == 1 and not failing.ok
    [finding] = failing.result["errors"]
    assert finding["chartUuid"] == chart and finding["source"] == "chart"
    assert finding["fieldName"] == f"{table}_gone"
    server.api("DELETE", f"/api/v1/org/projects/{p}")


# -- previews ------------------------------------------------------------------------


def test_preview_start_reuse_and_stop(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    env = ci_env(server)
    started = cli("start-preview", "--name", "PR 12", "--expires-in-hours", "24", env=env)
    assert started.ok, started.error
    preview = started.result["previewUuid"]
    assert started.paths()[1] == "GET /api/v1/org/projects/"  # the CLI's trailing slash
    assert "POST /api/v1/org/projects" in started.paths()
    assert "GET /api/v1/schedulers/job" in " ".join(started.paths())  # the content copy job
    assert started.config["context"]["previewProject"] == preview
    listed = {p["projectUuid"]: p for p in server.api("GET", "/api/v1/org/projects")}
    assert listed[preview]["type"] == "PREVIEW"
    assert listed[preview]["upstreamProjectUuid"] == server.project_uuid
    assert server.api("GET", f"/api/v1/projects/{preview}/explores")

    again = cli("start-preview", "--name", "PR 12", "--expires-in-hours", "48", env=env)
    assert again.ok and again.result["reused"] is True, again.error
    assert again.result["previewUuid"] == preview and again.result["expiresAt"].endswith("Z")
    assert f"PATCH /api/v1/projects/{preview}/preview-expiration" in again.paths()

    stopped = cli("stop-preview", "--name", "PR 12", env=env)
    assert stopped.ok, stopped.error
    assert f"DELETE /api/v1/org/projects/{preview}" in stopped.paths()
    assert preview not in {p["projectUuid"] for p in server.api("GET", "/api/v1/org/projects")}


# -- content as code -----------------------------------------------------------------


# Columns that record the use of a credential, which every request may touch.
USE_COLUMNS = {"last_used_at"}


def database_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the server's database (`last_used_at` aside), sorted."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = {}
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if c.name not in USE_COLUMNS]
                found = connection.execute(sqlalchemy.select(*columns)).tuples().all()
                rows[table.name] = sorted(tuple(found), key=repr)
            return rows
    finally:
        engine.dispose()


def content_files(folder: Path) -> dict[str, Any]:
    """The documents of a download by file name, without `downloadedAt` (the time of asking)."""
    documents = {}
    for path in sorted(folder.rglob("*.yml")):
        document = yaml.safe_load(path.read_text())
        document.pop("downloadedAt", None)
        documents[str(path.relative_to(folder))] = document
    return documents


def test_download_to_the_end_then_upload_round_trips(server: Replay, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = server.project_uuid
    space = server.api("POST", f"/api/v1/projects/{p}/spaces", {"name": "Round trip"})["uuid"]
    charts = [
        server.api(
            "POST",
            f"/api/v1/projects/{p}/saved",
            {
                "name": f"Chart {i:03d}",
                "spaceUuid": space,
                "tableName": "orders",
                "metricQuery": {"dimensions": ["orders_status"]},
            },
        )
        for i in range(101)  # more than one page of 100
    ]
    tiles = [
        {
            "type": "saved_chart",
            "x": 0,
            "y": 0,
            "h": 3,
            "w": 6,
            "properties": {"savedChartUuid": charts[0]["uuid"]},
        }
    ]
    server.api(
        "POST",
        f"/api/v1/projects/{p}/dashboards",
        {"name": "Overview", "spaceUuid": space, "tiles": tiles},
    )

    def server_state() -> Any:
        """Every document as the server holds it (`downloadedAt` is the time of asking)."""
        pages = [
            server.api("GET", f"/api/v1/projects/{p}/{kind}/code?offset={o}")
            for kind in ("charts", "dashboards")
            for o in (0, 100)
        ]
        for page in pages:
            for document in page.get("charts", []) + page.get("dashboards", []):
                document.pop("downloadedAt")
        return pages

    before = server_state()
    env = ci_env(server)
    folder = tmp_path / "lightdash"
    downloaded = cli("download", "--path", str(folder), env=env)
    assert downloaded.ok, downloaded.error
    total_charts = before[0]["total"]
    assert downloaded.result["counts"] == {
        "charts": total_charts,
        "dashboards": before[2]["total"],
        "sqlCharts": 0,
    }
    assert [x for x in downloaded.paths() if x.endswith("/charts/code")] == [
        f"GET /api/v1/projects/{p}/charts/code"
    ] * 2
    assert len(list((folder / "charts").glob("*.yml"))) == total_charts

    rows_before = database_rows(server.database_url)
    uploaded = cli("upload", "--force", "--path", str(folder), env=env)
    assert uploaded.ok, uploaded.error
    changes = uploaded.result["changes"]
    assert not any("errors" in key for key in changes), (changes, uploaded.warnings)
    assert (
        changes["charts skipped"] == total_charts
        and changes["dashboards skipped"] == before[2]["total"]
    )
    assert server_state() == before  # nothing changed on the server
    assert database_rows(server.database_url) == rows_before  # not a row, not a version
    # Downloading again gives the same files (the time of asking aside).
    again = tmp_path / "again"
    assert cli("download", "--path", str(again), env=env).ok
    assert content_files(again) == content_files(folder)

    # An edited file is uploaded without --force; untouched ones are skipped without a request.
    edited = folder / "charts" / f"{charts[5]['slug']}.yml"
    document = yaml.safe_load(edited.read_text())
    document["name"] = "Chart five, renamed"
    edited.write_text(yaml.safe_dump(document))
    a_minute_later = edited.stat().st_mtime + 60
    os.utime(edited, (a_minute_later, a_minute_later))
    later = cli("upload", "--path", str(folder), env=env)
    assert later.ok, later.error
    assert later.result["changes"]["charts updated"] == 1
    assert [x for x in later.paths() if x.startswith("POST")] == [
        f"POST /api/v1/projects/{p}/charts/{charts[5]['slug']}/code"
    ]
    assert server.api("GET", f"/api/v1/saved/{charts[5]['uuid']}")["name"] == "Chart five, renamed"


def test_a_project_scoped_developer_starts_a_preview(server: Replay, cli) -> None:  # type: ignore[no-untyped-def]
    """The CI setup of docs/cli.md: an SA that is developer on one project only."""
    token = server.api(
        "POST",
        "/api/v1/service-accounts",
        {
            "description": "preview bot",
            "expiresAt": None,
            "scopes": ["system:member"],
            "projectAccess": [{"projectUuid": server.project_uuid, "role": "developer"}],
        },
    )["token"]
    env = ci_env(server, token=token)
    started = cli("start-preview", "--name", "PR 7", env=env)
    assert started.ok, started.error
    assert_cli_headers(started, token)
    stopped = cli("stop-preview", "--name", "PR 7", env=env)
    assert stopped.ok, stopped.error
