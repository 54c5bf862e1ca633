"""The ``smsseg`` Typer application and the error handling shared by every command."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from smsseg.errors import SmssegError

app = typer.Typer(
    name="smsseg",
    help="ML-driven customer segmentation and churn scoring for SMS marketing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable)


@app.callback()
def _configure_logging(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print informational logs."),
) -> None:
    """Route log records (data warnings, progress notes) to stderr, one line each."""
    handler = RichHandler(console=err_console, show_time=False, show_path=False, markup=False)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[handler],
        force=True,
    )


def handle_errors(func: F) -> F:
    """Turn :class:`SmssegError` (bad input) into a plain message on stderr and exit code 1.

    Programmer errors still raise with a traceback: they are bugs to fix, not input to correct.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SmssegError as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def warn(message: str) -> None:
    """One warning line on stderr (the message is printed as is, not as Rich markup)."""
    err_console.print("[yellow]warning:[/] ", end="")
    err_console.print(message, markup=False, highlight=False)


def note(message: str) -> None:
    """One note line on stderr."""
    err_console.print("[yellow]note:[/] ", end="")
    err_console.print(message, markup=False, highlight=False)


def report_as_of(dataset, as_of, *, held_out: bool = False, tables=None) -> None:
    """Say what the data holds after ``as_of`` and warn about an as-of past the data or now.

    Every command that reads the data as of an instant calls it, so a bare date (00:00 UTC,
    which leaves that day out) never drops the last day of data silently. ``held_out``: a
    backtest, whose later rows are its realized outcomes (only the note, worded for that).
    ``tables``: the tables to count (default: every dated table but the promotions calendar).
    """
    from smsseg.provenance import rows_after

    print_rows_after(rows_after(dataset, as_of, tables), held_out=held_out)


def print_rows_after(after, *, held_out: bool = False) -> None:
    """Print the note and warnings of :func:`report_as_of` from counts made earlier."""
    from smsseg.provenance import after_as_of_note, as_of_warnings

    message = after_as_of_note(after, held_out=held_out)
    if message:
        note(message)
    if not held_out:
        for message in as_of_warnings(after):
            warn(message)
