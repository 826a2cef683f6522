"""Lightdash's own SDK (`lightdash` 1.1.0, pinned), unchanged, against a real server with a
service-account token: models, queries, filters, sorts, table calculations, pages, compile, SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lightdash import Client
from lightdash.table_calculations import TableCalculation
from sqlalchemy import Engine

from lightkeeper.runtime import Runtime
from tests.servers import Server, running_server, server_env
from tests.support import add_query_project, add_service_account, make_org

SERVER_SECRET = server_env(Path("."))["LIGHTDASH_SECRET"]


@pytest.fixture
def sdk_world(
    engine: Engine,
    tmp_path: Path,
    warehouse_dir: Path,
    make_runtime: Callable[..., Runtime],
    duckdb_connection: dict[str, Any],
) -> Iterator[tuple[Server, Client, Runtime]]:
    # Built with the server's secret, so its tokens and sealed connection are the server's own.
    runtime = make_runtime(
        LIGHTDASH_SECRET=SERVER_SECRET, LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir)
    )
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    sa = add_service_account(runtime, org, "notebook", role="developer")
    env = server_env(
        tmp_path / "server",
        engine.url.render_as_string(hide_password=False),
        LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir),
    )
    with running_server(env) as server:
        env_site = server.url
        yield server, Client(env_site, sa.token, project), runtime


def test_the_sdk_lists_models_and_queries_with_a_service_account(
    sdk_world: tuple[Server, Client, Runtime],
) -> None:
    _server, client, _runtime = sdk_world

    models = client.list_models()
    orders = client.get_model("orders")
    status = orders.dimensions.status
    count = orders.metrics.unique_order_count

    assert "orders" in [m.name for m in models]
    assert all(isinstance(m.database_name, str) and isinstance(m.schema_name, str) for m in models)
    records = (
        orders.query().dimensions(status, status.field_id).metrics(count).limit(10).to_records()
    )
    label_status = status.label or status.name
    label_count = count.label or count.name
    assert records and set(records[0]) == {label_status, label_count}
    assert sum(r[label_count] for r in records) == 99

    df = orders.query().dimensions(status).metrics(count).limit(10).to_df()
    assert list(df.columns) == [label_status, label_count]

    completed = (
        orders.query().dimensions(status).metrics(count).filter(status == "completed").to_records()
    )
    assert [r[label_status] for r in completed] == ["completed"]

    ordered = orders.query().dimensions(status).metrics(count).sort(count.desc()).to_records()
    assert [r[label_count] for r in ordered] == sorted(
        (r[label_count] for r in ordered), reverse=True
    )


def test_the_sdk_table_calculation_filter_pages_and_compile(
    sdk_world: tuple[Server, Client, Runtime],
) -> None:
    _server, client, _runtime = sdk_world
    orders = client.get_model("orders")
    order_id = orders.dimensions.order_id
    status = orders.dimensions.status
    count = orders.metrics.unique_order_count
    calc = TableCalculation(name="calc_copy", sql="${orders.unique_order_count}")

    base = orders.query().dimensions(status).metrics(count).table_calculations(calc).limit(200)
    everything = base.to_records()
    median = sorted(r["calc_copy"] for r in everything)[len(everything) // 2]
    filtered = base.filter(calc > median).to_records()
    assert filtered and all(r["calc_copy"] > median for r in filtered)
    assert len(filtered) == sum(1 for r in everything if r["calc_copy"] > median)

    result = orders.query().dimensions(order_id).limit(99).execute()
    pages = list(result.iter_pages(page_size=25))
    assert [len(p) for p in pages] == [25, 25, 25, 24]
    assert len({r[order_id.label or order_id.name] for page in pages for r in page}) == 99

    sql = orders.query().dimensions(status).metrics(count).compile().lower()
    assert "select" in sql and "from" in sql
    with_filter = orders.query().dimensions(status).filter(status.is_not_null()).compile().lower()
    assert "where" in with_filter


def test_the_sdk_runs_sql_with_a_service_account_token(
    sdk_world: tuple[Server, Client, Runtime],
) -> None:
    _server, client, _runtime = sdk_world

    result = client.sql("select status, count(*) as n from jaffle.orders group by 1 order by 1")

    rows = result.to_records()
    assert rows and set(rows[0]) == {"status", "n"}
    assert sum(r["n"] for r in rows) == 99
