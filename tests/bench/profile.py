"""`make profile`: where the time of one endpoint goes, as a py-spy flame graph.

Starts `lightkeeper serve` (one worker, SQLite unless DATABASE_URL names
PostgreSQL), seeds the benchmark's 50 projects and 50 spaces, drives one
endpoint with wrk and records the server with py-spy meanwhile (GIL samples
only, so waiting threads do not hide where Python runs). Writes
test-artifacts/profile-<endpoint>.svg. `BENCH_PROFILE=projects` chooses the
endpoint (health, user, projects, spaces, write).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from lightkeeper.kit.tokens import TokenKind, generate
from tests.bench.request_path import WRITE_SCRIPT, WRK_SECONDS, run_wrk, seed
from tests.servers import running_server, server_env


def main() -> None:
    endpoint = os.environ.get("BENCH_PROFILE", "projects")
    token = generate(TokenKind.SERVICE_ACCOUNT)
    headers = {"Authorization": f"Bearer {token}"}
    out = Path("test-artifacts") / f"profile-{endpoint}.svg"
    out.parent.mkdir(exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(
            Path(tmp),
            os.environ.get("DATABASE_URL"),
            LOG_LEVEL="error",
            LD_SETUP_ORGANIZATION_NAME="Bench",
            LD_SETUP_ADMIN_EMAIL="admin@bench.example",
            LD_SETUP_SERVICE_ACCOUNT_TOKEN=token,
            LD_SETUP_SERVICE_ACCOUNT_EXPIRATION="0",
        )
        with running_server(env, timeout=180) as server:
            _organization, project = seed(server.url, headers)
            spaces = f"{server.url}/api/v1/projects/{project}/spaces"
            url, script = {
                "health": (server.url + "/api/v1/health", None),
                "user": (server.url + "/api/v1/user", None),
                "projects": (server.url + "/api/v1/org/projects", None),
                "spaces": (spaces, None),
                "write": (spaces, WRITE_SCRIPT),
            }[endpoint]
            record = [
                str(py_spy), "record", "--gil", "--idle", "--rate", "250",
                "--duration", str(WRK_SECONDS), "--pid", str(server.process.pid),
                "--output", str(out),
            ]  # fmt: skip
            spy = threading.Thread(target=subprocess.run, args=(record,), daemon=True)
            spy.start()
            load = run_wrk(url, {} if endpoint == "health" else headers, script)
            spy.join()
    print(f"{endpoint}: {load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms; flame graph: {out}")


if __name__ == "__main__":
    main()
