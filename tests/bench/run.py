"""Benchmarks for the service-account authentication path: figures, not assertions.

Run with `make bench` (needs `wrk`, Debian package `wrk`, and PostgreSQL on
127.0.0.1:5432 as for the tests). Prints, measured side by side in one run:

(a) token verification cost per request: HMAC-SHA256 (ours) vs bcrypt cost 10
    (Lightdash's scheme) vs PBKDF2-SHA256 with 10,000 iterations (Grafana's);
(b) throughput of SA-authenticated GET /api/v1/user vs GET /api/v1/health on
    one real server process under wrk on loopback, on SQLite and PostgreSQL;
(c) authentication latency (cache bypassed: the database lookup and the
    permission resolution) with 1,000,000 service accounts vs 1,000 (PostgreSQL);
(d) lastUsedAt writes per service account per minute under load.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import psycopg

from lightkeeper.kit.tokens import Keyring, TokenKind, generate
from tests.bench import queries, request_path
from tests.bench.request_path import run_wrk
from tests.servers import running_server, server_env

PG_ADMIN = os.environ.get(
    "LIGHTKEEPER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WRK_SECONDS = request_path.WRK_SECONDS


def per_call(fn: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def bench_hashing() -> dict[str, float]:
    token = generate(TokenKind.SERVICE_ACCOUNT)
    keyring = Keyring(secrets.token_hex(32))
    stored = keyring.hash(token)[1]
    bcrypt_hash = bcrypt.hashpw(token.encode(), bcrypt.gensalt(rounds=10))
    salt = os.urandom(16)
    pbkdf2 = hashlib.pbkdf2_hmac("sha256", token.encode(), salt, 10_000)
    return {
        "hmac_sha256": per_call(lambda: keyring.hash(token)[1] == stored, 20_000),
        "bcrypt_10": per_call(lambda: bcrypt.checkpw(token.encode(), bcrypt_hash), 20),
        "pbkdf2_10k": per_call(
            lambda: hashlib.pbkdf2_hmac("sha256", token.encode(), salt, 10_000) == pbkdf2, 200
        ),
    }


@contextmanager
def pg_database() -> Iterator[str]:
    name = f"lightkeeper_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wrk(url: str, headers: dict[str, str]) -> float:
    return run_wrk(url, headers).rps


def bench_throughput(database_url: str, label: str) -> dict[str, float]:
    token = generate(TokenKind.SERVICE_ACCOUNT)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "LD_SETUP_ORGANIZATION_NAME": "Bench",
            "LD_SETUP_ADMIN_EMAIL": "admin@bench.example",
            "LD_SETUP_SERVICE_ACCOUNT_TOKEN": token,
            "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION": "0",
        }
        server_environment = server_env(Path(tmp), database_url, LOG_LEVEL="error", **env)
        server_environment.pop("LIGHTKEEPER_CHEAP_PASSWORD_HASH")
        with running_server(server_environment) as running:
            base = running.url
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(base + "/api/v1/user", headers=headers).status_code == 200
            writes_before = _sa_updates(database_url)
            health = wrk(base + "/api/v1/health", {})
            user = wrk(base + "/api/v1/user", headers)
            writes = _sa_updates(database_url) - writes_before if writes_before >= 0 else -1
    return {
        "health_rps": health,
        "user_rps": user,
        "ratio": user / health,
        "last_used_writes": writes,
    }


def _sa_updates(database_url: str) -> int:
    """Rows updated in service_accounts so far (PostgreSQL statistics); -1 on SQLite."""
    if not database_url.startswith("postgresql"):
        return -1
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'service_accounts'"
        ).fetchone()
    return int(row[0]) if row else 0


def bench_scale() -> dict[str, float]:
    """Median authentication latency with 1,000 vs 1,000,000 service accounts (PostgreSQL).

    Two databases side by side, one with each population, measured in
    alternating rounds so that load from elsewhere falls on both alike. The
    cache is bypassed: each sample is the indexed token lookup plus the
    principal's permission resolution.
    """
    from lightkeeper import migrate
    from lightkeeper.auth.credentials import PresentedCredential
    from lightkeeper.auth.service import authenticate_token
    from lightkeeper.config import Settings
    from lightkeeper.kit.request_context import SYSTEM_CONTEXT
    from lightkeeper.runtime import Runtime

    with pg_database() as small_url, pg_database() as large_url:
        runtimes: dict[str, tuple[Runtime, list[str]]] = {}
        for size, url in (("1000", small_url), ("1000000", large_url)):
            settings = Settings(
                _env_file=None,
                DATABASE_URL=url,
                LIGHTDASH_SECRET="bench-secret",
                SERVICE_ACCOUNT_ENABLED=True,
                LIGHTDASH_LICENSE_KEY="bench",
                LOG_LEVEL="error",
            )
            runtime = Runtime.build(settings)
            migrate.upgrade(runtime.engine)
            tokens = _bulk_insert(url, runtime.keyring, 1_000)
            if size != "1000":
                _bulk_insert(url, runtime.keyring, 999_000, known=False)
            runtimes[size] = (runtime, tokens)
        samples: dict[str, list[float]] = {size: [] for size in runtimes}
        for round_ in range(20):
            for size, (runtime, tokens) in runtimes.items():
                for i in range(150):
                    raw = tokens[(round_ * 150 + i) % len(tokens)]
                    runtime.principal_cache.clear()
                    with runtime.sessions() as session:
                        started = time.perf_counter()
                        authenticate_token(
                            runtime,
                            session,
                            PresentedCredential(TokenKind.SERVICE_ACCOUNT, raw, True),
                            SYSTEM_CONTEXT,
                        )
                        samples[size].append(time.perf_counter() - started)
                        session.rollback()
        for runtime, _ in runtimes.values():
            runtime.close()
    return {size: statistics.median(values) for size, values in samples.items()}


def _bulk_insert(url: str, keyring: Keyring, count: int, known: bool = True) -> list[str]:
    """Insert `count` service accounts with principals; return tokens for the known ones."""
    with psycopg.connect(url, autocommit=False) as conn:
        org = conn.execute("SELECT uuid FROM organizations LIMIT 1").fetchone()
        if org is None:
            org_uuid = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO organizations (uuid, name, default_role, created_at) VALUES (%s, 'Bench', 'viewer', now())",
                (org_uuid,),
            )
        else:
            org_uuid = org[0]
        key_id = keyring.current.key_id
        if not known:
            # Unknown tokens: random hashes, generated in the database to keep this fast.
            conn.execute(
                """
                WITH ids AS (SELECT gen_random_uuid()::text AS u, gen_random_uuid()::text AS s, g FROM generate_series(1, %s) g),
                ins AS (INSERT INTO users (uuid, organization_uuid, first_name, last_name, role, is_service_account, is_active, created_at, updated_at)
                        SELECT u, %s, 'bulk ' || g, '', 'viewer', true, true, now(), now() FROM ids RETURNING uuid)
                INSERT INTO service_accounts (uuid, organization_uuid, user_uuid, description, token_hash, token_key_id, token_hint, created_at, scopes)
                SELECT s, %s, u, 'bulk ' || g, md5(s) || md5(u), %s, 'ldsvc_…bulk', now(), '["system:viewer"]'::jsonb FROM ids
                """,
                (count, org_uuid, org_uuid, key_id),
            )
            conn.commit()
            conn.execute("ANALYZE service_accounts")
            conn.commit()
            return []
        tokens = []
        with conn.cursor() as cur:
            for i in range(count):
                raw = generate(TokenKind.SERVICE_ACCOUNT)
                user_uuid, sa_uuid = str(uuid.uuid4()), str(uuid.uuid4())
                cur.execute(
                    "INSERT INTO users (uuid, organization_uuid, first_name, last_name, role, is_service_account, is_active, created_at, updated_at) VALUES (%s, %s, %s, '', 'viewer', true, true, now(), now())",
                    (user_uuid, org_uuid, f"known {i}"),
                )
                cur.execute(
                    "INSERT INTO service_accounts (uuid, organization_uuid, user_uuid, description, token_hash, token_key_id, token_hint, created_at, scopes) VALUES (%s, %s, %s, %s, %s, %s, %s, now(), '[\"system:viewer\"]'::jsonb)",
                    (
                        sa_uuid,
                        org_uuid,
                        user_uuid,
                        f"known {i}",
                        keyring.hash(raw)[1],
                        key_id,
                        "ldsvc_…" + raw[-4:],
                    ),
                )
                tokens.append(raw)
        conn.commit()
        return tokens


def bench_last_used_simulated() -> float:
    """lastUsedAt writes per SA per minute: 6,000 requests over 10 simulated minutes (SQLite)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from lightkeeper import migrate
    from lightkeeper.app import create_app
    from lightkeeper.config import Settings
    from lightkeeper.kit.clock import clock
    from lightkeeper.runtime import Runtime
    from lightkeeper.setup.service import run_setup

    token = generate(TokenKind.SERVICE_ACCOUNT)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            LIGHTDASH_SECRET="bench-secret",
            SERVICE_ACCOUNT_ENABLED=True,
            LIGHTDASH_LICENSE_KEY="bench",
            LOG_LEVEL="error",
            LIGHTKEEPER_DATA_DIR=tmp,
        )
        runtime = Runtime.build(settings)
        migrate.upgrade(runtime.engine)
        run_setup(
            runtime,
            {
                "LD_SETUP_ORGANIZATION_NAME": "Bench",
                "LD_SETUP_ADMIN_EMAIL": "a@bench.example",
                "LD_SETUP_SERVICE_ACCOUNT_TOKEN": token,
                "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION": "0",
            },
        )
        writes = 0

        def count(_conn: object, cursor: Any, statement: str, *_args: object) -> None:
            nonlocal writes
            if statement.startswith("UPDATE service_accounts") and "last_used_at" in statement:
                writes += max(cursor.rowcount, 0)  # rows the database actually changed

        event.listen(runtime.engine, "after_cursor_execute", count)
        client = TestClient(create_app(runtime=runtime))
        headers = {"Authorization": f"Bearer {token}"}
        clock.freeze()  # simulated time only: 100 ms per request, 10 minutes in all
        for _ in range(6_000):
            assert client.get("/api/v1/user", headers=headers).status_code == 200
            clock.advance(timedelta(milliseconds=100))
            # The in-process throttle runs on the monotonic clock; bypass it so only the
            # database's once-a-minute rule limits the writes.
            for entry in runtime.principal_cache._entries.values():
                entry.last_used_written = float("-inf")
        clock.reset()
        runtime.close()
    return writes / 10


