"""Lifecycle flow command: ``flows`` (due sends of the nine flows, and their state)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from smsseg import config
from smsseg.cli.app import app, console, handle_errors, report_as_of
from smsseg.errors import SmssegError
from smsseg.timeutil import AS_OF_HELP, parse_as_of


def parse_window(text: str) -> pd.Timedelta:
    """``"24h"`` / ``"1d"`` / ``"90min"`` → Timedelta; a clear error otherwise."""
    from smsseg.flows.catalogue import parse_duration

    try:
        window = parse_duration(text)
    except ValueError:
        window = pd.NaT
    if pd.isna(window) or window <= pd.Timedelta(0):
        raise SmssegError(f"--window {text!r} must be a positive duration such as 1h, 24h or 7d")
    return window


@app.command()
@handle_errors
def flows(
    data: Annotated[Path, typer.Option(help="Directory of contract tables.")],
    as_of: Annotated[str, typer.Option(help=AS_OF_HELP + " Sends are due after it.")],
    out: Annotated[Path, typer.Option(help="Folder for plan.parquet, audiences/, state.parquet.")],
    window: Annotated[str, typer.Option(help="Emit the sends due in (as-of, as-of + window].")] = "24h",
    scores: Annotated[
        list[Path] | None,
        typer.Option(help="Scores file(s) of smsseg score (churn bands, next order date); repeat "
                     "for a history. Each must be scored at or before the as-of."),
    ] = None,
    flows_file: Annotated[
        Path | None, typer.Option("--flows", help="TOML file overriding or adding flows.")
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="TOML file overriding the policy.")] = None,
    catalogue: Annotated[
        Path | None, typer.Option(help="TOML file overriding the segment catalogue.")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Output folder of smsseg plan: its sends count toward caps.")
    ] = None,
    holdout: Annotated[float, typer.Option(help="Sticky control share of each flow.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed recorded in the plan.")] = config.DEFAULT_SEED,
) -> None:
    """Due sends of the nine lifecycle flows in (as-of, as-of + window], and each flow's state.

    Run it every hour or day with the window equal to the cadence: consecutive runs give the
    same sends as one long run (see docs/flows.md).
    """
    from smsseg.cli.activation import print_campaigns
    from smsseg.data.load import load
    from smsseg.flows.run import run_flows

    stamp = parse_as_of(as_of, "--as-of")
    result, path = run_flows(
        data, stamp, parse_window(window), out, scores=scores or (), flows_path=flows_file,
        policy_path=policy, catalogue_path=catalogue, plan_dir=plan, holdout=holdout, seed=seed,
    )  # fmt: skip
    dataset = load(data, validate=False)
    report_as_of(dataset, stamp, tables=[t for t in dataset.present if t not in ("sms", "promotions")])
    print_campaigns(result.plan.campaigns, result.plan.suppressed)
    counts = result.state["status"].value_counts()
    console.print(
        "flow instances: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f"; {len(result.emails):,} email step(s) due"
    )
    console.print(f"[green]wrote[/] due sends to {path}/plan.parquet, state to {path}/state.parquet")
