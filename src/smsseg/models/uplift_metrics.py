"""How well a score ranks customers by uplift, from a randomized test: Qini, AUUC, uplift@k.

Definitions (rows sorted by score, highest first; ties are kept together, so a tie's order
cannot matter; ``N`` rows in all, ``n`` targeted so far, ``n_t, n_c, y_t, y_c`` the treated /
control counts and outcome sums among them):

* **Qini curve**: ``Q(n) = (y_t - y_c * n_t / n_c) / N``, the incremental outcome per customer of
  the base if the top ``n`` were treated (Radcliffe, 2007); ``y_c * n_t / n_c`` is 0 while
  ``n_c = 0``.
* **Qini coefficient**: area between the Qini curve and the random-targeting line from (0, 0) to
  (1, Q(N)), with the x axis as the fraction targeted (trapezoids). 0 for a random score.
* **AUUC**: area under the uplift curve ``U(n) = (y_t / n_t - y_c / n_c) * n / N`` on the same x
  axis; the random score's AUUC is ``U(N) / 2``.
* **uplift@k**: treated minus control outcome rate among the top ``k`` of all rows.

scikit-uplift implements the same curves but is unmaintained since 2022 (see
:mod:`smsseg.models.uplift`); these are a few array operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def _cumulative(y, t, score) -> tuple[np.ndarray, ...]:
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t).astype(np.int64)
    score = np.asarray(score, dtype=np.float64)
    order = np.argsort(-score, kind="stable")
    y, t, s = y[order], t[order], score[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last row of each tie group
    n_t = np.cumsum(t)[ends]
    n_c = np.cumsum(1 - t)[ends]
    y_t = np.cumsum(y * t)[ends]
    y_c = np.cumsum(y * (1 - t))[ends]
    zero = np.zeros(1)
    return tuple(np.r_[zero, a] for a in (n_t, n_c, y_t, y_c))


def qini_curve(y, t, score) -> pd.DataFrame:
    """Qini curve points: ``fraction`` targeted and ``qini`` (see module docstring)."""
    n_t, n_c, y_t, y_c = _cumulative(y, t, score)
    total = len(np.asarray(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = y_t - np.where(n_c > 0, y_c * n_t / n_c, 0.0)
    return pd.DataFrame({"fraction": (n_t + n_c) / total, "qini": q / total})


def qini_coefficient(y, t, score) -> float:
    """Area between the Qini curve and random targeting (0 for a random score)."""
    curve = qini_curve(y, t, score)
    x, q = curve["fraction"].to_numpy(), curve["qini"].to_numpy()
    return float(np.trapezoid(q, x) - q[-1] / 2.0)


def uplift_curve(y, t, score) -> pd.DataFrame:
    """Uplift curve points: ``fraction`` targeted and ``uplift`` = rate gap × fraction."""
    n_t, n_c, y_t, y_c = _cumulative(y, t, score)
    total = len(np.asarray(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(
            (n_t > 0) & (n_c > 0), y_t / np.maximum(n_t, 1) - y_c / np.maximum(n_c, 1), 0.0
        )
    frac = (n_t + n_c) / total
    return pd.DataFrame({"fraction": frac, "uplift": gap * frac})


def auuc(y, t, score) -> float:
    """Area under the uplift curve (random targeting scores ``U(N) / 2``)."""
    curve = uplift_curve(y, t, score)
    return float(np.trapezoid(curve["uplift"].to_numpy(), curve["fraction"].to_numpy()))


def uplift_at_k(y, t, score, k: float = 0.1) -> float:
    """Treated minus control outcome rate among the top ``k`` fraction of all rows.

    Rows tied at the cut-off count with the weight that fills the top ``k`` exactly (the
    expectation under a random tie-break), so the result does not depend on row order.
    """
    if not 0 < k <= 1:
        raise ValueError(f"k={k} must be in (0, 1]")
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t).astype(np.int64)
    score = np.asarray(score, dtype=np.float64)
    size = k * len(y)
    cut = np.sort(score)[::-1][max(int(np.ceil(size)) - 1, 0)]
    above, tied = score > cut, score == cut
    weight = above.astype(np.float64) + tied * (size - above.sum()) / tied.sum()
    n_t, n_c = (weight * t).sum(), (weight * (1 - t)).sum()
    if n_t <= 0 or n_c <= 0:
        return float("nan")
    return float((weight * y * t).sum() / n_t - (weight * y * (1 - t)).sum() / n_c)


def uplift_metrics(y, t, score, k: float = 0.1) -> dict[str, float]:
    """uplift@k, Qini coefficient and AUUC of one score on the same rows."""
    return {
        f"uplift_at_{round(k * 100)}": uplift_at_k(y, t, score, k),
        "qini": qini_coefficient(y, t, score),
        "auuc": auuc(y, t, score),
    }


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level}

    def __str__(self) -> str:
        return f"{self.estimate:.4f} [{self.low:.4f}, {self.high:.4f}]"


def bootstrap(
    metrics: Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, float]],
    y,
    t,
    score,
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Percentile bootstrap intervals of every value ``metrics(y, t, score)`` returns.

    Rows are resampled with replacement within each arm, so every replicate keeps the test's
    treated / control sizes.
    """
    y, t, score = np.asarray(y, dtype=np.float64), np.asarray(t).astype(np.int64), np.asarray(score)
    point = metrics(y, t, score)
    rng = np.random.default_rng(seed)
    arms = [np.flatnonzero(t == a) for a in (0, 1)]
    draws = {name: np.empty(n_boot) for name in point}
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(a, size=len(a), replace=True) for a in arms])
        for name, value in metrics(y[idx], t[idx], score[idx]).items():
            draws[name][b] = value
    alpha = (1 - level) / 2
    return {
        name: Interval(
            float(point[name]),
            float(np.nanquantile(d, alpha)),
            float(np.nanquantile(d, 1 - alpha)),
            level,
        )
        for name, d in draws.items()
    }


def spearman(predicted, planted) -> float:
    """Spearman rank correlation between predicted and planted (true) uplift."""
    return float(spearmanr(predicted, planted).statistic)


def versus_oracle(y, t, score, oracle) -> dict[str, float]:
    """The score's Qini coefficient relative to the Qini of ranking by the true uplift."""
    model, best = qini_coefficient(y, t, score), qini_coefficient(y, t, oracle)
    return {
        "qini": model,
        "qini_oracle": best,
        "qini_vs_oracle": model / best if best else float("nan"),
    }
