"""Dataset commands: ``datasets cdnow`` writes the shipped real data as a data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from smsseg import config
from smsseg.cli.app import app, console, err_console, handle_errors

datasets_app = typer.Typer(
    no_args_is_help=True,
    help="Write the real datasets shipped with smsseg as data directories.",
)
app.add_typer(
    datasets_app,
    name="datasets",
    help="Write the real datasets shipped with smsseg as data directories.",
)


@datasets_app.command("cdnow")
@handle_errors
def cdnow(
    out: Annotated[Path, typer.Option(help="Data directory to write (new, empty or a dataset).")],
    customers: Annotated[
        int | None,
        typer.Option(help="Keep a random subset of this many customers (whole histories)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the --customers subset.")
    ] = config.DEFAULT_SEED,
) -> None:
    """CDNOW (Fader, Hardie & Lee 2005): real CD-retailer transactions, 1997-98.

    Writes customers, orders and order_items as Parquet, then validates the directory. The real
    data has no profiles, events, SMS, loyalty or discounts.
    """
    from smsseg.data.load import validate_dir
    from smsseg.datasets.cdnow import write_cdnow

    write_cdnow(out, customers=customers, seed=seed)
    report = validate_dir(out)
    if not report.ok:
        # the converter's output breaking the contract is a bug; say so rather than hide it
        for problem in report.errors:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(problem.render(), markup=False, highlight=False)
        err_console.print(f"{len(report.errors)} error(s): {out} does not meet the data contract.")
        raise typer.Exit(code=1)
    dates = pd.read_parquet(out / "orders.parquet", columns=["ordered_at"])["ordered_at"]
    counts = report.row_counts
    console.print(
        f"[green]wrote[/] {out}: CDNOW, {counts['customers']:,} customers, "
        f"{counts['orders']:,} orders ({counts['order_items']:,} order lines), "
        f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}; valid",
        highlight=False,
    )
