"""CPU per request in process: the request path measured without a network or wrk.

A busy shared machine makes throughput figures swing; the CPU a request costs
does not. Each endpoint is called straight through the ASGI app (a minimal
driver: no HTTP parsing, no sockets), `ITERATIONS` times, and the process's CPU
time (`time.process_time`, threadpool threads included) is divided by the
count. The bare FastAPI `async def` of tests/bench/bare.py is measured the same
way, so the ratio to it compares like with like. Data as in `make bench`: 50
projects, 50 spaces in the first, a service-account token.

`python -m tests.bench.cpu [sqlite|postgresql] [endpoint ...]`; `BENCH_CPU_PROFILE=1`
prints a cProfile of the endpoints instead of timing them.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import psycopg

from lightkeeper import migrate
from lightkeeper.app import create_app
from lightkeeper.config import Settings
from lightkeeper.kit import threadpool
from lightkeeper.kit.tokens import TokenKind, generate
from lightkeeper.runtime import Runtime
from lightkeeper.setup.service import run_setup
from tests.bench import bare
from tests.servers import server_env
from tests.throwaway_postgres import resolve_admin_url

ITERATIONS = int(os.environ.get("BENCH_CPU_ITERATIONS", "400"))
ROWS = 50


class _InlineExecutor(Executor):
    """Runs what `kit.threadpool.run_sync` hands it at once, in the calling thread (for cProfile)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


async def call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> Reply:
    """One request through the ASGI app, as uvicorn would hand it over."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"bench"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Reply(status, b"".join(chunks))


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    admin_url, _started = resolve_admin_url()
    name = f"lk_bench_cpu_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + "/"
            + name
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextmanager
def lightkeeper_app(database_url: str) -> Iterator[tuple[Any, dict[str, str]]]:
    token = generate(TokenKind.SERVICE_ACCOUNT)
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
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            runtime = Runtime.build(Settings())
            migrate.upgrade(runtime.engine)
            run_setup(runtime)
            try:
                yield create_app(runtime=runtime), {"Authorization": f"Bearer {token}"}
            finally:
                runtime.close()
        finally:
            os.environ.clear()
            os.environ.update(saved)


async def seed(app: Any, headers: dict[str, str]) -> str:
    json_headers = {**headers, "content-type": "application/json"}
    first = ""
    for i in range(ROWS):
        body = json.dumps({"name": f"Bench {i:02d}", "type": "DEFAULT"}).encode()
        reply = await call(app, "POST", "/api/v1/org/projects", json_headers, body)
        assert reply.status == 200, reply
        first = first or json.loads(reply.body)["results"]["project"]["projectUuid"]
    for i in range(ROWS):
        body = json.dumps({"name": f"Space {i:02d}"}).encode()
        reply = await call(app, "POST", f"/api/v1/projects/{first}/spaces", json_headers, body)
        assert reply.status == 200, reply
    return first


async def write(app: Any, headers: dict[str, str], project: str) -> None:
    json_headers = {**headers, "content-type": "application/json"}
    created = await call(
        app, "POST", f"/api/v1/projects/{project}/spaces", json_headers, b'{"name": "Bench write"}'
    )
    assert created.status == 200, created
    space = json.loads(created.body)["results"]["uuid"]
    deleted = await call(app, "DELETE", f"/api/v1/projects/{project}/spaces/{space}", headers)
    assert deleted.status == 204, deleted


async def measure(
    app: Any, headers: dict[str, str], project: str, names: list[str]
) -> dict[str, float]:
    requests = {
        "bare": (bare.create_app(), "/", {}),
        "health": (app, "/api/v1/health", {}),
        "user": (app, "/api/v1/user", headers),
        "projects": (app, "/api/v1/org/projects", headers),
        "spaces": (app, f"/api/v1/projects/{project}/spaces", headers),
    }
    profile = os.environ.get("BENCH_CPU_PROFILE") == "1"
    if profile or os.environ.get("BENCH_CPU_INLINE") == "1":
        # cProfile sees one thread: run the threadpool's work inline so the handler shows.
        async def inline(func: Any, *args: Any, **_kwargs: Any) -> Any:
            return func(*args)

        anyio.to_thread.run_sync = inline  # type: ignore[assignment]
        threadpool._executor = _InlineExecutor()
    figures: dict[str, float] = {}
    for name in names:

        async def once(name: str = name) -> None:
            if name == "write":
                await write(app, headers, project)
                return
            target, path, request_headers = requests[name]
            reply = await call(target, "GET", path, request_headers)
            assert reply.status == 200, reply

        for _ in range(20):  # warm caches (principal, serialised bodies)
            await once()
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        started = time.process_time()
        for _ in range(ITERATIONS):
            await once()
        figures[name] = (time.process_time() - started) / ITERATIONS * 1e6
        if profiler:
            profiler.disable()
            print(f"== {name}")
            if dump := os.environ.get("BENCH_CPU_PROFILE_DUMP"):
                profiler.dump_stats(f"{dump}-{name}.prof")
            pstats.Stats(profiler).sort_stats(
                os.environ.get("BENCH_CPU_PROFILE_SORT", "cumulative")
            ).print_stats(int(os.environ.get("BENCH_CPU_PROFILE_LINES", "45")))
    return figures


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    names = sys.argv[2:] or ["bare", "health", "user", "projects", "spaces", "write"]
    with database(kind) as url, lightkeeper_app(url) as (app, headers):
        figures = asyncio.run(_run(app, headers, names))
    bare_us = figures.get("bare")
    for name, us in figures.items():
        ratio = f"  ÷ bare {bare_us / us:.2f}" if bare_us else ""
        print(f"{kind:10} {name:9} {us:9,.0f} µs CPU per request{ratio}")


async def _run(app: Any, headers: dict[str, str], names: list[str]) -> dict[str, float]:
    project = await seed(app, headers)
    return await measure(app, headers, project, names)


if __name__ == "__main__":
    main()