def main() -> None:
    if os.environ.get("BENCH_ONLY") == "queries":  # the query layer alone (tests/bench/queries.py)
        Path("test-artifacts").mkdir(exist_ok=True)
        figures = queries.run(pg_database)[1]
        Path("test-artifacts/bench-queries.json").write_text(json.dumps(figures, indent=2))
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for the throughput figures: apt-get install wrk")
    only = os.environ.get("BENCH_ONLY", "")  # "request_path" skips the authentication figures
    report: dict[str, object] = {}
    print(
        f"request path under wrk -t2 -c16 -d{WRK_SECONDS}s, ratios to a bare FastAPI handler",
        flush=True,
    )
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(request_path.measure_database(f"sqlite:///{tmp}/bench.db", "SQLite"))
    print(request_path.table(runs), flush=True)
    with pg_database() as url:
        runs.append(request_path.measure_database(url, "PostgreSQL"))
    request_table = request_path.table(runs)
    print(request_table)
    for missed in request_path.shortfalls(runs):
        print(f"    below goal: {missed}")
    report["request_path"] = [
        {
            "database": run.label,
            "bare_before_each": {name: asdict(load) for name, load in run.bares.items()},
            "endpoints": {name: asdict(load) for name, load in run.endpoints.items()},
            "one_worker": asdict(run.one_worker) if run.one_worker else None,
            "two_workers": asdict(run.two_workers) if run.two_workers else None,
        }
        for run in runs
    ]
    auth_lines: list[str] = []
    if only != "request_path":
        auth_lines = bench_authentication(report)
        query_lines, report["queries"] = queries.run(pg_database)
        auth_lines += query_lines
    Path("test-artifacts").mkdir(exist_ok=True)
    Path("test-artifacts/bench.json").write_text(json.dumps(report, indent=2))
    request_path.write_report(request_table, auth_lines)


