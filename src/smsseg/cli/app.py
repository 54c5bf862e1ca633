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
