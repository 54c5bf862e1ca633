"""Experiment-level checks: sample ratio mismatch and multiple-testing corrections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from smsseg.errors import SmssegError

#: SRM p-values below this flag the experiment (the usual, deliberately strict threshold:
#: the check runs on every readout, and a false alarm stops a good experiment).
SRM_ALPHA = 0.001

CORRECTIONS = ("holm", "bh", "none")


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness-of-fit of the arm sizes against the intended split."""

    counts: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    alpha: float
    #: why there is no p-value, when the check was not run (see :func:`srm_skipped`)
    reason: str = ""

    @property
    def ok(self) -> bool:
        """False only when the mismatch is significant (``nan`` p-values are not failures)."""
        return not self.p_value < self.alpha

    @property
    def checked(self) -> bool:
        """Whether there is a p-value (two arms with units and a known intended split)."""
        return not np.isnan(self.p_value)

    @property
    def message(self) -> str:
        if not self.checked:
            return self.reason or "SRM check not possible: fewer than two arms with units"
        observed = ", ".join(f"{k}={v:,}" for k, v in self.counts.items())
        expected = ", ".join(f"{k}={v:,.0f}" for k, v in self.expected.items())
        if self.ok:
            return f"SRM ok (p={self.p_value:.3g}): {observed}"
        return (
            f"SAMPLE RATIO MISMATCH (p={self.p_value:.2g} < {self.alpha:g}): observed {observed}, "
            f"expected {expected} — assignment or logging is broken, results are not trustworthy"
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "variant": list(self.counts),
                "n": list(self.counts.values()),
                "expected_n": [self.expected.get(k, np.nan) for k in self.counts],
                "srm_p_value": self.p_value,
                "srm_ok": self.ok,
            }
        )


def srm_check(
    counts: Mapping[str, int], split: Mapping[str, float] | None = None, alpha: float = SRM_ALPHA
) -> SrmResult:
    """Sample ratio mismatch check (``scipy.stats.chisquare``) against the intended split.

    Parameters
    ----------
    counts : variant → number of units assigned.
    split : variant → intended share (any positive weights; normalised). Default: equal.
    alpha : threshold below which the split is called a mismatch (0.001).

    Raises
    ------
    SmssegError
        If ``split`` misses a variant or has a non-positive weight.

    Example
    -------
    >>> srm_check({"control": 5000, "treatment": 5210}).ok
    True
    """
    names = list(counts)
    if split is None:
        weights = np.ones(len(names))
    else:
        missing = [k for k in names if k not in split]
        if missing:
            raise SmssegError(
                f"the intended split {dict(split)} has no share for variant(s) {missing}"
            )
        weights = np.array([float(split[k]) for k in names])
        if np.any(weights <= 0):
            raise SmssegError(
                f"the intended split {dict(split)} must give every variant a share > 0"
            )
    observed = np.array([counts[k] for k in names], dtype=float)
    total = observed.sum()
    expected = total * weights / weights.sum()
    if len(names) < 2 or total == 0:
        statistic, p_value = np.nan, np.nan
    else:
        statistic, p_value = stats.chisquare(observed, expected)
    return SrmResult(
        {k: int(c) for k, c in zip(names, observed, strict=True)},
        {k: float(e) for k, e in zip(names, expected, strict=True)},
        float(statistic),
        float(p_value),
        alpha,
    )


def srm_skipped(counts: Mapping[str, int], reason: str, alpha: float = SRM_ALPHA) -> SrmResult:
    """An :class:`SrmResult` without a test, e.g. when the intended split is not known.

    A check against a made-up split would be worse than none: the observed split compared with
    itself always passes (p = 1), and an equal split assumed for a 10 % holdout always fails.
    """
    nan = float("nan")
    return SrmResult({k: int(v) for k, v in counts.items()}, {}, nan, nan, alpha, reason)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error); ``nan`` entries are left out.

    scipy has Benjamini–Hochberg (``false_discovery_control``) but no Holm, hence this.
    """
    p = np.asarray(p_values, float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = ok.sum()
    if m:
        order = np.argsort(p[ok])
        scaled = (m - np.arange(m)) * p[ok][order]
        adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
        out_ok = np.empty(m)
        out_ok[order] = adjusted
        out[ok] = out_ok
    return out


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate); ``nan`` entries left out."""
    p = np.asarray(p_values, float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def adjust_p_values(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values: ``"holm"`` (default), ``"bh"`` or ``"none"``."""
    if method not in CORRECTIONS:
        raise SmssegError(f"correction={method!r} must be one of {', '.join(CORRECTIONS)}")
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    return np.asarray(p_values, float)
