"""Real server processes for tests and benchmarks: the one way to start `lightkeeper serve`."""

from __future__ import annotations

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    process: subprocess.Popen[str]


@contextmanager
def running_server(env: dict[str, str], *args: str, timeout: float = 45) -> Iterator[Server]:
    """Start `lightkeeper serve` on a free port, wait for /api/v1/health, stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *args],
        env=env,
        cwd=env.get("LIGHTKEEPER_DATA_DIR"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: workers go with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited early ({process.returncode}): {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not answer /api/v1/health in time")
            time.sleep(0.1)
        yield Server(url, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
