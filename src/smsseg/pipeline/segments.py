"""The segment step: value tiers and the twelve SMS segments as of an instant.

Reads the scores of the same instant and data (checked by their provenance), fits the value
tiers or loads them, assigns segments, optionally compares with an earlier date, writes the
outputs (all computed before anything is written), saves newly fitted tiers with their
bootstrap stability and logs them to MLflow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from smsseg import config
from smsseg._io import write_csv, write_parquet
from smsseg.errors import SmssegError, SmssegWarning
from smsseg.pipeline._types import PathLike
from smsseg.timeutil import as_of_label, parse_as_of

if TYPE_CHECKING:
    from smsseg.provenance import RowsAfter
    from smsseg.segments.snapshot import SegmentRun

#: Files of a segments folder (``membership.parquet`` carries the provenance ``plan`` checks).
SEGMENT_FILES = ("membership.parquet", "segment_summary.csv", "tiers.csv")


@dataclass(frozen=True)
class SegmentOutput:
    """A segmentation run and what was written.

    ``tiers_path`` is where the tiers were saved (fitted now) or read from; ``stability`` the
    bootstrap ARI of newly fitted tiers (empty when loaded or skipped); ``moves`` / ``flows``
    the transitions from the earlier date (``None`` without one).
    """

    run: SegmentRun
    out: Path
    tiers_path: Path
    tiers_fitted: bool
    stability: list[float] = field(default_factory=list)
    moves: pd.DataFrame | None = None
    flows: pd.DataFrame | None = None
    earlier: pd.Timestamp | None = None
    mlflow_run_id: str | None = None
    rows_after: RowsAfter | None = None


def read_scores(
    path: PathLike,
    as_of: object,
    data: PathLike | None = None,
    fingerprint: str | None = None,
) -> pd.DataFrame:
    """Read a scores Parquet file and check that it was computed on ``data`` as of ``as_of``.

    Parameters
    ----------
    path : the scores file (written by the score step).
    as_of : the instant of the segmentation.
    data : the data directory of the segmentation, for messages.
    fingerprint : :func:`smsseg.provenance.data_fingerprint` of ``data`` (``None``: the data is
        not compared).

    Warns
    -----
    SmssegWarning
        The file carries no provenance (it is then checked only by its optional ``as_of``).

    Raises
    ------
    SmssegError
        A missing or unreadable file, missing columns, or scores of another as-of instant or
        another data directory.
    """
    from smsseg.provenance import check_source, read_provenance
    from smsseg.segments import REQUIRED_SCORES

    path = Path(path)
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
    if warning:
        warnings.warn(warning, SmssegWarning, stacklevel=2)
    if "as_of" in scores.columns and len(scores):  # scores made elsewhere may carry the date
        dates = pd.to_datetime(scores["as_of"]).dt.normalize().unique()
        if len(dates) != 1 or dates[0] != stamp.normalize():
            raise SmssegError(
                f"scores file {path} is as of {[str(d.date()) for d in dates]}, not "
                f"{as_of_label(stamp)}; segments must use scores computed as of the same date"
            )
    return scores


def model_version(scores: pd.DataFrame, path: PathLike) -> str | None:
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


def _warn_unscored(scores: pd.DataFrame, customers: pd.Index, path: PathLike, when: str) -> None:
    """Warn when customers of the data have no score: they get NaN scores, not an error."""
    unscored = customers.difference(pd.Index(scores["customer_id"].astype(str)))
    if len(unscored):
        warnings.warn(
            f"{len(unscored):,} of {len(customers):,} customers as of {when} have no score in "
            f"{path}, e.g. {list(unscored[:3])}; their churn, discount and CLV scores are NaN",
            SmssegWarning,
            stacklevel=3,
        )


def _check_dates(
    as_of: object, transitions_from: object | None, scores_from: PathLike | None
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    stamp = parse_as_of(as_of, "--as-of")
    if transitions_from is None:
        if scores_from is not None:
            raise SmssegError("--scores-from is only used with --transitions-from; give both")
        return stamp, None
    earlier = parse_as_of(transitions_from, "--transitions-from")
    if earlier >= stamp:
        raise SmssegError(
            f"--transitions-from={as_of_label(earlier)} must be before --as-of={as_of_label(stamp)}"
        )
    if scores_from is None:
        raise SmssegError(
            f"--transitions-from={as_of_label(earlier)} needs --scores-from: the scores as of "
            f"that date, so that each date's segments use that date's scores"
        )
    return stamp, earlier


def stability(run: SegmentRun, scores: pd.DataFrame, n_boot: int, seed: int) -> list[float]:
    """ARI of ``n_boot`` bootstrap refits of the tiers on the value features of this run."""
    from smsseg.segments import prepare_scores
    from smsseg.tiers import value_matrix

    if n_boot == 0:
        return []
    X = value_matrix(run.features, prepare_scores(scores, run.features.index))
    return run.tiers.stability(X, n_boot=n_boot, seed=seed)


def _write_run(run: SegmentRun, out: Path, provenance) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(
        run.membership.reset_index(),
        out / "membership.parquet",
        index=False,
        metadata=provenance.to_metadata(),  # what the plan step checks
    )
    write_csv(run.summary, out / "segment_summary.csv")
    write_csv(run.profile, out / "tiers.csv")


def segment(
    data: PathLike,
    as_of: object,
    scores: PathLike,
    out: PathLike,
    *,
    catalogue: PathLike | None = None,
    tiers: PathLike | None = None,
    transitions_from: object | None = None,
    scores_from: PathLike | None = None,
    mlflow: bool = True,
    stability_boot: int = 10,
    seed: int = config.DEFAULT_SEED,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> SegmentOutput:
    """Assign every customer to a value tier and the SMS segments as of ``as_of``.

    Parameters
    ----------
    data : directory of contract tables.
    as_of : the instant.
    scores : scores file of the score step on ``data`` as of the same instant.
    out : folder for ``membership.parquet``, ``segment_summary.csv``, ``tiers.csv`` (and, with
        transitions, ``transitions.csv`` and ``segment_flows.csv``).
    catalogue : TOML file overriding parts of the segment catalogue.
    tiers : value-tiers JSON to apply; when the file does not exist, tiers are fitted and saved
        there. Default: fitted on this date and saved to ``out/value_tiers.json``.
    transitions_from, scores_from : an earlier instant and its scores, to report the moves.
    mlflow : log newly fitted tiers to MLflow.
    stability_boot : bootstrap refits for the ARI stability of newly fitted tiers (0: skip).
    seed : random state of the tier fit and of the bootstrap.
    engine, spark_master : ``duckdb`` (default) or ``spark`` (membership per partition on
        Spark; tiers fitted on the driver; ``docs/spark.md``), and the Spark master.

    Raises
    ------
    SmssegError
        Bad dates, scores of another instant or data, a broken catalogue or tiers file.
    """
    from smsseg.features import build_features
    from smsseg.provenance import data_fingerprint, for_data, rows_after
    from smsseg.segments import load_catalogue
    from smsseg.segments.snapshot import compare_runs
    from smsseg.spark.engine import check_engine, load_data, run_segments_on
    from smsseg.tiers import load_tiers, save_tiers

    out = Path(out)
    stamp, earlier = _check_dates(as_of, transitions_from, scores_from)
    check_engine(engine)
    if stability_boot < 0:
        raise SmssegError(f"--stability-boot={stability_boot} must be >= 0")
    cat = load_catalogue(catalogue)
    fingerprint = data_fingerprint(data)
    score_frame = read_scores(scores, stamp, data, fingerprint)
    earlier_scores = read_scores(scores_from, earlier, data, fingerprint) if earlier else None
    dataset = load_data(data, engine, spark_master)
    after = rows_after(dataset, stamp)
    tiers_path = Path(tiers) if tiers is not None else out / "value_tiers.json"
    fitted = load_tiers(tiers_path) if tiers is not None and tiers_path.is_file() else None
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
    ari = stability(run, score_frame, stability_boot, seed) if fitted is None else []
    provenance = for_data(
        "segments", stamp, data, model_version(score_frame, scores), fingerprint=fingerprint
    )
    # everything is computed before anything is written: a failure leaves no partial outputs
    _write_run(run, out, provenance)
    if moves is not None:
        write_csv(moves, out / "transitions.csv")
        write_csv(flows, out / "segment_flows.csv")
    run_id = None
    if fitted is None:
        save_tiers(run.tiers, tiers_path)
        if mlflow:
            from smsseg.tracking import log_tiers

            tags = {"smsseg.as_of": stamp.isoformat()}
            run_id = log_tiers(run.tiers, run.profile, ari, tags=tags)
    return SegmentOutput(
        run, out, tiers_path, fitted is None, ari, moves, flows, earlier, run_id, after
    )
