"""The compiler's errors: all 400s in Lightdash's envelope, each saying what to fix."""

from __future__ import annotations

from lightkeeper.kit.errors import ParameterError


class CompileError(ParameterError):
    """The query (or the explore it runs on) cannot become SQL."""

    name = "CompileError"
    default_message = "Error compiling sql from Lightdash configuration"


class FieldReferenceError(ParameterError):
    """The query names a field the explore does not have."""

    name = "FieldReferenceError"
    default_message = "Failed to reference field in dbt project"


class TableCalculationError(CompileError):
    """A table calculation that is not a plain expression over the selected fields."""
