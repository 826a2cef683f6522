"""A demo DuckDB warehouse built once per worker, and clients allowed to open it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from lightkeeper.warehouse.demo import DEMO_DATABASE_FILENAME, build_demo_duckdb


@pytest.fixture(scope="session")
def warehouse_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("warehouse")
    build_demo_duckdb(folder / DEMO_DATABASE_FILENAME)
    return folder


@pytest.fixture
def duckdb_connection(warehouse_dir: Path) -> dict[str, Any]:
    return {
        "type": "duckdb",
        "database": str(warehouse_dir / DEMO_DATABASE_FILENAME),
        "schema": "jaffle",
    }


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], warehouse_dir: Path) -> Runtime:
    return make_runtime(LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir))


def wait_for(
    client: TestClient, url: str, headers: dict[str, str], timeout: float = 30
) -> dict[str, Any]:
    """Poll a query's results until it is no longer pending; the last body's `results`."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        results: dict[str, Any] = response.json()["results"]
        if results["status"] != "pending" or time.monotonic() > deadline:
            return results
        time.sleep(0.05)
