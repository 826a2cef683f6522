"""Reports how many permission-matrix cases ran."""

from __future__ import annotations

from typing import Any

MATRIX_CASES: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MATRIX_CASES:
        total = sum(MATRIX_CASES.values())
        terminalreporter.write_line(
            f"permission matrix: {total} cases checked "
            + ", ".join(f"{name}: {count}" for name, count in sorted(MATRIX_CASES.items()))
        )
