"""The compiler: Lightdash's MetricQuery over a deployed explore -> one SQL statement.

Pure: knows the explore JSON and the two dialects, nothing of the server. `compile_metric_query`
builds the statement with sqlglot (builder.py); `format_value` gives a cell's ``formatted`` text.
"""

from lightkeeper.compiler.builder import CompiledQuery, compile_metric_query
from lightkeeper.compiler.errors import CompileError, FieldReferenceError, TableCalculationError
from lightkeeper.compiler.explore import Dialect
from lightkeeper.compiler.formatting import format_value
from lightkeeper.compiler.results import raw_value, result_columns, result_row, rows_encoder

__all__ = [
    "CompileError",
    "CompiledQuery",
    "Dialect",
    "FieldReferenceError",
    "TableCalculationError",
    "compile_metric_query",
    "format_value",
    "raw_value",
    "result_columns",
    "result_row",
    "rows_encoder",
]
