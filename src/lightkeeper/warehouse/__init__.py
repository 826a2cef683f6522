"""Warehouses: a project's connection (Lightdash's shapes), and running SQL through the drivers.

Knows nothing of the server's models: callers hand in the connection document and get rows.
"""

from lightkeeper.warehouse.clients import (
    BATCH_ROWS,
    Dialect,
    DuckdbWarehouse,
    PostgresWarehouse,
    QueryCancelledError,
    QueryTimeoutError,
    ResultSet,
    TableField,
    TableRef,
    Warehouse,
    WarehouseQueryError,
    WarehouseUnavailableError,
    lightdash_type,
    open_warehouse,
)
from lightkeeper.warehouse.connection import (
    DuckdbConnection,
    PostgresConnection,
    WarehouseConnection,
    WarehouseConnectionError,
    check_allowed_path,
    parse_connection,
    public_view,
    to_document,
)

__all__ = [
    "BATCH_ROWS",
    "Dialect",
    "DuckdbConnection",
    "DuckdbWarehouse",
    "PostgresConnection",
    "PostgresWarehouse",
    "QueryCancelledError",
    "QueryTimeoutError",
    "ResultSet",
    "TableField",
    "TableRef",
    "Warehouse",
    "WarehouseConnection",
    "WarehouseConnectionError",
    "WarehouseQueryError",
    "WarehouseUnavailableError",
    "check_allowed_path",
    "lightdash_type",
    "open_warehouse",
    "parse_connection",
    "public_view",
    "to_document",
]
