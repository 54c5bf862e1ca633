"""Metrics of a probability score for a 0/1 label: ranking, calibration and the top decile.

ROC-AUC, PR-AUC (average precision), Brier score and log-loss come from scikit-learn. Two are
written here because scikit-learn has no function for them:

* **Expected calibration error (ECE)**: 10 equal-width bins of the predicted probability on
  [0, 1]; ECE is the row-weighted mean over non-empty bins of ``|mean(y) - mean(p)|``
  (Guo et al., 2017).
* **Lift and capture at the top decile**: among the 10 % of rows with the highest score, the
  positive rate divided by the overall rate (lift) and the share of all positives they hold
  (capture). Rows tied at the cut-off are counted fractionally, i.e. the expected value under a
  random tie-break, so a coarse score (a recency rule) is not flattered or punished by row order.
* **Expected ROC-AUC of calibrated probabilities** (:func:`expected_roc_auc`): the AUC a score
  will have when each label is drawn from its probability, computed without labels - the
  confidence-based performance estimation (CBPE) of NannyML, written here in a few lines rather
  than adding NannyML and its dependencies for one formula.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

ECE_BINS = 10
TOP_FRACTION = 0.1


def expected_calibration_error(y, p, n_bins: int = ECE_BINS) -> float:
    """ECE over ``n_bins`` equal-width probability bins (see module docstring).

    Example
    -------
    >>> expected_calibration_error([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0])
    0.0
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    gap = np.abs(np.bincount(bins, y, n_bins) - np.bincount(bins, p, n_bins))
    return float(gap.sum() / count.sum())


def expected_roc_auc(p, score=None) -> float:
    """ROC-AUC that ``score`` is expected to reach when label ``i`` is drawn from ``Bernoulli(p_i)``.

    A positive/negative pair ``(i, j)`` contributes ``p_i (1 - p_j)``; the expected AUC is the
    expected weight of correctly ordered pairs (ties half) over the expected weight of all pairs,
    ``sum_{i != j} p_i (1 - p_j)``. With calibrated ``p`` it predicts the AUC on labels not seen
    yet; ``score`` defaults to ``p`` (any monotone map of ``p`` gives the same value).

    Example
    -------
    >>> round(expected_roc_auc([0.0, 1.0]), 3)  # the labels are certain: a perfect ranking
    1.0
    >>> round(expected_roc_auc([0.5, 0.5, 0.5]), 3)  # coin flips: no better than chance
    0.5
    """
    p = np.asarray(p, dtype=np.float64)
    score = p if score is None else np.asarray(score, dtype=np.float64)
    _, group = np.unique(score, return_inverse=True)  # ascending score, ties share a group
    pos = np.bincount(group, p)
    neg = np.bincount(group, 1.0 - p)
    same = np.bincount(group, p * (1.0 - p))  # a row is never paired with itself
    below = np.cumsum(neg) - neg  # expected negatives scored strictly lower
    correct = (pos * below).sum() + 0.5 * (pos * neg - same).sum()
    pairs = pos.sum() * neg.sum() - same.sum()
    return float(correct / pairs) if pairs > 0 else float("nan")


def top_fraction_positives(y, score, fraction: float = TOP_FRACTION) -> float:
    """Expected number of positives among the top ``fraction`` of rows (ties shared fairly)."""
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    k = fraction * len(y)
    order = np.argsort(-score, kind="stable")
    cut = score[order[max(int(np.ceil(k)) - 1, 0)]]
    above = score > cut
    tied = score == cut
    n_above = above.sum()
    return float(y[above].sum() + (k - n_above) * y[tied].mean())


def lift_and_capture(y, score, fraction: float = TOP_FRACTION) -> tuple[float, float]:
    """(lift, capture) in the top ``fraction`` of rows by ``score``."""
    y = np.asarray(y, dtype=np.float64)
    positives = top_fraction_positives(y, score, fraction)
    total = y.sum()
    if total == 0:
        return float("nan"), float("nan")
    lift = (positives / (fraction * len(y))) / y.mean()
    return float(lift), float(positives / total)


def binary_metrics(y, p) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier, log-loss, ECE, lift and capture at the top decile, base rate, n.

    Parameters
    ----------
    y : 0/1 labels.
    p : predicted probability of 1 (for a rank-only score, Brier/log-loss/ECE are meaningless).

    Returns
    -------
    dict
        Metric name → value; AUCs are NaN when ``y`` has one class only.
    """
    y = np.asarray(y).astype(np.int64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    two_classes = len(np.unique(y)) == 2
    lift, capture = lift_and_capture(y, p)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])),
        "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
        "lift_top_decile": lift,
        "capture_top_decile": capture,
        "base_rate": float(y.mean()),
        "n": int(len(y)),
    }


def compare_scores(y, scores: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row of :func:`binary_metrics` per named score, on the same rows ``y``."""
    return pd.DataFrame({name: binary_metrics(y, p) for name, p in scores.items()}).T


def improvement(table: pd.DataFrame, model: str, baseline: str) -> dict[str, float]:
    """How much ``model`` beats ``baseline``: differences, signed so that positive is better."""
    better_high = ("roc_auc", "pr_auc", "lift_top_decile", "capture_top_decile")
    better_low = ("brier", "log_loss", "ece")
    m, b = table.loc[model], table.loc[baseline]
    out = {f"{k}_gain": float(m[k] - b[k]) for k in better_high}
    out |= {f"{k}_reduction": float(b[k] - m[k]) for k in better_low}
    return out
