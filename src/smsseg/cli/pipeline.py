"""``smsseg demo``: the main job on a generated dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smsseg import config
from smsseg.cli.app import app, console, handle_errors
from smsseg.cli.data import print_summary
from smsseg.data.summary import summarize


@app.command()
@handle_errors
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path(
        "demo"
    ),
    customers: Annotated[
        int, typer.Option(help="Customers to generate.")
    ] = config.DEFAULT_CUSTOMERS,
    seed: Annotated[int, typer.Option(help="Random seed.")] = config.DEFAULT_SEED,
) -> None:
    """Generate a dataset, validate it and run the pipeline on it (what `make demo` runs)."""
    from smsseg.pipeline import run_demo

    console.rule("smsseg demo")
    result = run_demo(out, customers=customers, seed=seed)
    console.print(f"[green]generated and validated[/] {result.data_dir}")
    print_summary(summarize(result.data))
    for name, path in result.outputs.items():
        console.print(f"{name}: {path}")
