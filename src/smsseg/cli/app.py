"""The ``smsseg`` Typer application and the error handling shared by every command."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress
from rich.table import Table

from smsseg.errors import SmssegError
from smsseg.runtime import THREADS_HELP

app = typer.Typer(
    name="smsseg",
    help="ML-driven customer segmentation and churn scoring for SMS marketing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # click's plain help: flags show as --x / --no-x (Typer's rich panels add a "<bool>" type
    # to every flag) and lines wrap to the terminal
    rich_markup_mode=None,
)
console = Console(soft_wrap=True)
#: ``--threads`` of every heavy command (one default for DuckDB and LightGBM: smsseg.runtime)
ThreadsOption = Annotated[int, typer.Option("--threads", help=THREADS_HELP)]
err_console = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable)


class WarningSummary:
    """The warnings of one command: Python warnings and WARNING-or-worse log records.

    Nothing is silenced: each distinct message is counted as it comes and printed once, with
    its count, when the command ends (:meth:`print`), after any progress bar has gone.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()  # insertion order: first seen first

    def add(self, message: str) -> None:
        self.counts[message.strip()] += 1

    def showwarning(self, message, category, filename, lineno, file=None, line=None) -> None:
        """A :func:`warnings.showwarning` replacement that records instead of printing."""
        self.add(f"{message} ({category.__name__})")

    def print(self, console: Console) -> None:
        if not self.counts:
            return
        total = sum(self.counts.values())
        console.print(
            f"[yellow]{total} warning(s)[/], {len(self.counts)} distinct:", highlight=False
        )
        for message, count in self.counts.items():
            times = f" [dim](x{count})[/]" if count > 1 else ""
            console.print("[yellow]warning:[/] ", end="")
            console.print(message, markup=False, highlight=False, end="")
            console.print(times, highlight=False)


class _SummaryHandler(logging.Handler):
    """Log records of WARNING and above go to the command's :class:`WarningSummary`."""

    def __init__(self, summary: WarningSummary) -> None:
        super().__init__(level=logging.WARNING)
        self.summary = summary

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.summary.add(record.getMessage())
        except Exception:  # a malformed record must not end the command
            self.handleError(record)


@contextlib.contextmanager
def warning_summary(console: Console) -> Iterator[WarningSummary]:
    """Record the warnings raised and logged inside, print them once (counted) on the way out.

    Every Python warning is recorded each time it is raised ("always": the count is real),
    except deprecation warnings raised in other packages' code, which Python's default filters
    leave to those packages' developers (ours, attributed to ``smsseg`` modules, are recorded).
    Filters the user chose with ``-W`` / ``PYTHONWARNINGS`` are left as they are. Log records
    below WARNING (``--verbose``) still go to ``console`` as they come.
    """
    summary = WarningSummary()
    live = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    live.addFilter(lambda record: record.levelno < logging.WARNING)
    root = logging.getLogger()
    handlers = [live, _SummaryHandler(summary)]
    for handler in handlers:
        root.addHandler(handler)
    try:
        with warnings.catch_warnings():
            if not sys.warnoptions:
                warnings.simplefilter("always")
                for category in (DeprecationWarning, PendingDeprecationWarning):
                    warnings.filterwarnings("ignore", category=category)  # Python's default
                    warnings.filterwarnings("always", category=category, module=r"smsseg(\.|$)")
            warnings.showwarning = summary.showwarning
            yield summary
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        summary.print(console)


def _print_version(value: bool) -> None:
    if value:
        from smsseg import __version__

        console.print(f"smsseg {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _configure_logging(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print informational logs."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Informational logs (``--verbose``) go to stderr as they come; warnings, summarised, at the end."""
    root = logging.getLogger()
    for handler in list(root.handlers):  # a second command in the same process starts afresh
        if isinstance(handler, (RichHandler, _SummaryHandler)):
            root.removeHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    ctx.with_resource(warning_summary(err_console))


class ClearingProgress(Progress):
    """A progress bar that leaves its last state on success and clears itself on an error.

    A bar stopped by an exception (``load 0/11``) says nothing the error message does not, and
    would sit above it.
    """

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        if exc_type is not None:
            self.live.transient = True
        super().__exit__(exc_type, exc_val, exc_tb)


def progress(*columns) -> Progress:
    """A progress bar on stderr (see :class:`ClearingProgress`)."""
    return ClearingProgress(*columns, console=err_console, transient=False)


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


def print_rows_after(after, *, held_out: bool = False) -> None:
    """Say what the data holds after the as-of and warn about an as-of past the data or now.

    Every command that reads the data as of an instant prints it (the pipeline steps return the
    counts, :class:`smsseg.provenance.RowsAfter`), so a bare date (00:00 UTC, which leaves that
    day out) never drops the last day of data silently. ``held_out``: a backtest, whose later
    rows are its realized outcomes (only the note, worded for that).
    """
    from smsseg.provenance import after_as_of_note, as_of_warnings

    message = after_as_of_note(after, held_out=held_out)
    if message:
        note(message)
    if not held_out:
        for message in as_of_warnings(after):
            warn(message)


def number(x: float | None, digits: int = 4, pct: bool = False) -> str:
    """A number for a table: ``digits`` significant digits, thousands separators, never in
    scientific notation (``18,940``, not ``1.894e+04``); ``–`` for missing.

    >>> number(18940.2), number(0.000012345), number(2.5, pct=True), number(float("nan"))
    ('18,940', '0.00001234', '250.00%', '–')
    """
    import math

    import numpy as np

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if pct:
        return f"{x:.2%}"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    text = np.format_float_positional(
        float(x), precision=digits, unique=False, fractional=False, trim="-"
    )
    return text


def compact_table(title: str, caption: str | None = None) -> Table:
    """A table with one space between columns and no outer padding: more columns fit an
    80-column terminal. Callers mark their label columns ``no_wrap`` (ids are never cut)."""
    from rich import box

    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )


@dataclass(frozen=True)
class Column:
    """A column of :func:`fitted_table`.

    ``label``: text that may wrap on a narrow terminal (names, ids); other columns (numbers,
    dates) are never cut. ``optional``: left out, last first, when the table would not fit.
    """

    header: str
    label: bool = False
    optional: bool = False


def fitted_table(
    title: str,
    columns: list[Column],
    rows: list[tuple[str, ...]],
    *,
    full: str = "the written files",
    width: int | None = None,
) -> Table:
    """A table that fits the terminal without cutting a number.

    Optional columns are dropped (the caption says which, and that ``full`` has them) until the
    numbers fit; label columns then wrap (``fold``) rather than end in "…".
    """
    width = width or console.width
    natural = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    keep = list(range(len(columns)))

    def total() -> int:
        return sum(natural[i] for i in keep) + 2 * (len(keep) - 1)

    for i in reversed(range(len(columns))):
        if total() <= width:
            break
        if columns[i].optional:
            keep.remove(i)
    dropped = [columns[i].header for i in range(len(columns)) if i not in keep]
    caption = f"{', '.join(dropped)}: not shown at this width; see {full}" if dropped else None
    table = compact_table(title, caption)
    for i in keep:
        c = columns[i]
        if c.label:
            table.add_column(c.header, justify="left", overflow="fold", min_width=len(c.header))
        else:
            table.add_column(c.header, justify="right", no_wrap=True, min_width=natural[i])
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table
