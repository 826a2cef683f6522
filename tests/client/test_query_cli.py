"""`lightkeeper query` and `lightkeeper sql` against a real server with the demo project.

One server per module (SQLite in a temporary folder, set up from LD_SETUP_* and started with
`lightkeeper serve --demo`), service-account tokens made through the API, the command run as a
subprocess with only LIGHTDASH_URL / LIGHTDASH_API_KEY / LIGHTDASH_PROJECT, as in CI. Expected
numbers are the demo data's (the warehouse fixture's README: 99 orders; completed 67 / 1103.00).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lightkeeper.kit.tokens import TokenKind, generate
from tests.client.test_client_cli import clean_env
from tests.servers import free_port, running_server, server_env

CLI = (sys.executable, "-m", "lightkeeper")


@dataclass
class Demo:
    url: str
    project_uuid: str
    developer: str  # an ldsvc_ token with system:developer (queries and SQL)
    viewer: str  # an ldsvc_ token with system:viewer (no ad-hoc queries)
    pat: str  # the admin's personal token (reads the audit log)

    def query_status(self, sql: str) -> str | None:
        """The status `query.executed` recorded for the run of `sql`, once it has ended."""
        response = httpx.get(
            f"{self.url}/api/v1/org/audit-log",
            params={"action": "query.executed"},
            headers={"Authorization": f"ApiKey {self.pat}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        for event in response.json()["results"]["data"]:
            if sql in str(event["details"].get("sql", "")):
                return str(event["details"]["status"])
        return None

    def wait_for_status(self, sql: str) -> str | None:
        """The run ends in the server a moment after the command gave up on it."""
        deadline = time.monotonic() + 30
        while (status := self.query_status(sql)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        return status


def _service_account(url: str, pat: str, role: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/service-accounts",
        headers={"Authorization": f"ApiKey {pat}"},
        json={"description": f"{role} bot", "expiresAt": None, "scopes": [f"system:{role}"]},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["results"]["token"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    pat = generate(TokenKind.PERSONAL)
    env = server_env(
        tmp_path_factory.mktemp("query-cli"),
        LD_SETUP_ADMIN_EMAIL="admin@example.com",
        LD_SETUP_ORGANIZATION_NAME="Acme",
        LD_SETUP_ADMIN_API_KEY=pat,
    )
    with running_server(env, "--demo") as server:
        projects = httpx.get(
            f"{server.url}/api/v1/org/projects", headers={"Authorization": f"ApiKey {pat}"}
        ).json()["results"]
        assert [p["name"] for p in projects] == ["Jaffle shop (demo)"]
        yield Demo(
            server.url,
            projects[0]["projectUuid"],
            _service_account(server.url, pat, "developer"),
            _service_account(server.url, pat, "viewer"),
            pat,
        )


def run(
    demo: Demo, *args: str, token: str | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = clean_env() | {
        "HOME": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent",
        "COLUMNS": "200",
        "LIGHTDASH_URL": demo.url,
        "LIGHTDASH_API_KEY": token or demo.developer,
        "LIGHTDASH_PROJECT": demo.project_uuid,
    }
    return subprocess.run(
        [*CLI, *args], input=stdin, env=env, capture_output=True, text=True, timeout=120
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


ORDERS_BY_STATUS = (
    "--explore",
    "orders",
    "--dimension",
    "orders_status",
    "--metric",
    "orders_total_order_amount",
)


def test_query_as_json_gives_raw_values_by_field_id(demo: Demo) -> None:
    document = json.loads(ok(run(demo, "query", *ORDERS_BY_STATUS, "--format", "json")).stdout)
    assert [c["fieldId"] for c in document["columns"]] == [
        "orders_status",
        "orders_total_order_amount",
    ]
    assert document["columns"][1]["label"] == "Total order amount"
    totals = {row["orders_status"]: row["orders_total_order_amount"] for row in document["rows"]}
    assert round(totals["completed"], 2) == 1103.00
    assert round(totals["placed"], 2) == 551.57
    assert document["totalResults"] == len(document["rows"]) == 5
    assert document["queryUuid"]
    assert json.loads(ok(run(demo, "query", *ORDERS_BY_STATUS, "--json")).stdout)["rows"]


def test_query_as_csv_with_a_filter_for_pipelines(demo: Demo) -> None:
    result = ok(
        run(
            demo,
            "query",
            "--explore",
            "orders",
            "--dimension",
            "orders_status",
            "--metric",
            "orders_unique_order_count",
            "--filter",
            "orders_status=completed,shipped",
            "--sort",
            "orders_status",
            "--format",
            "csv",
        )
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        ["orders_status", "orders_unique_order_count"],
        ["completed", "67"],
        ["shipped", "13"],
    ]
    assert "\x1b" not in result.stdout + result.stderr  # no progress bar off a terminal


def test_query_as_a_table_for_people_sorted_and_limited(demo: Demo) -> None:
    result = ok(
        run(
            demo,
            "query",
            *ORDERS_BY_STATUS,
            "--sort",
            "orders_total_order_amount:desc",
            "--limit",
            "2",
        )
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert "Status" in lines[0] and "Total order amount" in lines[0]
    assert lines[1].split()[0] == "completed" and lines[2].split()[0] == "placed"
    assert len(lines) == 3
    assert "2 rows" in result.stderr


def test_a_metric_filter_applies_after_aggregation(demo: Demo) -> None:
    document = json.loads(
        ok(
            run(
                demo,
                "query",
                *ORDERS_BY_STATUS,
                "--filter",
                "orders_total_order_amount>500",
                "--format",
                "json",
            )
        ).stdout
    )
    assert sorted(row["orders_status"] for row in document["rows"]) == ["completed", "placed"]


def test_list_fields(demo: Demo) -> None:
    fields = json.loads(
        ok(run(demo, "query", "--explore", "orders", "--list-fields", "--json")).stdout
    )
    ids = {f["fieldId"]: f["kind"] for f in fields}
    assert ids["orders_status"] == "dimension"
    assert ids["orders_total_order_amount"] == "metric"


def test_arguments_the_explore_does_not_have_exit_2_with_suggestions(demo: Demo) -> None:
    result = run(demo, "query", "--explore", "orders", "--metric", "orders_total_amount")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "is not a metric of explore 'orders'" in result.stderr
    assert "orders_total_order_amount" in result.stderr
    bad_filter = run(demo, "query", *ORDERS_BY_STATUS, "--filter", "orders_status~x")
    assert bad_filter.returncode == 2 and "FIELD=VALUE" in bad_filter.stderr


def test_an_unknown_explore_is_the_servers_404(demo: Demo) -> None:
    result = run(demo, "query", "--explore", "nope", "--metric", "x")
    assert result.returncode == 1
    assert "nope" in result.stderr


def test_a_viewer_may_not_run_ad_hoc_queries(demo: Demo) -> None:
    result = run(demo, "query", *ORDERS_BY_STATUS, token=demo.viewer)
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    assert "Error:" in result.stderr


def test_sql_for_pipelines(demo: Demo) -> None:
    document = json.loads(
        ok(run(demo, "sql", "select count(*) as n from jaffle.orders", "--format", "json")).stdout
    )
    assert document["rows"] == [{"n": 99}]
    piped = ok(
        run(
            demo,
            "sql",
            "-",
            "--format",
            "csv",
            stdin="select status from jaffle.orders order by 1 limit 1",
        )
    )
    assert piped.stdout.splitlines() == ["status", "completed"]


def test_sql_errors_reach_the_caller(demo: Demo) -> None:
    failed = run(demo, "sql", "select * from jaffle.no_such_table")
    assert failed.returncode == 1
    assert "The query failed" in failed.stderr and "no_such_table" in failed.stderr
    empty = run(demo, "sql", "  ")
    assert empty.returncode == 2 and "The SQL is empty" in empty.stderr
    viewer = run(demo, "sql", "select 1", token=demo.viewer)
    assert viewer.returncode == 1


def test_a_query_over_its_timeout_is_cancelled_in_the_warehouse(demo: Demo) -> None:
    slow = "select count(*) from range(100000000000) timeout_run"
    result = run(demo, "sql", slow, "--timeout", "1")
    assert result.returncode == 1, result.stdout
    assert "did not finish within 1 s: it was cancelled" in result.stderr
    assert demo.wait_for_status("timeout_run") == "cancelled"
    # The server carries on.
    assert ok(run(demo, "sql", "select 1 as one", "--json")).stdout


def test_an_unreachable_server_exits_3(demo: Demo) -> None:
    env_demo = Demo(
        f"http://127.0.0.1:{free_port()}", demo.project_uuid, demo.developer, demo.viewer, demo.pat
    )
    result = run(env_demo, "sql", "select 1")
    assert result.returncode == 3
    assert "Cannot reach the server" in result.stderr


def _on_a_terminal(demo: Demo, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """The command with stderr on a pseudo-terminal (stdout a pipe); returns it and the pty."""
    leader, follower = pty.openpty()
    env = clean_env() | {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "LIGHTDASH_URL": demo.url,
        "LIGHTDASH_API_KEY": demo.developer,
        "LIGHTDASH_PROJECT": demo.project_uuid,
    }
    process = subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=follower, text=True
    )
    os.close(follower)
    return process, leader


def _read_until(leader: int, wanted: str | None) -> str:
    """What the terminal shows, until `wanted` appears (None: until the command closes it)."""
    seen = b""
    while wanted is None or wanted not in seen.decode(errors="replace"):
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")


def test_progress_shows_on_a_terminal(demo: Demo, tmp_path: Path) -> None:
    """stderr on a pseudo-terminal: the progress indicator appears there, stdout stays clean."""
    process, leader = _on_a_terminal(
        demo, tmp_path, "sql", "select count(*) as n from range(300000000)", "--format", "csv"
    )
    text = _read_until(leader, None)
    stdout, _ = process.communicate(timeout=120)
    os.close(leader)
    assert process.returncode == 0, text
    assert stdout.splitlines() == ["n", "300000000"]
    assert "Submitting query" in text or "Running query" in text, text


def test_ctrl_c_cancels_the_query_in_the_warehouse(demo: Demo, tmp_path: Path) -> None:
    slow = "select count(*) from range(100000000000) interrupted_run"
    process, leader = _on_a_terminal(demo, tmp_path, "sql", slow)
    shown = _read_until(leader, "Running query")  # submitted, and the command is waiting
    assert "Running query" in shown, shown
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    rest = _read_until(leader, None)
    os.close(leader)
    assert process.returncode == 130, rest
    assert "Interrupted" in rest
    assert demo.wait_for_status("interrupted_run") == "cancelled"
