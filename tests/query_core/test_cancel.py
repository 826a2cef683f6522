"""A long query is stopped in the warehouse by `cancel()` from another thread, or by the timeout."""

from __future__ import annotations

import threading

import pytest

from lightkeeper.warehouse import QueryCancelledError, QueryTimeoutError, Warehouse
from tests.query_core.conftest import DemoWarehouse

# Runs for hours unless stopped.
LONG = {
    "duckdb": "SELECT SUM(a.range * b.range) FROM range(1000000000) a CROSS JOIN range(1000000000) b",
    "postgres": "SELECT pg_sleep(3600)",
}


def cancel_until_done(warehouse: Warehouse, done: threading.Event) -> None:
    # Keep asking until the query has stopped: a cancel that lands before the statement
    # starts would otherwise be lost.
    while not done.wait(0.1):
        warehouse.cancel()


def test_cancel_from_another_thread_stops_the_query(demo: DemoWarehouse) -> None:
    warehouse = demo.open(timeout_s=3600)
    done = threading.Event()
    canceller = threading.Thread(target=cancel_until_done, args=(warehouse, done))
    canceller.start()
    try:
        with pytest.raises(QueryCancelledError, match="Query was cancelled"):
            warehouse.run(LONG[demo.dialect]).fetchall()
    finally:
        done.set()
        canceller.join()
    try:
        # The connection is still good for the next statement.
        assert warehouse.run(f"SELECT COUNT(*) FROM {demo.schema}.orders").fetchall() == [(99,)]
        if demo.dialect == "postgres":
            # Stopped in PostgreSQL itself, not only in the client.
            still_running = warehouse.run(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(3600)%' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchall()
            assert still_running == [(0,)]
    finally:
        warehouse.close()


def test_the_statement_timeout_stops_a_long_query(demo: DemoWarehouse) -> None:
    warehouse = demo.open(timeout_s=0.5)
    try:
        with pytest.raises(QueryTimeoutError, match=r"statement timeout of 0\.5 seconds"):
            warehouse.run(LONG[demo.dialect]).fetchall()
        assert warehouse.run("SELECT 1").fetchall() == [(1,)]
    finally:
        warehouse.close()
