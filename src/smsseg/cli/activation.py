"""Activation and report commands: ``plan`` and ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from smsseg import config
from smsseg.cli.app import app, console, handle_errors, report_as_of, warn
from smsseg.errors import SmssegError
from smsseg.timeutil import AS_OF_HELP, as_of_label, parse_as_of


def print_campaigns(campaigns: pd.DataFrame, suppressed: pd.DataFrame) -> None:
    """The plan by campaign, then the suppression reasons."""
    table = Table(title="Send plan by campaign")
    for name in ("campaign", "targeted", "scheduled", "holdout", "audience", "first send (UTC)"):
        table.add_column(name, justify="left" if name == "campaign" else "right")
    for row in campaigns.itertuples(index=False):
        first = "-" if pd.isna(row.first_send_utc) else f"{row.first_send_utc:%Y-%m-%d %H:%M}"
        table.add_row(
            row.campaign_id,
            f"{row.targeted:,}",
            f"{row.scheduled:,}",
            f"{row.holdout:,}",
            f"{row.audience:,}",
            first,
        )
    console.print(table)
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
    reasons = Table(title="Not sent, by reason (customer x campaign)")
    reasons.add_column("reason")
    reasons.add_column("rows", justify="right")
    for reason, n in suppressed["reason"].value_counts().items():
        reasons.add_row(str(reason), f"{n:,}")
    console.print(reasons)


#: Tables a plan reads whatever their dates: the consent history, the promotions calendar.
_READ_WHOLE = ("sms", "promotions")


def _check_segments(
    segments: Path, as_of: pd.Timestamp, data: Path, fingerprint: str | None
) -> str | None:
    """Refuse segments (and so scores) of another as-of or data; their model version.

    A folder without ``membership.parquet`` or an unreadable one is left to
    :func:`~smsseg.activation.run.run_plan`, which says what is wrong with it.
    """
    from smsseg.provenance import check_source, read_provenance

    path = segments / "membership.parquet"
    if not path.is_file():
        return None
    try:
        found = read_provenance(path)
    except Exception:  # not Parquet: pyarrow raises several types; run_plan reports it
        return None
    warning = check_source(
        found,
        f"segments {path}",
        as_of=as_of,
        fingerprint=fingerprint,
        data_dir=data,
        remedy=(
            f"run `smsseg score` and `smsseg segment` on this data as of {as_of_label(as_of)} first"
        ),
    )
    if warning:
        warn(warning)
    return None if found is None else found.model_version


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
    from smsseg.activation.run import run_plan
    from smsseg.data.load import load
    from smsseg.provenance import data_fingerprint, for_data, stamp_parquet

    stamp = parse_as_of(as_of, "--as-of")
    fingerprint = data_fingerprint(data)
    version = _check_segments(segments, stamp, data, fingerprint)
    result, paths = run_plan(
        segments,
        data,
        stamp,
        goal,
        out,
        holdout=holdout,
        seed=seed,
        policy_path=policy,
        catalogue_path=catalogue,
        priority=priority,
    )
    stamp_parquet(
        paths["plan.parquet"],
        for_data("plan", stamp, data, model_version=version, fingerprint=fingerprint),
    )
    # run_plan validated the data; the note reads it again without a second check. Consent
    # (the SMS table) is read whatever its date, so its later rows are not "left out".
    dataset = load(data, validate=False)
    report_as_of(dataset, stamp, tables=[t for t in dataset.present if t not in _READ_WHOLE])
    print_campaigns(result.campaigns, result.suppressed)
    console.print(f"[green]wrote[/] plan to {out}/plan.parquet")
    console.print(f"audiences: {out}/audiences/ ({len(result.campaigns)} files)")
    console.print(f"suppressed: {paths['suppressed.csv']}")


@app.command()
@handle_errors
def report(
    run: Annotated[Path, typer.Argument(help="Run folder (e.g. the demo folder).")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default RUN/report.html).")
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(help="Model directory (bundle.json), when it is not inside RUN."),
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
) -> None:
    """Write one self-contained HTML report of a run: data, features, models, backtest, tiers,
    segments, plan."""
    from smsseg.report import render_report

    overrides = {"data_dir": data}
    if models is not None:
        overrides["bundle_dir"] = models
        if (models / "churn_test.parquet").is_file():
            overrides["predictions"] = models / "churn_test.parquet"
    if backtest is not None:
        if not (backtest / "backtest.json").is_file() and not (
            backtest.name == "backtest.json" and backtest.is_file()
        ):
            raise SmssegError(
                f"--backtest {backtest} has no backtest.json (give the folder of "
                "smsseg backtest --out)"
            )
        overrides["backtest"] = backtest
    target = render_report(run, out or run / "report.html", **overrides)
    console.print(f"[green]wrote[/] report to {target}")
