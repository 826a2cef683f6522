"""Real server processes for tests and benchmarks: the one way to start `lightkeeper serve`."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "lightkeeper"]


# Each pytest-xdist worker takes its ports from a block of its own, below Linux's ephemeral
# range (32768 and up): two workers never pick the same port, and no client socket holds one.
# A port something else listens on is skipped by the probe.
PORT_BLOCK = 1000
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_next_ports = itertools.count(20000 + PORT_BLOCK * (int(_WORKER) if _WORKER.isdigit() else 0))


def free_port() -> int:
    """A port nothing listens on, from this test worker's own block."""
    for port in _next_ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")  # itertools.count never ends


def server_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a test server: its own data dir, cheap hashes, Enterprise features on."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LD_SETUP_", "LIGHTDASH_", "DATABASE_URL", "PG"))
    }
    env.update(
        LIGHTKEEPER_DATA_DIR=str(data_dir),
        LIGHTDASH_SECRET="test-server-secret-0123456789abcdef",
        LIGHTKEEPER_CHEAP_PASSWORD_HASH="true",
        SERVICE_ACCOUNT_ENABLED="true",
        CUSTOM_ROLES_ENABLED="true",
        LIGHTDASH_LICENSE_KEY="test-license",
        LOG_LEVEL="warning",
        DATABASE_URL=database_url or f"sqlite:///{data_dir / 'lightkeeper.db'}",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path  # everything the server printed


@contextmanager
def running_server(env: dict[str, str], *args: str, timeout: float = 45) -> Iterator[Server]:
    """Start `lightkeeper serve` on a free port, wait for /api/v1/health, stop it afterwards.

    Its output goes to `server.log` in its data directory (a file, not a pipe
    nobody reads, which would block a chatty server).
    """
    port = free_port()
    data_dir = Path(env["LIGHTKEEPER_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *args],
            env=env,
            cwd=data_dir,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers go with it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited early ({process.returncode}): {log.read_text()}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"serve did not answer /api/v1/health in time: {log.read_text()}"
                )
            time.sleep(0.1)
        yield Server(url, process, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
