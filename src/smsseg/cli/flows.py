"""Lifecycle flow commands: ``flows`` (due sends and state) and ``flows backtest`` (replay)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from smsseg import config
from smsseg.cli.app import app, console, handle_errors, print_rows_after
from smsseg.errors import SmssegError
from smsseg.timeutil import AS_OF_HELP, parse_as_of

flows_app = typer.Typer(no_args_is_help=False)
app.add_typer(flows_app, name="flows")

ScoresOpt = Annotated[
    list[Path] | None,
    typer.Option("--scores", help="Scores file(s) of smsseg score (churn bands, next order date); "
                 "repeat for a history. Each must be scored at or before the as-of."),
]  # fmt: skip
FlowsOpt = Annotated[
    Path | None, typer.Option("--flows", help="TOML file overriding or adding flows.")
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="TOML file overriding the policy.")
]
CatalogueOpt = Annotated[
    Path | None, typer.Option("--catalogue", help="TOML file overriding the segment catalogue.")
]
HoldoutOpt = Annotated[float, typer.Option("--holdout", help="Sticky control share of each flow.")]


def parse_window(text: str, name: str = "--window") -> pd.Timedelta:
    """``"24h"`` / ``"1d"`` / ``"90min"`` → Timedelta; a clear error otherwise."""
    from smsseg.flows.catalogue import parse_duration

    try:
        window = parse_duration(text)
    except ValueError:
        window = pd.NaT
    if pd.isna(window) or window <= pd.Timedelta(0):
        raise SmssegError(f"{name} {text!r} must be a positive duration such as 1h, 24h or 7d")
    return window


@flows_app.callback(invoke_without_command=True)
@handle_errors
def flows(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(help="Directory of contract tables.")] = None,
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP + " Sends are due after it.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for plan.parquet, audiences/, state.parquet.")
    ] = None,
    window: Annotated[
        str, typer.Option(help="Emit the sends due in (as-of, as-of + window].")
    ] = "24h",
    scores: ScoresOpt = None,
    flows_file: FlowsOpt = None,
    policy: PolicyOpt = None,
    catalogue: CatalogueOpt = None,
    plan: Annotated[
        Path | None, typer.Option(help="Output folder of smsseg plan: its sends count toward caps.")
    ] = None,
    holdout: HoldoutOpt = 0.1,
    seed: Annotated[int, typer.Option(help="Seed recorded in the plan.")] = config.DEFAULT_SEED,
) -> None:
    """Due sends of the nine lifecycle flows in (as-of, as-of + window], and each flow's state.

    Run it every hour or day with the window equal to the cadence: consecutive runs give the
    same sends as one long run (docs/flows.md). `smsseg flows backtest` replays them over history.
    """
    if ctx.invoked_subcommand is not None:
        return
    missing = [n for n, v in (("--data", data), ("--as-of", as_of), ("--out", out)) if v is None]
    if missing:
        raise SmssegError(f"smsseg flows needs {', '.join(missing)} (see smsseg flows --help)")
    from smsseg.cli.activation import print_campaigns
    from smsseg.data.load import load
    from smsseg.flows.run import run_flows

    stamp = parse_as_of(as_of, "--as-of")
    result, path = run_flows(
        data, stamp, parse_window(window), out, scores=scores or (), flows_path=flows_file,
        policy_path=policy, catalogue_path=catalogue, plan_dir=plan, holdout=holdout, seed=seed,
    )  # fmt: skip
    from smsseg.provenance import rows_after

    dataset = load(data, validate=False)
    read = [t for t in dataset.present if t not in ("sms", "promotions")]
    print_rows_after(rows_after(dataset, stamp, read))
    print_campaigns(result.plan.campaigns, result.plan.suppressed)
    counts = result.state["status"].value_counts()
    console.print(
        "flow instances: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f"; {len(result.emails):,} email step(s) due"
    )
    console.print(
        f"[green]wrote[/] due sends to {path}/plan.parquet, state to {path}/state.parquet"
    )


def print_backtest(by_flow: pd.DataFrame, summary: dict) -> None:
    table = Table(title=f"Flows replayed {summary['start'][:16]} to {summary['end'][:16]}")
    cols = ["sent", "holdout", "capped", "discount_cooldown", "caught_after_exit", "missed",
            "sent_after_exit"]  # fmt: skip
    table.add_column("flow")
    for c in (*cols, "share capped"):
        table.add_column(c.replace("_", " "), justify="right")
    for row in by_flow.itertuples(index=False):
        share = "-" if pd.isna(row.share_capped) else f"{row.share_capped:.0%}"
        table.add_row(row.flow, *[f"{int(getattr(row, c)):,}" for c in cols], share)
    console.print(table)
    console.print(
        f"{summary['flow_sms_sent']:,} flow SMS to {summary['customers_messaged']:,} customers "
        f"({summary['flow_sms_per_messaged_customer_per_week']:.2f} per messaged customer per "
        f"week); expected opt-outs from the flows {summary['expected_optouts_from_flows']:.1f}",
        highlight=False,
    )


def print_effects(effects: pd.DataFrame) -> None:
    """The measured effect per flow with randomized history (nothing when there is none)."""
    if effects.empty:
        return
    table = Table(title="Measured effect (conversion, treated − holdout)")
    for col in ("flow", "treated", "holdout", "conv. treated", "conv. holdout", "effect",
                "95% CI", "p"):  # fmt: skip
        table.add_column(col)
    for r in effects.itertuples(index=False):
        ci = "" if pd.isna(r.effect) else f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
        table.add_row(r.flow, f"{r.n_treated:,}", f"{r.n_holdout:,}",
                      f"{r.conversion_treated:.3f}", f"{r.conversion_holdout:.3f}",
                      "" if pd.isna(r.effect) else f"{r.effect:+.3f}", ci or r.note,
                      "" if pd.isna(r.effect) else f"{r.p_value:.3g}")  # fmt: skip
    console.print(table)


@flows_app.command("backtest")
@handle_errors
def backtest(
    data: Annotated[Path, typer.Option(help="Directory of contract tables.")],
    start: Annotated[
        str,
        typer.Option("--from", help="Start of the replay: an instant in UTC (a date is 00:00)."),
    ],
    end: Annotated[str, typer.Option("--to", help="End of the replay (included), as --from.")],
    out: Annotated[Path, typer.Option(help="Folder for the tables, plots and backtest.json.")],
    cadence: Annotated[str, typer.Option(help="How often the replayed scheduler runs.")] = "1h",
    scores: ScoresOpt = None,
    flows_file: FlowsOpt = None,
    policy: PolicyOpt = None,
    catalogue: CatalogueOpt = None,
    holdout: HoldoutOpt = 0.1,
    conversion_days: Annotated[
        float,
        typer.Option(
            help="Days after a flow's randomization in which an order is a conversion "
            "(measured effect of flows with a holdout in the assignments table)."
        ),
    ] = 7.0,
    shard_size: Annotated[
        int, typer.Option(help="Customers replayed together (bounds memory).")
    ] = 25_000,
) -> None:
    """Replay the flows over history as if they had been live: volumes, caps, opt-outs, effects."""
    from smsseg.flows.run import run_backtest

    result, paths = run_backtest(
        data, parse_as_of(start, "--from"), parse_as_of(end, "--to"), out,
        cadence=parse_window(cadence, "--cadence"), scores=scores or (), flows_path=flows_file,
        policy_path=policy, catalogue_path=catalogue, holdout=holdout,
        conversion_days=conversion_days, shard_size=shard_size,
    )  # fmt: skip
    print_backtest(result.by_flow, result.summary)
    print_effects(result.effects)
    console.print(
        f"[green]wrote[/] backtest to {out} ({', '.join(p.name for p in paths.values())})"
    )
