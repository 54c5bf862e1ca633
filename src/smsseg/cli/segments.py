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
from smsseg.cli.app import app, console, handle_errors, report_as_of, warn
from smsseg.errors import SmssegError
from smsseg.spark.engine import ENGINE_HELP, SPARK_MASTER_HELP
from smsseg.timeutil import AS_OF_HELP, as_of_label, parse_as_of


def read_scores(
    path: Path,
    as_of: object,
    data: Path | None = None,
    fingerprint: str | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Read a scores Parquet file and check that it was computed on ``data`` as of ``as_of``.

    Parameters
    ----------
    path : the scores file (written by ``smsseg score``).
    as_of : the instant of the segmentation.
    data : the data directory of the segmentation, for messages.
    fingerprint : :func:`smsseg.provenance.data_fingerprint` of ``data`` (``None``: the data is
        not compared).

    Returns
    -------
    (scores, warning) : the scores, and a warning when the file carries no provenance (it is
        then checked only by its optional ``as_of`` column).

    Raises
    ------
    SmssegError
        A missing or unreadable file, missing columns, or scores of another as-of instant or
        another data directory.
    """
    from smsseg.provenance import check_source, read_provenance
    from smsseg.segments import REQUIRED_SCORES

    stamp = parse_as_of(as_of)
    if not path.is_file():
        raise SmssegError(f"scores file {path} does not exist (run the scoring step first)")
    try:
        scores = pd.read_parquet(path)
        found = read_provenance(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise SmssegError(f"scores file {path} is not a readable Parquet file: {exc}") from None
    missing = [c for c in ("customer_id", *REQUIRED_SCORES) if c not in scores.columns]
    if missing:  # checked here too, so a wrong file fails before the features are built
        raise SmssegError(
            f"scores file {path} lacks column(s) {missing}; required: customer_id, "
            f"{', '.join(REQUIRED_SCORES)} (they may be empty/NaN)"
        )
    remedy = f"score them with `smsseg score --data {data} --as-of {as_of_label(stamp)} --out ...`"
    warning = check_source(
        found,
        f"scores file {path}",
        as_of=stamp,
        fingerprint=fingerprint,
        data_dir=data if data is not None else "the data",
        remedy=remedy,
    )
    if "as_of" in scores.columns and len(scores):  # scores made elsewhere may carry the date
        dates = pd.to_datetime(scores["as_of"]).dt.normalize().unique()
        if len(dates) != 1 or dates[0] != stamp.normalize():
            raise SmssegError(
                f"scores file {path} is as of {[str(d.date()) for d in dates]}, not "
                f"{as_of_label(stamp)}; segments must use scores computed as of the same date"
            )
    return scores, warning


def model_version(scores: pd.DataFrame, path: Path) -> str | None:
    """The model version of a scores file: its provenance, else its one ``model_version``."""
    from smsseg.provenance import read_provenance

    found = read_provenance(path)
    if found is not None and found.model_version:
        return found.model_version
    if "model_version" in scores.columns:
        versions = scores["model_version"].dropna().unique()
        if len(versions) == 1:
            return str(versions[0])
    return None


def _warn_unscored(scores: pd.DataFrame, customers: pd.Index, path: Path, when: str) -> None:
    """Warn when customers of the data have no score: they get NaN scores, not an error."""
    unscored = customers.difference(pd.Index(scores["customer_id"].astype(str)))
    if len(unscored):
        warn(
            f"{len(unscored):,} of {len(customers):,} customers as of {when} have no score in "
            f"{path}, e.g. {list(unscored[:3])}; their churn, discount and CLV scores are NaN"
        )


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


def _check_dates(
    as_of: str, transitions_from: str | None, scores_from: Path | None
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    stamp = parse_as_of(as_of, "--as-of")
    if transitions_from is None:
        if scores_from is not None:
            raise SmssegError("--scores-from is only used with --transitions-from; give both")
        return stamp, None
    earlier = parse_as_of(transitions_from, "--transitions-from")
    if earlier >= stamp:
        raise SmssegError(f"--transitions-from={transitions_from} must be before --as-of={as_of}")
    if scores_from is None:
        raise SmssegError(
            f"--transitions-from={transitions_from} needs --scores-from: the scores as of "
            f"{transitions_from}, so that each date's segments use that date's scores"
        )
    return stamp, earlier


def _stability(run, scores: pd.DataFrame, n_boot: int, seed: int) -> list[float]:
    """ARI of ``n_boot`` bootstrap refits of the tiers on the value features of this run."""
    from smsseg.segments import prepare_scores
    from smsseg.tiers import value_matrix

    if n_boot == 0:
        return []
    X = value_matrix(run.features, prepare_scores(scores, run.features.index))
    return run.tiers.stability(X, n_boot=n_boot, seed=seed)


def _write_run(run, out: Path, provenance) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(
        run.membership.reset_index(),
        out / "membership.parquet",
        index=False,
        metadata=provenance.to_metadata(),  # what `smsseg plan` checks
    )
    write_csv(run.summary, out / "segment_summary.csv")
    write_csv(run.profile, out / "tiers.csv")


@app.command()
@handle_errors
def segment(
    data: Annotated[Path, typer.Option(help="Directory of contract tables.")],
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
) -> None:
    """Assign customers to value tiers and the twelve SMS segments as of a date."""
    from smsseg.features import build_features
    from smsseg.provenance import data_fingerprint, for_data
    from smsseg.segments import load_catalogue
    from smsseg.segments.snapshot import compare_runs
    from smsseg.spark.engine import check_engine, load_data, run_segments_on
    from smsseg.tiers import load_tiers, log_tiers, save_tiers

    stamp, earlier = _check_dates(as_of, transitions_from, scores_from)
    check_engine(engine)
    if stability_boot < 0:
        raise SmssegError(f"--stability-boot={stability_boot} must be >= 0")
    cat = load_catalogue(catalogue)
    fingerprint = data_fingerprint(data)
    score_frame, unknown = read_scores(scores, stamp, data, fingerprint)
    earlier_scores, earlier_unknown = (
        read_scores(scores_from, earlier, data, fingerprint)
        if earlier is not None
        else (None, None)
    )
    for message in (unknown, earlier_unknown):
        if message:
            warn(message)
    dataset = load_data(data, engine, spark_master)
    report_as_of(dataset, stamp)
    fitted = load_tiers(tiers) if tiers is not None and tiers.is_file() else None
    features = build_features(dataset, stamp)
    # a scores file without provenance may be of other data: its customers then go missing
    _warn_unscored(score_frame, features.index, scores, as_of_label(stamp))
    run = run_segments_on(engine, dataset, features, score_frame, cat, fitted, seed=seed)
    moves = flows = None
    if earlier is not None:
        # the same tiers (the value ruler) on both dates, so tier moves are real moves
        features = build_features(dataset, earlier)
        _warn_unscored(earlier_scores, features.index, scores_from, as_of_label(earlier))
        before = run_segments_on(
            engine, dataset, features, earlier_scores, cat, run.tiers, seed=seed
        )
        moves, flows = compare_runs(before.membership, run.membership, cat)
    provenance = for_data(
        "segments", stamp, data, model_version(score_frame, scores), fingerprint=fingerprint
    )
    # everything is computed before anything is written: a failure leaves no partial outputs
    _write_run(run, out, provenance)
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
            log_tiers(run.tiers, run.profile, ari, tags={"smsseg.as_of": stamp.isoformat()})
    print_tier_profile(run.profile)
    print_segment_summary(run.summary, title=f"SMS segments as of {as_of_label(stamp)}")
    if moves is not None:
        print_transitions(moves, as_of_label(earlier), as_of_label(stamp))
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
