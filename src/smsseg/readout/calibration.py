"""Seeded, vectorized simulations that check the readout's error rates (A/A tests, peeking, CUPED).

Each simulated experiment is a set of array-valued :class:`~smsseg.readout.summary.SampleStats`,
and the tests run on those arrays: thousands of experiments take a second, and they exercise
the same functions the readout calls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from smsseg.readout import frequentist, sequential
from smsseg.readout.cuped import cuped_adjust
from smsseg.readout.summary import CovariateStats, SampleStats


@dataclass(frozen=True)
class RejectionRate:
    """How often a test rejected among ``n_runs`` simulated experiments, with a 95 % CI."""

    label: str
    n_runs: int
    rejections: int
    alpha: float

    @property
    def rate(self) -> float:
        return self.rejections / self.n_runs

    @property
    def ci(self) -> tuple[float, float]:
        ci = stats.binomtest(self.rejections, self.n_runs).proportion_ci(0.95, method="exact")
        return float(ci.low), float(ci.high)

    def to_frame(self) -> pd.DataFrame:
        low, high = self.ci
        return pd.DataFrame([{**asdict(self), "rate": self.rate, "ci_low": low, "ci_high": high}])


def _arms_mean(rng, n_runs: int, n: int, shape: tuple[int, ...] = ()) -> SampleStats:
    """Summaries of lognormal (right-skewed, revenue-like) arms, in chunks to bound memory."""
    sums, squares = np.empty((n_runs, *shape)), np.empty((n_runs, *shape))
    chunk = max(1, 2_000_000 // (n * int(np.prod(shape, dtype=int))))
    for start in range(0, n_runs, chunk):
        stop = min(n_runs, start + chunk)
        x = rng.lognormal(0.0, 1.0, size=(stop - start, *shape, n))
        sums[start:stop], squares[start:stop] = x.sum(axis=-1), (x**2).sum(axis=-1)
    return SampleStats(np.full(sums.shape, n), sums, squares)


def aa_false_positive_rate(
    n_runs: int = 2000,
    n_per_arm: int = 2000,
    kind: str = "proportion",
    baseline: float = 0.05,
    alpha: float = 0.05,
    seed: int = 0,
) -> RejectionRate:
    """Share of A/A experiments (no true effect) the fixed-horizon test calls significant.

    ``kind="proportion"``: Bernoulli(``baseline``) arms through the two-proportion z-test;
    ``kind="mean"``: lognormal arms through Welch's t-test. A calibrated test rejects at rate
    ``alpha``.
    """
    rng = np.random.default_rng(seed)
    if kind == "proportion":
        n = np.full(n_runs, n_per_arm)
        arms = [
            SampleStats.from_counts(n, rng.binomial(n_per_arm, baseline, n_runs)) for _ in range(2)
        ]
        p = frequentist.proportion_ztest(*arms, alpha).p_value
    else:
        arms = [_arms_mean(rng, n_runs, n_per_arm) for _ in range(2)]
        p = frequentist.welch_ttest(*arms, alpha).p_value
    return RejectionRate(f"A/A {kind}", n_runs, int(np.sum(p < alpha)), alpha)


def peeking_false_positive_rates(
    n_runs: int = 2000,
    n_looks: int = 20,
    per_look: int = 500,
    baseline: float = 0.05,
    alpha: float = 0.05,
    mixture_sd: float = 0.1,
    seed: int = 0,
) -> dict[str, RejectionRate]:
    """A/A experiments looked at ``n_looks`` times, stopping at the first significant look.

    Returns the rejection rates of the naive fixed-horizon z-test at every look (``"naive"``),
    of the z-test at the final look only (``"final"``), and of the always-valid mSPRT at every
    look (``"sequential"``). Peeking inflates the naive rate well above ``alpha``; the mSPRT
    keeps it at or below ``alpha``.
    """
    rng = np.random.default_rng(seed)
    n = per_look * np.arange(1, n_looks + 1) * np.ones((n_runs, 1), dtype=int)
    arms = [
        SampleStats.from_counts(
            n, np.cumsum(rng.binomial(per_look, baseline, (n_runs, n_looks)), axis=1)
        )
        for _ in range(2)
    ]
    z = frequentist.proportion_ztest(*arms, alpha)
    tau = sequential.mixture_tau((arms[0] + arms[1]).std, mixture_sd)
    seq = sequential.msprt(z.diff, z.se**2, tau, alpha)  # as the readout: p(1 - p)/n per arm
    p_seq = sequential.running_min(np.nan_to_num(seq.p_value, nan=1.0), axis=1)
    p_naive = np.nan_to_num(z.p_value, nan=1.0)
    return {
        "naive": RejectionRate(
            f"naive z, {n_looks} looks", n_runs, int((p_naive < alpha).any(axis=1).sum()), alpha
        ),
        "final": RejectionRate(
            "z at the final look only", n_runs, int((p_naive[:, -1] < alpha).sum()), alpha
        ),
        "sequential": RejectionRate(
            f"mSPRT, {n_looks} looks", n_runs, int((p_seq < alpha).any(axis=1).sum()), alpha
        ),
    }


@dataclass(frozen=True)
class CupedSimulation:
    """Raw and CUPED estimates of a planted effect over many simulated experiments."""

    effect: float
    rho: float
    raw: np.ndarray
    adjusted: np.ndarray
    variance_reduction: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "estimator": ["difference in means", "CUPED"],
                "mean_estimate": [self.raw.mean(), self.adjusted.mean()],
                "sd_estimate": [self.raw.std(ddof=1), self.adjusted.std(ddof=1)],
                "bias": [self.raw.mean() - self.effect, self.adjusted.mean() - self.effect],
                "variance_reduction": [np.nan, float(np.mean(self.variance_reduction))],
            }
        )


def cuped_simulation(
    n_runs: int = 2000, n_per_arm: int = 500, rho: float = 0.7, effect: float = 0.1, seed: int = 0
) -> CupedSimulation:
    """Simulate experiments whose metric correlates ``rho`` with a pre-period covariate.

    ``y = rho·x + sqrt(1 − rho²)·e (+ effect in treatment)`` with standard normal ``x``, ``e``:
    CUPED should remove about ``rho²`` of the variance and stay centred on ``effect``.
    """
    rng = np.random.default_rng(seed)
    arms = []
    for shift in (0.0, effect):
        x = rng.normal(size=(n_runs, n_per_arm))
        y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n_runs, n_per_arm)) + shift
        arms.append(
            CovariateStats(
                np.full(n_runs, n_per_arm),
                y.sum(1),
                (y**2).sum(1),
                x.sum(1),
                (x**2).sum(1),
                (x * y).sum(1),
            )
        )
    adj = cuped_adjust(*arms)
    raw = arms[1].y.mean - arms[0].y.mean
    return CupedSimulation(
        effect, rho, raw, adj.treatment.mean - adj.control.mean, adj.variance_reduction
    )
