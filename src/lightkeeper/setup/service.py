"""Instance initialization from LD_SETUP_* (filled in by the setup work)."""

from __future__ import annotations

from lightkeeper.runtime import Runtime


class SetupError(Exception):
    """A setup variable has a bad value; the message names the variable."""


def run_setup(runtime: Runtime) -> None:
    """Initialize an empty instance from LD_SETUP_*; does nothing once an organization exists."""
    return None
