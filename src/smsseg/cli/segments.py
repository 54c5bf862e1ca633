"""``smsseg segment``: value tiers and the twelve SMS segments as of a date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from smsseg import config
from smsseg._io import write_csv, write_parquet
from smsseg.cli.app import app, console, handle_errors
from smsseg.errors import SmssegError


def read_scores(path: Path, as_of: str) -> pd.DataFrame:
    """Read a scores Parquet file; if it carries an ``as_of`` column it must match ``as_of``."""
    if not path.is_file():
        raise SmssegError(f"scores file {path} does not exist (run the scoring step first)")
    try:
        scores = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise SmssegError(f"scores file {path} is not a readable Parquet file: {exc}") from None
    from smsseg.segments import REQUIRED_SCORES

    missing = [c for c in ("customer_id", *REQUIRED_SCORES) if c not in scores.columns]
    if missing:  # checked here too, so a wrong file fails before the features are built
        raise SmssegError(
            f"scores file {path} lacks column(s) {missing}; required: customer_id, "
            f"{', '.join(REQUIRED_SCORES)} (they may be empty/NaN)"
        )
    if "as_of" in scores.columns and len(scores):
        dates = pd.to_datetime(scores["as_of"]).dt.normalize().unique()
        if len(dates) != 1 or dates[0] != pd.Timestamp(as_of).normalize():
            raise SmssegError(
                f"scores file {path} is as of {[str(d.date()) for d in dates]}, not {as_of}; "
                "segments must use scores computed as of the same date"
            )
    return scores


def _check_date(value: str, option: str) -> str:
    try:
        pd.Timestamp(value)
    except ValueError:
        raise SmssegError(f"{option}={value!r} must be an ISO date like 2025-06-30") from None
    return value


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
    headers = ("segment", "size", "share", "primary", "revenue", "churn", "opt-in", "cap", "flow")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, name in enumerate(headers):
        # numbers keep their full width on a narrow terminal; only the flow name is cut
        width = max(len(name), *(len(r[i]) for r in rows)) if name != "flow" else 8
        table.add_column(
            name, justify="left" if i in (0, 8) else "right", min_width=width, no_wrap=True
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _pct(value: float, digits: int = 1) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}%}"


def print_tier_profile(profile: pd.DataFrame) -> None:
    table = Table(title="Value tiers", box=box.SIMPLE_HEAD)
    for name in ("tier", "customers", "share", "revenue share", "mean spend", "mean CLV", "churn"):
        table.add_column(name, justify="left" if name == "tier" else "right")
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


def _check_dates(as_of: str, transitions_from: str | None, scores_from: Path | None) -> None:
    _check_date(as_of, "--as-of")
    if transitions_from is None:
        if scores_from is not None:
            raise SmssegError("--scores-from is only used with --transitions-from; give both")
        return
    _check_date(transitions_from, "--transitions-from")
    if pd.Timestamp(transitions_from) >= pd.Timestamp(as_of):
        raise SmssegError(f"--transitions-from={transitions_from} must be before --as-of={as_of}")
    if scores_from is None:
        raise SmssegError(
            f"--transitions-from={transitions_from} needs --scores-from: the scores as of "
            f"{transitions_from}, so that each date's segments use that date's scores"
        )


def _stability(run, scores: pd.DataFrame, n_boot: int, seed: int) -> list[float]:
    """ARI of ``n_boot`` bootstrap refits of the tiers on the value features of this run."""
    from smsseg.segments import prepare_scores
    from smsseg.tiers import value_matrix

    if n_boot == 0:
        return []
    X = value_matrix(run.features, prepare_scores(scores, run.features.index))
    return run.tiers.stability(X, n_boot=n_boot, seed=seed)


def _write_run(run, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(run.membership.reset_index(), out / "membership.parquet", index=False)
    write_csv(run.summary, out / "segment_summary.csv")
    write_csv(run.profile, out / "tiers.csv")


@app.command()
@handle_errors
def segment(
    data: Annotated[Path, typer.Option(help="Directory of contract tables.")],
    as_of: Annotated[str, typer.Option(help="Segment as of this date (ISO).")],
    scores: Annotated[Path, typer.Option(help="Scores Parquet as of the same date.")],
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
) -> None:
    """Assign customers to value tiers and the twelve SMS segments as of a date."""
    from smsseg.data.load import load
    from smsseg.features import build_features
    from smsseg.segments import load_catalogue
    from smsseg.segments.snapshot import compare_runs, run_segments
    from smsseg.tiers import load_tiers, log_tiers, save_tiers

    _check_dates(as_of, transitions_from, scores_from)
    if stability_boot < 0:
        raise SmssegError(f"--stability-boot={stability_boot} must be >= 0")
    cat = load_catalogue(catalogue)
    score_frame = read_scores(scores, as_of)
    earlier_scores = read_scores(scores_from, transitions_from) if transitions_from else None
    dataset = load(data)
    fitted = load_tiers(tiers) if tiers is not None and tiers.is_file() else None
    run = run_segments(build_features(dataset, as_of), score_frame, cat, fitted, seed=seed)
    moves = flows = None
    if transitions_from is not None:
        # the same tiers (the value ruler) on both dates, so tier moves are real moves
        features = build_features(dataset, transitions_from)
        before = run_segments(features, earlier_scores, cat, run.tiers, seed=seed)
        moves, flows = compare_runs(before.membership, run.membership, cat)
    # everything is computed before anything is written: a failure leaves no partial outputs
    _write_run(run, out)
    if moves is not None:
        write_csv(moves, out / "transitions.csv")
        write_csv(flows, out / "segment_flows.csv")
    if fitted is None:
        saved = save_tiers(run.tiers, tiers if tiers is not None else out / "value_tiers.json")
        ari = _stability(run, score_frame, stability_boot, seed)
        console.print(
            f"tiers: k={run.tiers.k_} by {run.tiers.criterion}, saved to {saved}"
            + (f"; bootstrap ARI mean {np.mean(ari):.3f}, min {min(ari):.3f}" if ari else "")
        )
        if mlflow:
            log_tiers(run.tiers, run.profile, ari, tags={"smsseg.as_of": as_of})
    print_tier_profile(run.profile)
    print_segment_summary(run.summary, title=f"SMS segments as of {as_of}")
    if moves is not None:
        print_transitions(moves, transitions_from, as_of)
    console.print(f"[green]wrote[/] {out}: membership.parquet, segment_summary.csv, tiers.csv")


def print_transitions(moves: pd.DataFrame, start: str, end: str, top: int = 15) -> None:
    """Print the largest primary-segment moves (staying put excluded)."""
    moved = moves[moves["from_segment"] != moves["to_segment"]].nlargest(top, "customers")
    table = Table(title=f"Primary-segment moves {start} -> {end} (top {top})")
    for name in ("from", "to", "customers", "share of from"):
        table.add_column(
            name, justify="right" if name in ("customers", "share of from") else "left"
        )
    for row in moved.itertuples(index=False):
        table.add_row(
            row.from_segment, row.to_segment, f"{row.customers:,}", f"{row.share_of_from:.1%}"
        )
    console.print(table)