def bench_authentication(report: dict[str, object]) -> list[str]:
    """Figures (a)-(d) of the service-account authentication path; returns the printed lines."""
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    say("(a) token verification per request")
    hashing = bench_hashing()
    report["hashing_seconds"] = hashing
    for name, seconds in hashing.items():
        say(
            f"    {name:12s} {seconds * 1e6:12.1f} µs   ({seconds / hashing['hmac_sha256']:,.0f}x HMAC)"
        )
    say(f"(b) throughput under wrk -t2 -c16 -d{WRK_SECONDS}s, one server process")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = bench_throughput(f"sqlite:///{tmp}/bench.db", "sqlite")
    with pg_database() as url:
        postgres = bench_throughput(url, "postgresql")
    report["throughput"] = {"sqlite": sqlite, "postgresql": postgres}
    for label, figures in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        say(
            f"    {label:10s} health {figures['health_rps']:8.0f} req/s   SA /api/v1/user {figures['user_rps']:8.0f} req/s   ratio {figures['ratio']:.2f}"
        )
    say(
        f"    PostgreSQL: service_accounts rows updated during both wrk runs: {postgres['last_used_writes']:.0f}"
    )
    say("(c) authentication latency, cache bypassed (PostgreSQL)")
    scale = bench_scale()
    report["scale_median_seconds"] = scale
    say(
        f"    1,000 SAs {scale['1000'] * 1e3:.3f} ms   1,000,000 SAs {scale['1000000'] * 1e3:.3f} ms   ratio {scale['1000000'] / scale['1000']:.2f}"
    )
    say("(d) lastUsedAt writes per SA per minute (6,000 requests over 10 simulated minutes)")
    per_minute = bench_last_used_simulated()
    report["last_used_writes_per_minute"] = per_minute
    say(f"    {per_minute:.2f} writes per minute")
    return lines


if __name__ == "__main__":
    main()
