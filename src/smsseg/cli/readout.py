"""Readout commands: ``readout`` (A/B test), ``power`` (planning), ``campaign-metrics``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.table import Table

from smsseg._io import write_csv, write_parquet
from smsseg.cli.app import Column, app, console, fitted_table, handle_errors, number
from smsseg.errors import SmssegError


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    if out.name.lower().endswith((".parquet", ".pq")):
        write_parquet(frame, out, index=False)
    else:
        write_csv(frame, out)
    console.print(f"[green]wrote[/] {len(frame):,} rows to {out}")


def _split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _fmt(x: float, pct: bool = False) -> str:
    return number(x, pct=pct)


def _p_value(p: float) -> str:
    """A p-value without scientific notation: 4 decimals, ``<0.0001`` below that."""
    if math.isnan(p):
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _ci(low: float, high: float, pct: bool = False) -> str:
    return "–" if math.isnan(low) else f"[{_fmt(low, pct)}, {_fmt(high, pct)}]"


def print_readout(table: pd.DataFrame, title: str) -> None:
    """SRM verdict first, then the essentials of each row; notes (messages) under the table.

    The verdict comes from the typed ``srm_ok`` column and the table's ``attrs["srm_message"]``,
    never from the wording of ``message``.
    """
    srm = table.attrs.get("srm_message")
    p_value = table["srm_p_value"].iloc[0] if len(table) else float("nan")
    flagged = bool(table["srm_ok"].eq(False).any())
    checked = bool(table["srm_ok"].notna().any())
    if flagged:
        console.print(f"[bold red]SRM check:[/] p = {_p_value(p_value)}")
        if srm is not None:  # the alarm starts every row's message; say it once, here
            console.print(srm, style="bold red", highlight=False, markup=False)
    elif not checked:
        console.print("[yellow]SRM check:[/] ", end="")
        reason = srm if srm is not None else "not possible"
        console.print(reason, highlight=False, markup=False)
    else:
        console.print(f"[green]SRM check:[/] p = {_p_value(p_value)} (ok)")
    view = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
        caption="--out writes every column (CIs, raw p, loss, method)",
    )
    wide = console.width >= 120  # narrow terminals get the essentials only
    heads = (["segment"] if (table["segment"] != "all").any() else []) + ["variant", "metric"]
    heads += (
        ["n", "control", "variant mean", "lift", "95% CI", "p adj", "P(beat)", "sig"]
        if wide
        else ["control", "mean", "lift", "p adj", "sig"]
    )
    for head in heads:
        left = head in ("segment", "variant", "metric", "95% CI")
        view.add_column(head, no_wrap=head != "95% CI", justify="left" if left else "right")
    notes = []
    rates = set(table.loc[table["kind"] == "proportion", "metric"])
    alarm = srm if flagged else None
    for r in table.itertuples():
        pct = r.metric in rates
        note = r.message
        if alarm:  # printed above
            note = note.removeprefix(alarm).removeprefix("; ")
        if note:
            notes.append(note)
        cells = {
            "segment": str(r.segment),
            "variant": str(r.variant),
            "metric": str(r.metric) + (f" ({len(notes)})" if note else ""),
            "n": f"{r.n:,}",
            "control": _fmt(r.control_mean, pct),
            "variant mean": _fmt(r.mean, pct),
            "mean": _fmt(r.mean, pct),
            "lift": "–" if math.isnan(r.rel_lift) else f"{r.rel_lift:+.1%}",
            "95% CI": _ci(r.rel_ci_low, r.rel_ci_high, True),
            "p adj": _p_value(r.p_value_adj),
            "P(beat)": _fmt(r.prob_beat_control, True),
            "sig": "[bold]yes[/]" if r.significant else "no",
        }
        view.add_row(*(cells[h] for h in heads))
    console.print(view)
    for i, note in enumerate(notes, 1):
        console.print(f"({i}) {note}", highlight=False, markup=False)


@app.command()
@handle_errors
def readout(
    input: Annotated[
        str | None,
        typer.Option(
            "--input", help="CSV / .csv.gz / Parquet of one row per unit, or 'hillstrom'."
        ),
    ] = None,
    hillstrom: Annotated[
        bool, typer.Option("--hillstrom", help="Run on the shipped Hillstrom e-mail experiment.")
    ] = False,
    variant_col: Annotated[str | None, typer.Option(help="Column with each unit's arm.")] = None,
    control: Annotated[str | None, typer.Option(help="Label of the control arm.")] = None,
    metrics: Annotated[str | None, typer.Option(help="Comma-separated metric columns.")] = None,
    segment_col: Annotated[
        str | None, typer.Option(help="Also read out within each value of this column.")
    ] = None,
    covariate: Annotated[
        str | None, typer.Option(help="Pre-period covariate column for CUPED.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    correction: Annotated[
        str, typer.Option(help="Multiple-testing correction: holm, bh or none.")
    ] = "holm",
    proportion: Annotated[
        str | None, typer.Option(help="Metrics to treat as 0/1 proportions (default: auto).")
    ] = None,
    continuous: Annotated[
        str | None, typer.Option(help="Metrics to treat as continuous means.")
    ] = None,
    bootstrap: Annotated[
        bool, typer.Option(help="Bootstrap CIs for continuous metrics (heavy tails).")
    ] = False,
    sequential: Annotated[
        bool, typer.Option(help="Always-valid p-values and CIs (mSPRT) for peeking.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Write the readout table here (.csv or .parquet).")
    ] = None,
) -> None:
    """Read out an A/B test: SRM check, then each variant × metric (× segment) against control."""
    from smsseg import pipeline
    from smsseg.pipeline.readouts import HILLSTROM, HILLSTROM_DEFAULTS

    if hillstrom or (input or "").lower() == HILLSTROM:
        input = HILLSTROM
        variant_col = variant_col or HILLSTROM_DEFAULTS["variant_col"]
        control = control or HILLSTROM_DEFAULTS["control"]
        metrics = metrics or ",".join(HILLSTROM_DEFAULTS["metrics"])
    missing = [
        f"--{n}"
        for n, v in (
            ("input", input),
            ("variant-col", variant_col),
            ("control", control),
            ("metrics", metrics),
        )
        if not v
    ]
    if missing:
        raise SmssegError(
            f"missing option(s) {', '.join(missing)} (or use --hillstrom for the shipped example)"
        )
    kinds = {m: "proportion" for m in _split_list(proportion)} | {
        m: "mean" for m in _split_list(continuous)
    }
    table = pipeline.readout(
        input,
        variant_col,
        control,
        _split_list(metrics),
        segment_col=segment_col,
        covariate=covariate,
        alpha=alpha,
        kinds=kinds,
        correction=correction,
        bootstrap=bootstrap,
        sequential=sequential,
        seed=seed,
    )
    print_readout(table, f"Readout vs '{control}' ({correction} correction, alpha={alpha:g})")
    if out is not None:
        write_frame(table, out)


@app.command()
@handle_errors
def power(
    kind: Annotated[
        str, typer.Option(help="proportion (conversion, CTR) or mean (revenue).")
    ] = "proportion",
    baseline: Annotated[
        float | None, typer.Option(help="Control rate (proportion) or control mean (mean).")
    ] = None,
    sd: Annotated[
        float | None, typer.Option(help="Standard deviation of the metric (mean only).")
    ] = None,
    mde: Annotated[
        float | None, typer.Option(help="Effect to detect (absolute unless --relative).")
    ] = None,
    relative: Annotated[
        bool, typer.Option(help="--mde is relative to the baseline (0.1 = +10 %).")
    ] = False,
    n_per_arm: Annotated[int | None, typer.Option(help="Units in the control arm.")] = None,
    power: Annotated[
        float | None,
        typer.Option(help="Wanted power (0.8 if only one of --mde / --n-per-arm is given)."),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    ratio: Annotated[float, typer.Option(help="Treatment arm size / control arm size.")] = 1.0,
) -> None:
    """Plan a test: give two of --mde, --n-per-arm, --power and get the third."""
    from smsseg.readout import plan_mean, plan_proportion

    if power is None and (mde is None) != (n_per_arm is None):
        power = 0.8
    common = {
        "mde": mde,
        "n_per_arm": n_per_arm,
        "power": power,
        "alpha": alpha,
        "ratio": ratio,
        "relative": relative,
    }
    if kind == "proportion":
        if baseline is None:
            raise SmssegError(
                "--baseline (the control rate, e.g. 0.05) is required for --kind proportion"
            )
        plan = plan_proportion(baseline, **common)
    elif kind == "mean":
        if sd is None:
            raise SmssegError("--sd (standard deviation of the metric) is required for --kind mean")
        plan = plan_mean(sd, baseline=float("nan") if baseline is None else baseline, **common)
    else:
        raise SmssegError(f"--kind {kind!r} must be 'proportion' or 'mean'")
    view = Table(
        title=f"Power plan ({plan.kind}, two-sided alpha={plan.alpha:g})", show_header=False
    )
    pct = plan.kind == "proportion"
    view.add_row("baseline", _fmt(plan.baseline, pct))
    view.add_row(
        "minimum detectable effect",
        f"{_fmt(plan.mde, pct)} ({_fmt(plan.relative_mde, True)} relative)",
    )
    view.add_row(
        "units per arm (control / treatment)", f"{plan.n_per_arm:,} / {plan.n_treatment:,}"
    )
    view.add_row("power", f"{plan.power:.1%}")
    console.print(view)


@app.command("campaign-metrics")
@handle_errors
def campaign_metrics(
    data: Annotated[
        Path,
        typer.Option(help="Directory of contract tables (needs sms sends with campaign_id)."),
    ],
    attribution_days: Annotated[
        int, typer.Option(help="Credit orders / opt-outs within this many days of a send.")
    ] = 7,
    cost_per_message: Annotated[
        float, typer.Option(help="Cost of one SMS, for cost and ROI.")
    ] = 0.01,
    segments: Annotated[
        Path | None, typer.Option(help="CSV/Parquet with customer_id and a segment column.")
    ] = None,
    segment_col: Annotated[
        str, typer.Option(help="Name of the segment column in --segments.")
    ] = "segment",
    plan: Annotated[
        Path | None,
        typer.Option(
            help="Plan directory of `smsseg plan` (or a plan file with customer_id, campaign_id,"
            " holdout)."
        ),
    ] = None,
    holdout_share: Annotated[
        float | None,
        typer.Option(
            help="Holdout share the plan was made with, for the sample-ratio check"
            " (default: from plan.json beside the plan)."
        ),
    ] = None,
    horizon_days: Annotated[
        int, typer.Option(help="Window of retention, win-back and CLV change.")
    ] = 90,
    out: Annotated[
        Path | None, typer.Option(help="Write all rows here (.csv or .parquet).")
    ] = None,
) -> None:
    """Campaign metrics (CTR, conversion, revenue per SMS, opt-outs, ROI, ...) by campaign and segment."""
    from smsseg import pipeline

    done = pipeline.campaign_metrics(
        data,
        attribution_days=attribution_days,
        cost_per_message=cost_per_message,
        segments=segments,
        segment_col=segment_col,
        plan=plan,
        holdout_share=holdout_share,
        horizon_days=horizon_days,
    )
    print_campaign_metrics(done, attribution_days)
    if out is not None:
        write_frame(done.report.to_frame(), out)


#: Columns of the campaign-metrics table: (rate shown as %, left out when the table would not
#: fit the terminal); ``--out`` writes every column.
CAMPAIGN_COLUMNS = {
    "recipients": (False, False),
    "ctr": (True, False),
    "conversion_rate": (True, False),
    "revenue": (False, True),
    "revenue_per_sms": (False, False),
    "aov": (False, True),
    "opt_out_rate": (True, False),
    "unsubscribe_rate": (True, True),
    "roi": (False, False),
}
#: Short headers, so that the essentials fit 80 columns.
CAMPAIGN_HEADERS = {
    "recipients": "sent to",
    "ctr": "CTR",
    "conversion_rate": "conv.",
    "revenue": "revenue",
    "revenue_per_sms": "rev/SMS",
    "aov": "AOV",
    "opt_out_rate": "opt-out",
    "unsubscribe_rate": "unsub.",
    "roi": "ROI",
}


def print_campaign_metrics(done, attribution_days: int) -> None:
    """What ``campaign-metrics`` prints of a :class:`smsseg.pipeline.CampaignMetricsOutput`."""
    report = done.report
    columns = [Column("campaign", label=True)] + [
        Column(CAMPAIGN_HEADERS[c], optional=optional)
        for c, (_, optional) in CAMPAIGN_COLUMNS.items()
    ]
    rows = [
        (
            str(r["campaign_id"]),
            *(_fmt(float(r[c]), pct) for c, (pct, _) in CAMPAIGN_COLUMNS.items()),
        )
        for r in report.by_campaign.to_dict("records")
    ]
    title = f"Campaign metrics ({attribution_days}-day last-touch attribution)"
    console.print(fitted_table(title, columns, rows, full="--out (every column)"))
    for r in report.by_campaign.to_dict("records"):
        style = "bold red" if r.get("holdout_srm_ok") is False else "yellow"
        if r["message"]:
            console.print(f"[{style}]{r['campaign_id']}:[/] ", end="")
            console.print(r["message"], highlight=False, markup=False)
    if done.with_plan and done.holdout_share is None:
        console.print(
            "[yellow]note:[/] holdout split not checked: the planned holdout share is unknown"
            " (pass --holdout-share, or --plan the plan directory with its plan.json)",
            highlight=False,
        )
