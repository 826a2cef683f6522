"""The request path against a bare FastAPI handler: figures, not assertions.

Each figure is a ratio to a bare FastAPI `async def` returning a constant
(tests/bench/bare.py), started with the same uvicorn in the same run, so that
load from elsewhere on a shared machine falls on both alike. Every endpoint is
measured on SQLite and on PostgreSQL with one worker; on PostgreSQL the
database-backed list is measured again with `--workers 2`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lightkeeper.kit.tokens import TokenKind, generate
from tests.servers import free_port, running_server, server_env


@dataclass(frozen=True)
class Load:
    """One wrk run: requests per second and latency percentiles (milliseconds)."""

    rps: float
    p50_ms: float
    p99_ms: float


_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(url: str, headers: dict[str, str], script: Path | None = None) -> Load:
    args = ["wrk", "-t2", "-c16", f"-d{WRK_SECONDS}s", "--latency"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw error responses from {url}: {out}")

    def percentile(name: str) -> float:
        match = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
        assert match, out
        return float(match.group(1)) * _UNIT_MS[match.group(2)]

    return Load(float(rps.group(1)), percentile("50"), percentile("99"))


WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "8"))
WRITE_SCRIPT = Path(__file__).with_name("write.lua")
CEILING_APP = "tests.bench.ceiling:create_app"
ROWS = 50

# (name, goal as a ratio to the bare handler, database restriction)
GOALS: dict[str, float] = {
    "health": 0.60,
    "user": 0.50,
    "projects": 0.35,
    "spaces": 0.35,
    "write": 0.20,
}
LABELS = {
    "health": "GET /api/v1/health",
    "user": "GET /api/v1/user (service account)",
    "projects": f"GET /api/v1/org/projects ({ROWS} rows)",
    "spaces": f"GET /api/v1/projects/{{p}}/spaces ({ROWS} rows)",
    "write": "POST then DELETE /api/v1/projects/{p}/spaces",
}


@dataclass
class DatabaseRun:
    """One database's figures; each endpoint is paired with a bare run taken just before it."""

    label: str
    endpoints: dict[str, Load] = field(default_factory=dict)
    bares: dict[str, Load] = field(default_factory=dict)  # endpoint -> the bare run before it
    # An endpoint's database work alone (tests/bench/ceiling.py), each after a bare run of its own.
    ceilings: dict[str, Load] = field(default_factory=dict)
    ceiling_bares: dict[str, Load] = field(default_factory=dict)
    one_worker: Load | None = None  # the projects list, one worker, just before two_workers
    two_workers: Load | None = None  # the projects list with --workers 2 (PostgreSQL)

    @property
    def bare(self) -> Load:
        """The median bare run (the table's bare row)."""
        runs = sorted(self.bares.values(), key=lambda load: load.rps)
        return runs[len(runs) // 2]

    def ratio(self, name: str) -> float:
        return self.endpoints[name].rps / self.bares[name].rps

    def ceiling_ratio(self, name: str) -> float:
        return self.ceilings[name].rps / self.ceiling_bares[name].rps


@contextmanager
def bare_server(app: str = "tests.bench.bare:create_app", **env: str) -> Iterator[str]:
    """The bare handler (or another app factory answering `/`) under `uvicorn --factory`, as
    `lightkeeper serve` runs the app."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--no-access-log",
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def lightkeeper_server(database_url: str, token: str, *args: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(
            Path(tmp),
            database_url,
            LOG_LEVEL="error",
            LD_SETUP_ORGANIZATION_NAME="Bench",
            LD_SETUP_ADMIN_EMAIL="admin@bench.example",
            LD_SETUP_SERVICE_ACCOUNT_TOKEN=token,
            LD_SETUP_SERVICE_ACCOUNT_EXPIRATION="0",
        )
        with running_server(env, *args, timeout=180) as running:
            yield running.url


def seed(base: str, headers: dict[str, str]) -> tuple[str, str]:
    """ROWS projects in the organization, ROWS spaces in the first; returns the organization
    and that project."""
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        projects = [
            client.post("/api/v1/org/projects", json={"name": f"Bench {i:02d}", "type": "DEFAULT"})
            for i in range(ROWS)
        ]
        project = projects[0].json()["results"]["project"]["projectUuid"]
        for i in range(ROWS):
            client.post(f"/api/v1/projects/{project}/spaces", json={"name": f"Space {i:02d}"})
        assert len(client.get("/api/v1/org/projects").json()["results"]) == ROWS
        assert len(client.get(f"/api/v1/projects/{project}/spaces").json()["results"]) == ROWS
        organization = client.get("/api/v1/org").json()["results"]["organizationUuid"]
    return str(organization), str(project)


def measure_database(database_url: str, label: str) -> DatabaseRun:
    """Every endpoint under wrk, each right after a bare run, so both see the same load.

    On a shared machine the load swings within seconds; a ratio to a bare run
    taken minutes earlier measures the neighbours as much as the code.
    """
    token = generate(TokenKind.SERVICE_ACCOUNT)
    headers = {"Authorization": f"Bearer {token}"}
    run = DatabaseRun(label)
    with bare_server() as bare_url, lightkeeper_server(database_url, token) as base:
        organization, project = seed(base, headers)
        spaces = f"{base}/api/v1/projects/{project}/spaces"
        loads = {
            "health": (base + "/api/v1/health", {}, None),
            "user": (base + "/api/v1/user", headers, None),
            "projects": (base + "/api/v1/org/projects", headers, None),
            "spaces": (spaces, headers, None),
            "write": (spaces, headers, WRITE_SCRIPT),
        }
        for name, (url, request_headers, script) in loads.items():
            run.bares[name] = run_wrk(bare_url + "/", {})
            run.endpoints[name] = run_wrk(url, request_headers, script)
        with bare_server(CEILING_APP, BENCH_CEILING_DATABASE_URL=database_url) as ceiling:
            ceilings: dict[str, tuple[str, Path | None]] = {
                "projects": (f"{ceiling}/projects/{organization}", None),
                "spaces": (f"{ceiling}/spaces/{organization}/{project}", None),
            }
            if label == "PostgreSQL":
                ceilings["write"] = (f"{ceiling}/write/{project}/spaces", WRITE_SCRIPT)
            for name, (url, script) in ceilings.items():
                run.ceiling_bares[name] = run_wrk(bare_url + "/", {})
                run.ceilings[name] = run_wrk(url, {}, script)
        if label == "PostgreSQL":
            # Same database; one worker and two measured back to back.
            with lightkeeper_server(database_url, token, "--workers", "2") as two:
                httpx.get(two + "/api/v1/org/projects", headers=headers).raise_for_status()
                run.one_worker = run_wrk(base + "/api/v1/org/projects", headers)
                run.two_workers = run_wrk(two + "/api/v1/org/projects", headers)
    return run


def table(runs: list[DatabaseRun]) -> str:
    """The figures as a Markdown table: throughput, ratio to the bare run just before, goal, latency."""
    lines = [
        "| database | endpoint | req/s | bare just before, req/s | ÷ bare | goal | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        lines.append(
            f"| {run.label} | bare FastAPI `async def` (median run) | {run.bare.rps:,.0f} | | 1.00 | | "
            f"{run.bare.p50_ms:.2f} | {run.bare.p99_ms:.2f} |"
        )
        for name, load in run.endpoints.items():
            goal = GOALS[name]
            shown_goal = f"≥ {goal:.2f}" if name != "write" or run.label == "PostgreSQL" else ""
            lines.append(
                f"| {run.label} | {LABELS[name]} | {load.rps:,.0f} | {run.bares[name].rps:,.0f} | "
                f"{run.ratio(name):.2f} | {shown_goal} | {load.p50_ms:.2f} | {load.p99_ms:.2f} |"
            )
            if (ceiling := run.ceilings.get(name)) is not None:
                lines.append(
                    f"| {run.label} | ↳ ceiling: its database work alone, no Lightkeeper "
                    f"(tests/bench/ceiling.py) | {ceiling.rps:,.0f} | "
                    f"{run.ceiling_bares[name].rps:,.0f} | {run.ceiling_ratio(name):.2f} | | "
                    f"{ceiling.p50_ms:.2f} | {ceiling.p99_ms:.2f} |"
                )
        if run.two_workers is not None and run.one_worker is not None:
            one = run.one_worker
            lines.append(
                f"| {run.label} | {LABELS['projects']}, `--workers 2` | {run.two_workers.rps:,.0f} | "
                f"one worker just before: {one.rps:,.0f} | {run.two_workers.rps / one.rps:.2f}x | "
                f"≥ 1.50x | {run.two_workers.p50_ms:.2f} | {run.two_workers.p99_ms:.2f} |"
            )
    return "\n".join(lines)


def shortfalls(runs: list[DatabaseRun]) -> list[str]:
    """Figures below their goal (printed, never asserted: the machine may be busy)."""
    missed = []
    for run in runs:
        for name, goal in GOALS.items():
            if name == "write" and run.label != "PostgreSQL":
                continue
            if run.ratio(name) < goal:
                missed.append(f"{run.label} {LABELS[name]}: {run.ratio(name):.2f} < {goal:.2f}")
        if run.two_workers is not None and run.one_worker is not None:
            scale = run.two_workers.rps / run.one_worker.rps
            if scale < 1.5:
                missed.append(f"{run.label} --workers 2: {scale:.2f}x < 1.50x")
    return missed


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[1]  # the machine may be shared: say how busy it was
    return (
        f"{os.cpu_count()} cores, {model}, Python {sys.version.split()[0]}, load average {load:.1f}"
    )


DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


def _replace_block(text: str, name: str, body: str) -> str:
    """Swap the generated block `name` of docs/benchmarks.md; the prose around it is hand-written."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start not in text:
        return text + f"\n{start}\n{body}\n{end}\n"
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def write_report(request_table: str, auth_lines: list[str]) -> None:
    """Write the figures of this run into docs/benchmarks.md, with the date and the machine."""
    stamp = f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()}, `wrk -t2 -c16 -d{WRK_SECONDS}s`."
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    text = _replace_block(text, "request-path", f"{stamp}\n\n{request_table}")
    if auth_lines:
        text = _replace_block(text, "auth", f"{stamp}\n\n```\n" + "\n".join(auth_lines) + "\n```")
    DOC.write_text(text)
    print(f"written to {DOC}")
