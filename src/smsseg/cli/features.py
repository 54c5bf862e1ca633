"""``smsseg features``: build the point-in-time feature table, or print the feature catalogue."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from smsseg import config
from smsseg._io import write_parquet
from smsseg.cli.app import app, console, handle_errors, print_rows_after, progress
from smsseg.errors import SmssegError
from smsseg.spark.engine import ENGINE_HELP, SPARK_MASTER_HELP
from smsseg.timeutil import AS_OF_HELP, as_of_label, parse_as_of

#: Keeps a million-customer build under ~4 GB of RAM (DuckDB's own default is 80% of RAM).
DEFAULT_MEMORY_LIMIT = "2GB"


@app.command()
@handle_errors
def features(
    data: Annotated[
        Path | None, typer.Option("--data", help="Directory of contract tables.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP + " Required.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Parquet file to write.")] = None,
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
) -> None:
    """Build one row of features per customer as of --as-of (no data after it is read)."""
    from smsseg.features import feature_catalogue
    from smsseg.provenance import for_data

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
    stamp = parse_as_of(as_of, "--as-of")
    if out.suffix != ".parquet":
        raise SmssegError(f"--out={str(out)!r} must be a .parquet file")
    if top_k < 1:
        raise SmssegError(f"--top-k={top_k} must be >= 1")
    chosen = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    # its warnings are summarised, once each, when the command ends
    frame, after = _build(
        data, stamp, horizon_days, top_k, chosen, validate, btyd, memory_limit, engine, spark_master
    )
    print_rows_after(after)
    provenance = for_data("features", stamp, data)
    write_parquet(frame, out, use_dictionary=text_columns(frame), metadata=provenance.to_metadata())
    console.print(
        f"[green]wrote[/] {out}: {len(frame):,} customers x {frame.shape[1]} features as of "
        f"{as_of_label(stamp)}",
        highlight=False,
    )


def text_columns(frame) -> list[str]:
    """The index and the string / category columns: the only ones Parquet dictionary-encodes.

    Dictionary pages pay off for repeated labels (country, segment); on the ~100 float and count
    columns they only cost time (a third of the write on a million customers).
    """
    import pandas as pd

    text = [
        name
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
    ]
    return [frame.index.name or "__index_level_0__", *text]


def _build(
    data, as_of, horizon_days, top_k, categories, validate, btyd, memory_limit, engine, spark_master
):
    import duckdb

    from smsseg.data.load import connect
    from smsseg.features import STEPS, build_features
    from smsseg.provenance import rows_after
    from smsseg.spark.engine import check_engine, load_data

    check_engine(engine)

    columns = (
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with progress(*columns) as bar:
        task = bar.add_task("load", total=len(STEPS) + 1)
        try:
            con = connect(memory_limit=memory_limit)
        except duckdb.Error as exc:
            raise SmssegError(
                f"--memory-limit={memory_limit!r} is not a DuckDB memory size (e.g. 3GB): {exc}"
            ) from None
        spill = tempfile.mkdtemp(prefix="smsseg-features-")
        con.execute(f"SET temp_directory = '{spill}'")  # not DuckDB's default, ./.tmp in the cwd
        try:
            dataset = load_data(data, engine, spark_master, validate=validate, con=con)

            def step(name: str) -> None:
                bar.update(task, advance=1, description=name)

            frame = build_features(
                dataset,
                as_of,
                horizon_days=horizon_days,
                top_k=top_k,
                categories=categories,
                btyd=btyd,
                progress=step,
            )
            # counted before the connection closes; printed after the progress bar
            after = rows_after(dataset, as_of)
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)
        bar.update(task, advance=1, description="done")
    return frame, after


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
