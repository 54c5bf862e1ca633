"""Data commands: ``validate``, ``generate``, ``summary``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smsseg import config
from smsseg.cli.app import app, console, err_console, handle_errors

#: The data directory option of every command that reads one.
DataOption = Annotated[Path, typer.Option("--data", help="Directory of contract tables.")]


@app.command()
@handle_errors
def validate(data: DataOption) -> None:
    """Check a data directory against the contract; exit 1 with clear messages if it breaks it."""
    from smsseg import pipeline

    data_dir = data
    report = pipeline.validate(data_dir)
    for problem in report.warnings:
        err_console.print("[yellow]warning:[/] ", end="")
        err_console.print(problem.render(), markup=False, highlight=False)
    if not report.ok:
        for problem in report.errors:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(problem.render(), markup=False, highlight=False)
        err_console.print(
            f"{len(report.errors)} error(s): {data_dir} does not meet the data contract."
        )
        raise typer.Exit(code=1)
    tables = ", ".join(f"{name} ({rows:,} rows)" for name, rows in report.row_counts.items())
    console.print(f"[green]valid:[/] {data_dir}: {tables}", highlight=False)


@app.command()
@handle_errors
def generate(
    out: Annotated[Path, typer.Option(help="Directory to write the tables and truth.parquet to.")],
    customers: Annotated[int, typer.Option(help="Number of customers.")] = config.DEFAULT_CUSTOMERS,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives identical files.")
    ] = config.DEFAULT_SEED,
    start: Annotated[
        str, typer.Option(help="First day of the simulated history (ISO date).")
    ] = config.DEFAULT_START,
    end: Annotated[
        str, typer.Option(help="Last day of the simulated history (ISO date).")
    ] = config.DEFAULT_END,
    flows: Annotated[
        bool,
        typer.Option(
            "--flows",
            help="Replay the lifecycle flows: catalogue campaign ids, quiet hours, randomized "
            "holdouts per flow (assignments) and a planted response to the cart reminder.",
        ),
    ] = False,
) -> None:
    """Generate a realistic retail dataset with planted ground truth (see docs/simulator.md)."""
    from smsseg import pipeline

    paths = pipeline.generate(
        out, customers=customers, seed=seed, start=start, end=end, progress=True, flows=flows
    )
    console.print(f"[green]wrote[/] {len(paths)} files to {out}")


@app.command()
@handle_errors
def summary(data: DataOption) -> None:
    """Validate a data directory and print its headline numbers."""
    from smsseg import pipeline

    print_summary(pipeline.summary(data))


def print_summary(facts: dict) -> None:
    table = Table(title="Dataset summary", show_header=False)
    for name, rows in facts["tables"].items():
        table.add_row(f"rows: {name}", f"{rows:,}")
    first, last = facts["date_range"]
    table.add_row("orders from / to", f"{first:%Y-%m-%d} / {last:%Y-%m-%d}")
    table.add_row("customers", f"{facts['customers']:,}")
    table.add_row(
        "buyers (≥1 order) / repeat (≥2)", f"{facts['buyers']:,} / {facts['repeat_buyers']:,}"
    )
    table.add_row("completed orders per customer", f"{facts['orders_per_customer']:.2f}")
    if facts["sms_opt_in_rate"] is not None:
        table.add_row("SMS opt-in rate (latest consent)", f"{facts['sms_opt_in_rate']:.1%}")
    if facts["loyalty_members"] is not None:
        table.add_row("loyalty members", f"{facts['loyalty_members']:,}")
    table.add_row("countries", f"{facts['countries']}")
    for name, count in facts.get("segment_counts", {}).items():
        table.add_row(name, f"{count:,}")
    console.print(table)
