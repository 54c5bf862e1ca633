"""One segmentation run on one date's features and scores: tiers, membership, summary, profile.

Pure: frames and settings in, frames out. Reading files, MLflow and writing outputs live in the
CLI (``smsseg segment``) and the pipeline runner.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from smsseg import config
from smsseg.segments.assign import assign_segments, prepare_scores
from smsseg.segments.catalogue import Catalogue
from smsseg.segments.summary import segment_flows, segment_summary, transitions
from smsseg.tiers import ValueTiers, value_matrix


@dataclass(frozen=True)
class SegmentRun:
    """The outputs of one segmentation run."""

    membership: pd.DataFrame
    summary: pd.DataFrame
    tiers: ValueTiers
    profile: pd.DataFrame
    features: pd.DataFrame


def fit_tiers(features: pd.DataFrame, scores: pd.DataFrame | None, **params) -> ValueTiers:
    """Fit :class:`~smsseg.tiers.ValueTiers` on the value features of ``features`` + ``scores``."""
    aligned = None if scores is None else prepare_scores(scores, _customers(features))
    return ValueTiers(**params).fit(value_matrix(_indexed(features), aligned))


def _indexed(features: pd.DataFrame) -> pd.DataFrame:
    return features.set_index("customer_id") if "customer_id" in features.columns else features


def _customers(features: pd.DataFrame) -> pd.Index:
    return _indexed(features).index.astype(str)


def run_segments(
    features: pd.DataFrame,
    scores: pd.DataFrame | None,
    catalogue: Catalogue,
    tiers: ValueTiers | None = None,
    seed: int = config.DEFAULT_SEED,
) -> SegmentRun:
    """Tiers (fitted here unless given), membership, segment summary and tier profile.

    Parameters
    ----------
    features, scores, catalogue : as for :func:`~smsseg.segments.assign_segments`.
    tiers : fitted tiers to apply (e.g. loaded from JSON); ``None`` fits them on this snapshot.
    seed : random state of the tier fit.
    """
    if tiers is None:
        tiers = fit_tiers(features, scores, random_state=seed)
    membership = assign_segments(features, scores, catalogue, tiers)
    aligned = None if scores is None else prepare_scores(scores, membership.index)
    profile = tiers.profile(_indexed(features), aligned)
    summary = segment_summary(membership, _indexed(features), catalogue)
    return SegmentRun(membership, summary, tiers, profile, _indexed(features))


def compare_runs(
    before: pd.DataFrame, after: pd.DataFrame, catalogue: Catalogue
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Primary-segment moves and per-segment flows between two memberships."""
    return transitions(before, after), segment_flows(before, after, catalogue)
