"""Activation and report commands: ``plan`` and ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from smsseg import config
from smsseg.cli.app import (
    Column,
    app,
    compact_table,
    console,
    fitted_table,
    handle_errors,
    print_rows_after,
)
from smsseg.timeutil import AS_OF_HELP


def print_campaigns(campaigns: pd.DataFrame, suppressed: pd.DataFrame) -> None:
    """The plan by campaign, then the suppression reasons."""
    rows = [
        (
            str(row.campaign_id),
            f"{row.targeted:,}",
            f"{row.scheduled:,}",
            f"{row.holdout:,}",
            f"{row.audience:,}",
            "-" if pd.isna(row.first_send_utc) else f"{row.first_send_utc:%Y-%m-%d %H:%M}",
        )
        for row in campaigns.itertuples(index=False)
    ]
    columns = [
        Column("campaign", label=True),
        Column("targeted"),
        Column("scheduled"),
        Column("holdout"),
        Column("audience", optional=True),
        Column("first send UTC", optional=True),
    ]
    console.print(fitted_table("Send plan by campaign", columns, rows))
    for row in campaigns[campaigns["note"].astype(str) != ""].itertuples(index=False):
        console.print(f"[yellow]note[/] {row.campaign_id}: {row.note}")
    for row in campaigns[campaigns["suppressed_capped"] > 0].itertuples(index=False):
        console.print(f"lost to caps: {row.campaign_id} {row.suppressed_capped:,} ({row.lost_to})")
    late = int(campaigns.get("suppressed_stop_after_as_of", pd.Series(dtype=int)).sum())
    if late:
        console.print(
            f"[yellow]note[/] {late:,} planned messages not sent: a STOP received after the "
            "as-of date, before their send time"
        )
    reasons = compact_table("Not sent, by reason (customer x campaign)")
    reasons.add_column("reason", no_wrap=True)
    reasons.add_column("rows", justify="right")
    for reason, n in suppressed["reason"].value_counts().items():
        reasons.add_row(str(reason), f"{n:,}")
    console.print(reasons)


@app.command()
@handle_errors
def plan(
    segments: Annotated[Path, typer.Option(help="Output folder of `smsseg segment`.")],
    data: Annotated[Path, typer.Option(help="Directory of contract tables.")],
    as_of: Annotated[
        str,
        typer.Option(
            help=AS_OF_HELP + " The plan's sends start the next day; segments must be as of it."
        ),
    ],
    goal: Annotated[
        list[str],
        typer.Option(help="Campaign goal; repeat for several (see docs/activation.md)."),
    ],
    out: Annotated[Path, typer.Option(help="Folder for plan.parquet, audiences/, suppressed.csv.")],
    holdout: Annotated[float, typer.Option(help="Control share of each campaign.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the holdout draw.")] = config.DEFAULT_SEED,
    policy: Annotated[
        Path | None, typer.Option(help="TOML file overriding the activation policy.")
    ] = None,
    catalogue: Annotated[
        Path | None, typer.Option(help="TOML file overriding parts of the segment catalogue.")
    ] = None,
    priority: Annotated[
        str | None,
        typer.Option(help="Who wins a capped send: value (default), policy, or goals a,b,c."),
    ] = None,
) -> None:
    """Turn segments into a send plan: consent, caps, quiet hours, sunset, holdouts, audiences."""
    from smsseg import pipeline

    done = pipeline.plan(
        segments,
        data,
        as_of,
        goal,
        out,
        holdout=holdout,
        seed=seed,
        policy=policy,
        catalogue=catalogue,
        priority=priority,
    )
    print_plan(done)


def print_plan(done) -> None:
    """What ``plan`` prints of a :class:`smsseg.pipeline.PlanOutput`."""
    print_rows_after(done.rows_after)
    print_campaigns(done.plan.campaigns, done.plan.suppressed)
    out = done.paths["plan.parquet"].parent
    console.print(f"[green]wrote[/] plan to {done.paths['plan.parquet']}", highlight=False)
    console.print(
        f"audiences: {out}/audiences/ ({len(done.plan.campaigns)} files)", highlight=False
    )
    console.print(f"suppressed: {done.paths['suppressed.csv']}", highlight=False)


@app.command()
@handle_errors
def report(
    run: Annotated[Path, typer.Argument(help="Run folder (e.g. the demo folder).")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default RUN/report.html).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model name under models/ or a model directory, when not inside RUN."),
    ] = None,
    backtest: Annotated[
        Path | None,
        typer.Option(
            help="Folder written by smsseg backtest --out (backtest.json), when it is not "
            "inside RUN."
        ),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Directory of contract tables, when it is not inside RUN.")
    ] = None,
    flows_backtest: Annotated[
        Path | None,
        typer.Option(help="Folder written by smsseg flows backtest --out, when not inside RUN."),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run: data, features, models, backtest, tiers,
    segments, plan, flows backtest."""
    from smsseg import pipeline

    target = pipeline.report(
        run, out, model=model, backtest=backtest, data=data, flows_backtest=flows_backtest
    )
    console.print(f"[green]wrote[/] report to {target}", highlight=False)
