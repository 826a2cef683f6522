"""Output of the API commands: tables for people, JSON for machines, progress, errors.

- Results go to stdout: a readable table or lines, or with `--json` one JSON document.
- Notes, warnings, progress and errors go to stderr, so stdout stays parseable.
- Progress bars appear only on a terminal and never with `--json`.
- Text from the server is printed as is (never read as Rich markup).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from lightkeeper.client.config import ConfigError
from lightkeeper.client.http import EXIT_USAGE, ApiError, CliError, field_errors

P = ParamSpec("P")
R = TypeVar("R")

JSON_HELP = "Print the result as JSON (for scripts)."


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    # Off a terminal (CI logs, pipes) keep lines long rather than wrapping uuids mid-word.
    width = None if terminal else int(os.environ.get("COLUMNS", "0") or 0) or 160
    return Console(file=stream, width=width, highlight=False, soft_wrap=not terminal)


class Output:
    """One command's output channel."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json
        self.out = _console(stderr=False)
        self.err = _console(stderr=True)

    # -- results -------------------------------------------------------------------

    def json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def line(self, text: str = "", style: str | None = None) -> None:
        """A result line on stdout (ignored with --json, whose document says it all)."""
        if not self.as_json:
            self.out.print(Text(text, style=style or ""), soft_wrap=True)

    def raw(self, text: str) -> None:
        """Exactly `text` and a newline on stdout (tokens: no wrapping, no styling)."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
    ) -> None:
        if self.as_json:
            return
        table = Table(title=title, title_justify="left", header_style="bold", box=None)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        self.out.print(table)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """`label: value` lines, aligned."""
        if self.as_json:
            return
        width = max((len(label) for label, _ in pairs), default=0)
        for label, value in pairs:
            self.out.print(
                Text.assemble((f"{label + ':':<{width + 1}} ", "bold"), str(value)),
                soft_wrap=True,
            )

    # -- notes on stderr -----------------------------------------------------------

    def note(self, text: str) -> None:
        self.err.print(Text(text, style="dim" if self.err.is_terminal else ""), soft_wrap=True)

    def warn(self, text: str) -> None:
        self.err.print(Text(f"Warning: {text}", style="yellow"), soft_wrap=True)

    def error(self, text: str) -> None:
        self.err.print(Text(f"Error: {text}", style="red"), soft_wrap=True)

    # -- progress ------------------------------------------------------------------

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Step]:
        """A progress bar on stderr (terminal only, never with --json); yields a Step."""
        if self.as_json or not self.err.is_terminal:
            yield Step(None, None)
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        )
        with progress:
            task = progress.add_task(description, total=total)
            yield Step(progress, task)


class Step:
    """Advances a progress bar, or does nothing when there is none."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int = 1, description: str | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=amount, description=description)

    def update(
        self,
        *,
        total: int | None = None,
        description: str | None = None,
        completed: int | None = None,
    ) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task, total=total, description=description, completed=completed
            )


class UsageError(CliError):
    """Bad arguments (exit 2)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, exit_code=EXIT_USAGE, hint=hint)


def report_error(output: Output, error: CliError) -> None:
    """Print a failure: the message (the server's as is), details, the fix."""
    output.error(error.message)
    if isinstance(error, ApiError):
        for line in field_errors(error):
            output.err.print(Text(f"  {line}"), soft_wrap=True)
        if error.retry_after:
            output.err.print(Text(f"  Retry after {error.retry_after} s."), soft_wrap=True)
    if error.hint:
        output.err.print(Text(error.hint), soft_wrap=True)
    if output.as_json and not error.in_json:
        body: dict[str, Any] = {"message": error.message, "exitCode": error.exit_code}
        if isinstance(error, ApiError):
            body |= {"statusCode": error.status, "name": error.name, "data": error.data}
        if error.hint:
            body["hint"] = error.hint
        output.json({"status": "error", "error": body})


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn CliError and ConfigError into a message and the right exit code (no traceback)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json", False))
        try:
            return function(*args, **kwargs)
        except CliError as error:
            report_error(Output(as_json), error)
            raise typer.Exit(error.exit_code) from None
        except ConfigError as error:
            report_error(Output(as_json), CliError(str(error)))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            Output(as_json).error("Interrupted")
            raise typer.Exit(130) from None

    return wrapper
