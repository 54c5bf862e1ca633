"""Readouts from per-arm aggregates (count, sum, sum of squares), e.g. exported by a platform."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from smsseg.readout.checks import SRM_ALPHA, srm_check
from smsseg.readout.comparison import compare
from smsseg.readout.experiment import ALL, _check_args, _columns_exist, _variant_order, finish
from smsseg.readout.summary import SampleStats


def _summary_kind(group: pd.DataFrame, metric: str, kinds: Mapping[str, str]) -> str:
    if metric in kinds:
        return kinds[metric]
    if "kind" in group.columns and group["kind"].notna().any():
        return str(group["kind"].dropna().iloc[0])
    # 0/1 values are exactly those with sum == sum of squares (short of contrived data).
    return "proportion" if np.allclose(group["sum"], group["sum_sq"]) else "mean"


def readout_from_summaries(
    summaries: pd.DataFrame,
    control: str,
    alpha: float = 0.05,
    *,
    kinds: Mapping[str, str] | None = None,
    split: Mapping[str, float] | None = None,
    units: Mapping[str, int] | None = None,
    correction: str = "holm",
    srm_alpha: float = SRM_ALPHA,
    **compare_kwargs,
) -> pd.DataFrame:
    """Read out a test from per-arm aggregates, e.g. exported by an SMS platform.

    Parameters
    ----------
    summaries : one row per variant × metric (× ``segment``) with columns ``variant``,
        ``metric``, ``n``, ``sum``, ``sum_sq`` and optionally ``segment`` and ``kind``
        (``"proportion"`` / ``"mean"``; default: proportion when ``sum == sum_sq``).
    control : label of the control arm.
    units : variant → units assigned, for the SRM check; default: per variant, the largest
        ``n`` over metrics, summed over segments.
    alpha, kinds, split, correction, srm_alpha : as in :func:`readout`.
    **compare_kwargs : ``proportion_method``, ``sequential_test``, ``mixture_sd``, ``prior``.

    Returns
    -------
    pandas.DataFrame
        The same columns as :func:`readout`.
    """
    _check_args(alpha, correction, ["-"])
    _columns_exist(summaries, {"summary": ["variant", "metric", "n", "sum", "sum_sq"]})
    frame = summaries.assign(variant=summaries["variant"].astype(str))
    if "segment" not in frame.columns:
        frame = frame.assign(segment=ALL)
    names = _variant_order(frame["variant"], str(control), None)
    if units is None:
        per_segment = frame.groupby(["variant", "segment"])["n"].max()
        units = per_segment.groupby(level="variant").sum().to_dict()
    srm = srm_check({v: int(units.get(v, 0)) for v in names}, split, srm_alpha)
    rows = []
    for metric, group in frame.groupby("metric", sort=False):
        kind = _summary_kind(group, str(metric), dict(kinds or {}))
        arms = {
            (str(r.segment), r.variant): SampleStats(int(r.n), float(r.sum), float(r.sum_sq))
            for r in group.itertuples()
        }
        empty = SampleStats(0, 0.0, 0.0)
        for segment in sorted({str(s) for s in group["segment"]}):
            for variant in names[1:]:
                rows.append(
                    compare(
                        arms.get((segment, str(control)), empty),
                        arms.get((segment, variant), empty),
                        kind,
                        alpha=alpha,
                        names=(variant, str(control), str(metric), segment),
                        **compare_kwargs,
                    )
                )
    return finish(rows, srm, alpha, correction)
