"""``smsseg segment``: value tiers and the twelve SMS segments as of a date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from smsseg import config
from smsseg.cli.app import (
    Column,
    ThreadsOption,
    app,
    compact_table,
    console,
    fitted_table,
    handle_errors,
    print_rows_after,
)
from smsseg.runtime import use_threads
from smsseg.spark.engine import DATA_HELP, ENGINE_HELP, SPARK_MASTER_HELP
from smsseg.timeutil import AS_OF_HELP, as_of_label


def print_segment_summary(summary: pd.DataFrame, title: str = "SMS segments") -> None:
    """Print the segment summary as a table (also meant for the end of ``smsseg demo``)."""
    rows = [
        (
            row.key,
            f"{row.customers:,}",
            f"{row.share:.1%}",
            f"{row.primary_customers:,}",
            _pct(row.revenue_share),
            "-" if pd.isna(row.mean_churn_probability) else f"{row.mean_churn_probability:.2f}",
            _pct(row.opted_in_share, 0),
            str(row.frequency_cap_per_week),
            row.flow if isinstance(row.flow, str) and row.flow else "(campaigns)",
        )
        for row in summary.itertuples(index=False)
    ]
    columns = [
        Column("segment", label=True),
        Column("size"),
        Column("share"),
        Column("primary", optional=True),
        Column("revenue", optional=True),
        Column("churn"),
        Column("opt-in"),
        Column("cap"),
        Column("flow", label=True),
    ]
    console.print(fitted_table(title, columns, rows))


def _pct(value: float, digits: int = 1) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}%}"


def print_tier_profile(profile: pd.DataFrame) -> None:
    table = compact_table("Value tiers")
    for name in ("tier", "customers", "share", "revenue share", "mean spend", "mean CLV", "churn"):
        table.add_column(name, justify="left" if name == "tier" else "right", no_wrap=True)
    for row in profile.itertuples(index=False):
        table.add_row(
            row.tier,
            f"{row.customers:,}",
            f"{row.share:.1%}",
            _pct(row.revenue_share),
            f"{row.mean_monetary:,.0f}",
            "-" if pd.isna(row.mean_clv) else f"{row.mean_clv:,.0f}",
            "-" if pd.isna(row.mean_churn_probability) else f"{row.mean_churn_probability:.2f}",
        )
    console.print(table)


@app.command()
@handle_errors
def segment(
    data: Annotated[str, typer.Option(help=DATA_HELP)],
    as_of: Annotated[str, typer.Option(help=AS_OF_HELP)],
    scores: Annotated[
        Path, typer.Option(help="Scores Parquet of `smsseg score` on DATA as of the same instant.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for membership, summary and tiers.")],
    catalogue: Annotated[
        Path | None, typer.Option(help="TOML file overriding parts of the segment catalogue.")
    ] = None,
    tiers: Annotated[
        Path | None,
        typer.Option(
            help="Value-tiers JSON to apply; if the file does not exist, tiers are fitted and "
            "saved there. Default: fitted on this date, saved to OUT/value_tiers.json."
        ),
    ] = None,
    transitions_from: Annotated[
        str | None, typer.Option(help="Also report the moves from this earlier date.")
    ] = None,
    scores_from: Annotated[
        Path | None, typer.Option(help="Scores as of --transitions-from (needed with it).")
    ] = None,
    mlflow: Annotated[bool, typer.Option(help="Log newly fitted tiers to MLflow.")] = True,
    stability_boot: Annotated[
        int, typer.Option(help="Bootstrap refits for the tiers' ARI stability (0: skip).")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Random seed of the tier fit.")] = config.DEFAULT_SEED,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(help=SPARK_MASTER_HELP)] = None,
    threads: ThreadsOption = 0,
) -> None:
    """Assign customers to value tiers and the twelve SMS segments as of a date."""
    use_threads(threads)
    from smsseg import pipeline

    done = pipeline.segment(
        data,
        as_of,
        scores,
        out,
        catalogue=catalogue,
        tiers=tiers,
        transitions_from=transitions_from,
        scores_from=scores_from,
        mlflow=mlflow,
        stability_boot=stability_boot,
        seed=seed,
        engine=engine,
        spark_master=spark_master,
    )
    print_segments(done)


def print_segments(done) -> None:
    """What ``segment`` prints of a :class:`smsseg.pipeline.SegmentOutput`."""
    run = done.run
    print_rows_after(done.rows_after)
    if done.tiers_fitted:
        ari = done.stability
        console.print(
            f"tiers: k={run.tiers.k_} by {run.tiers.criterion}, saved to {done.tiers_path}"
            + (f"; bootstrap ARI mean {np.mean(ari):.3f}, min {min(ari):.3f}" if ari else ""),
            highlight=False,
        )
    print_tier_profile(run.profile)
    when = as_of_label(done.rows_after.as_of)
    print_segment_summary(run.summary, title=f"SMS segments as of {when}")
    if done.moves is not None:
        print_transitions(done.moves, as_of_label(done.earlier), when)
    console.print(
        f"[green]wrote[/] {done.out}: membership.parquet, segment_summary.csv, tiers.csv",
        highlight=False,
    )


def print_transitions(moves: pd.DataFrame, start: str, end: str, top: int = 15) -> None:
    """Print the largest primary-segment moves (staying put excluded)."""
    moved = moves[moves["from_segment"] != moves["to_segment"]].nlargest(top, "customers")
    table = compact_table(f"Primary-segment moves {start} -> {end} (top {top})")
    for name in ("from", "to", "customers", "share of from"):
        table.add_column(
            name,
            justify="right" if name in ("customers", "share of from") else "left",
            no_wrap=True,
        )
    for row in moved.itertuples(index=False):
        table.add_row(
            row.from_segment, row.to_segment, f"{row.customers:,}", f"{row.share_of_from:.1%}"
        )
    console.print(table)
