"""``smsseg features``: build the point-in-time feature table, or print the feature catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from smsseg import config
from smsseg.cli.app import (
    ThreadsOption,
    app,
    console,
    handle_errors,
    print_rows_after,
    progress,
)
from smsseg.errors import SmssegError
from smsseg.pipeline.feature_table import DEFAULT_MEMORY_LIMIT
from smsseg.runtime import use_threads
from smsseg.spark.engine import DATA_HELP, ENGINE_HELP, SPARK_MASTER_HELP
from smsseg.timeutil import AS_OF_HELP, as_of_label


@app.command()
@handle_errors
def features(
    data: Annotated[
        str | None,
        typer.Option("--data", help=DATA_HELP + " Required (unless --list)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help=AS_OF_HELP + " Required (unless --list).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Parquet file to write. Required (unless --list).")
    ] = None,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Horizon of the BTYD predictions, in days.")
    ] = config.DEFAULT_HORIZON_DAYS,
    top_k: Annotated[int, typer.Option("--top-k", help="Categories in the category vectors.")] = 10,
    categories: Annotated[
        str | None,
        typer.Option(
            "--categories", help="Fixed comma-separated category list (overrides --top-k)."
        ),
    ] = None,
    validate: Annotated[
        bool, typer.Option("--validate/--no-validate", help="Check the data contract first.")
    ] = True,
    btyd: Annotated[
        bool,
        typer.Option("--btyd/--no-btyd", help="Fit BG/NBD + Gamma-Gamma for the btyd_* columns."),
    ] = True,
    memory_limit: Annotated[
        str,
        typer.Option(
            "--memory-limit", help="DuckDB memory limit; beyond it DuckDB spills to a temp dir."
        ),
    ] = DEFAULT_MEMORY_LIMIT,
    list_: Annotated[
        bool, typer.Option("--list", help="Print the feature catalogue and exit.")
    ] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(help=SPARK_MASTER_HELP)] = None,
    threads: ThreadsOption = 0,
) -> None:
    """Build one row of features per customer as of --as-of (no data after it is read)."""
    use_threads(threads)
    from smsseg.features import feature_catalogue

    if list_:
        print_catalogue(feature_catalogue())
        return
    missing = [
        flag
        for flag, value in (("--data", data), ("--as-of", as_of), ("--out", out))
        if value is None
    ]
    if missing:
        raise SmssegError(
            f"missing {', '.join(missing)}: use `smsseg features --data DIR --as-of DATE --out FILE.parquet`"
            " (or `smsseg features --list` for the catalogue)"
        )
    from smsseg import pipeline
    from smsseg.features import STEPS

    chosen = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    columns = (
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with progress(*columns) as bar:
        task = bar.add_task("load", total=len(STEPS) + 1)
        done = pipeline.features(
            data,
            as_of,
            out,
            horizon_days=horizon_days,
            top_k=top_k,
            categories=chosen,
            validate=validate,
            btyd=btyd,
            memory_limit=memory_limit,
            progress=lambda name: bar.update(task, advance=1, description=name),
            engine=engine,
            spark_master=spark_master,
        )
        bar.update(task, completed=len(STEPS) + 1, description="done")
    print_rows_after(done.rows_after)
    console.print(
        f"[green]wrote[/] {done.path}: {len(done.frame):,} customers x {done.frame.shape[1]} "
        f"features as of {as_of_label(done.rows_after.as_of)}",
        highlight=False,
    )


def print_catalogue(catalogue) -> None:
    """The catalogue: a table on a terminal, tab-separated lines (with a header) when piped."""
    columns = ["name", "dtype", "source", "window", "family", "description"]
    if not console.is_terminal:
        lines = ["\t".join(columns)] + [
            "\t".join(map(str, row)) for row in catalogue[columns].itertuples(index=False)
        ]
        typer.echo("\n".join(lines))
        return
    table = Table(title=f"smsseg feature catalogue ({len(catalogue)} declarations)")
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column("description", overflow="fold", min_width=30)
    for row in catalogue[columns].itertuples(index=False):
        table.add_row(*row)
    console.print(table)
