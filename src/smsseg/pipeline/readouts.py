"""Readout steps: an A/B test readout and campaign metrics, from files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from smsseg.errors import SmssegError
from smsseg.pipeline._types import PathLike

if TYPE_CHECKING:
    from smsseg.readout.campaign import CampaignReport

#: ``input="hillstrom"`` reads the shipped Hillstrom e-mail experiment, with these defaults.
HILLSTROM = "hillstrom"
HILLSTROM_DEFAULTS = {
    "variant_col": "segment",
    "control": "No E-Mail",
    "metrics": ("visit", "conversion", "spend"),
}


def read_frame(path: PathLike, option: str = "--input") -> pd.DataFrame:
    """A table from CSV (``.csv``, ``.csv.gz``, ``.tsv``) or Parquet; ``"hillstrom"`` is the
    shipped copy of the Hillstrom experiment."""
    if str(path).lower() == HILLSTROM:
        from smsseg.datasets import load_hillstrom

        return load_hillstrom()
    path = Path(path)
    if not path.is_file():
        raise SmssegError(
            f"{option} {path} does not exist (give a .csv, .csv.gz or .parquet file, or "
            "'hillstrom')"
        )
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
            return pd.read_csv(path, sep="\t" if name.endswith(".tsv") else ",")
    except (ValueError, OSError) as exc:
        raise SmssegError(f"cannot read {path}: {exc}") from None
    raise SmssegError(f"{option} {path}: unknown file type; use .csv, .csv.gz or .parquet")


def readout(
    input: PathLike | pd.DataFrame,
    variant_col: str,
    control: str,
    metrics: Sequence[str],
    *,
    segment_col: str | None = None,
    covariate: str | None = None,
    alpha: float = 0.05,
    kinds: Mapping[str, str] | None = None,
    correction: str = "holm",
    bootstrap: bool = False,
    sequential: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Read out an A/B test: SRM check, then each variant × metric (× segment) against control.

    ``input`` is a frame, a file (see :func:`read_frame`) or ``"hillstrom"``. Returns the
    readout table of :func:`smsseg.readout.readout` (typed ``srm_ok`` column, ``attrs``).

    Raises
    ------
    SmssegError
        An unreadable file, or a text column named as a metric or covariate.
    """
    from smsseg.readout import readout as run_readout
    from smsseg.readout.experiment import require_numeric

    where = "the input frame" if isinstance(input, pd.DataFrame) else f"--input {input}"
    frame = input if isinstance(input, pd.DataFrame) else read_frame(input)
    numeric = [c for c in [*metrics, covariate] if c and c in frame.columns]
    # a text column named as a metric is a wrong request: stop before anything is written
    require_numeric(frame, numeric, where=where)
    return run_readout(
        frame,
        variant_col,
        control,
        list(metrics),
        segment_col=segment_col,
        covariates=covariate,
        alpha=alpha,
        kinds=kinds,
        correction=correction,
        bootstrap=bootstrap,
        sequential=sequential,
        seed=seed,
    )


def read_plan(plan: PathLike) -> tuple[Path, float | None]:
    """The plan file and the holdout share it was made with (``None`` when not recorded).

    ``plan`` is the directory the plan step wrote (``plan.parquet`` + ``plan.json``) or a plan
    file; a file's share is read from a ``plan.json`` beside it, if any.
    """
    plan = Path(plan)
    plan_file = plan / "plan.parquet" if plan.is_dir() else plan
    if not plan_file.is_file():
        raise SmssegError(
            f"--plan {plan}: no plan found (give the directory of `smsseg plan`, or a plan file)"
        )
    meta = plan_file.parent / "plan.json"
    if not meta.is_file():
        return plan_file, None
    try:
        share = json.loads(meta.read_text(encoding="utf-8")).get("holdout")
    except (ValueError, OSError, AttributeError) as exc:
        raise SmssegError(f"cannot read the holdout share from {meta}: {exc}") from None
    if share is not None and not isinstance(share, int | float):
        raise SmssegError(f"{meta}: 'holdout' is {share!r}, not a share between 0 and 1")
    # a plan made with no holdout has nothing to check
    return plan_file, float(share) if share else None


@dataclass(frozen=True)
class CampaignMetricsOutput:
    """Campaign metrics; whether a plan's holdout was compared, and the share checked against
    (``None``: unknown, so the sample-ratio check was not made)."""

    report: CampaignReport
    with_plan: bool
    holdout_share: float | None


def campaign_metrics(
    data: PathLike,
    *,
    attribution_days: int = 7,
    cost_per_message: float = 0.01,
    segments: PathLike | None = None,
    segment_col: str = "segment",
    plan: PathLike | None = None,
    holdout_share: float | None = None,
    horizon_days: int = 90,
) -> CampaignMetricsOutput:
    """Campaign metrics (CTR, conversion, revenue per SMS, opt-outs, ROI, ...) of ``data``.

    Parameters
    ----------
    data : directory of contract tables (sms sends with ``campaign_id``).
    segments : CSV / Parquet with ``customer_id`` and ``segment_col``, for metrics by segment.
    plan : the plan step's folder (or a plan file), for the holdout comparison.
    holdout_share : the plan's holdout share (default: its ``plan.json``).

    """
    from smsseg.data.load import load
    from smsseg.readout.campaign import campaign_metrics as run

    seg = None
    if segments is not None:
        frame = read_frame(segments, "--segments")
        missing = [c for c in ("customer_id", segment_col) if c not in frame.columns]
        if missing:
            raise SmssegError(f"--segments {segments} lacks column(s) {missing}")
        seg = frame.assign(customer_id=frame["customer_id"].astype(str)).set_index("customer_id")[
            segment_col
        ]
    if holdout_share is not None and plan is None:
        raise SmssegError("--holdout-share needs --plan (the plan whose holdout it describes)")
    holdout = None
    if plan is not None:
        plan_file, planned_share = read_plan(plan)
        holdout = read_frame(plan_file, "--plan")
        holdout_share = planned_share if holdout_share is None else holdout_share
    report = run(
        load(data),
        attribution_days=attribution_days,
        cost_per_message=cost_per_message,
        segment=seg,
        holdout=holdout,
        horizon_days=horizon_days,
        holdout_share=holdout_share,
    )
    return CampaignMetricsOutput(report, holdout is not None, holdout_share)
