"""Frequentist two-arm tests on summary statistics: proportions, Welch, delta method, bootstrap.

Every function takes the control arm first and the treatment arm second, and reports the
treatment minus control. The closed-form tests work element-wise on numpy arrays, so the A/A
simulations (:mod:`smsseg.readout.calibration`) exercise exactly the code the readout uses.
They are written from summary statistics because statsmodels and scipy take raw arrays (or,
for ``scipy.stats.ttest_ind_from_stats``, give no confidence interval); the golden tests in
``tests/readout`` check them against statsmodels and scipy to 1e-8.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from smsseg.readout.summary import SampleStats


class DiffTest(NamedTuple):
    """Difference treatment − control with its standard error, CI and two-sided test."""

    diff: float | np.ndarray
    se: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray
    statistic: float | np.ndarray
    p_value: float | np.ndarray
    df: float | np.ndarray = np.inf


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def proportion_ztest(control: SampleStats, treatment: SampleStats, alpha: float = 0.05) -> DiffTest:
    """Two-proportion z-test (pooled, the score test of p_t = p_c) with an unpooled Wald CI.

    Matches ``statsmodels.stats.proportion.proportions_ztest`` (z, p) and
    ``confint_proportions_2indep(method="wald")`` (CI). Undefined (``nan``) when both arms have
    no successes or only successes; use :func:`proportion_exact` then.
    """
    n_c, n_t = np.asarray(control.n, float), np.asarray(treatment.n, float)
    p_c, p_t = control.mean, treatment.mean
    diff = p_t - p_c
    pooled = (np.asarray(control.sum, float) + np.asarray(treatment.sum, float)) / (n_c + n_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
        z = np.where(se_pooled > 0, diff / se_pooled, np.nan)
    p_value = 2 * stats.norm.sf(np.abs(z))
    se = np.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    half = _z(alpha) * se
    return DiffTest(diff, se, diff - half, diff + half, z[()], p_value[()])


def wilson_interval(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion (array-friendly; scipy's ``binomtest`` is scalar)."""
    k, n = np.asarray(successes, float), np.asarray(n, float)
    z = _z(alpha)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def proportion_exact(control: SampleStats, treatment: SampleStats, alpha: float = 0.05) -> DiffTest:
    """Small-count alternative: Fisher's exact p-value and Newcombe's hybrid score CI.

    Newcombe's interval (method 10, from two Wilson intervals) keeps its coverage with few or
    zero successes, where the Wald interval collapses to a point. Matches
    ``scipy.stats.fisher_exact`` and ``confint_proportions_2indep(method="newcomb")``.
    Scalars only.
    """
    x_c, x_t = round(float(control.sum)), round(float(treatment.sum))
    n_c, n_t = int(control.n), int(treatment.n)
    p_c, p_t = x_c / n_c, x_t / n_t
    lo_c, hi_c = wilson_interval(x_c, n_c, alpha)
    lo_t, hi_t = wilson_interval(x_t, n_t, alpha)
    diff = p_t - p_c
    low = diff - np.sqrt((p_t - lo_t) ** 2 + (hi_c - p_c) ** 2)
    high = diff + np.sqrt((hi_t - p_t) ** 2 + (p_c - lo_c) ** 2)
    table = [[x_t, n_t - x_t], [x_c, n_c - x_c]]
    odds, p_value = stats.fisher_exact(table)
    se = np.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    return DiffTest(diff, float(se), float(low), float(high), float(odds), float(p_value))


def welch_ttest(control: SampleStats, treatment: SampleStats, alpha: float = 0.05) -> DiffTest:
    """Welch's unequal-variance t-test and CI for the difference in means.

    Matches ``scipy.stats.ttest_ind(equal_var=False)`` and statsmodels'
    ``CompareMeans.tconfint_diff(usevar="unequal")``. ``nan`` when an arm has fewer than two
    units or both arms have zero variance.
    """
    v_c, v_t = control.var_of_mean, treatment.var_of_mean
    n_c, n_t = np.asarray(control.n, float), np.asarray(treatment.n, float)
    diff = treatment.mean - control.mean
    se2 = v_c + v_t
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(se2 > 0, np.sqrt(se2), np.nan)
        df = se2**2 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
        t = diff / se
    p_value = 2 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    return DiffTest(diff, se[()], (diff - half)[()], (diff + half)[()], t[()], p_value[()], df[()])


def relative_lift(
    control_mean,
    control_var_mean,
    treatment_mean,
    treatment_var_mean,
    alpha: float = 0.05,
    z: float | None = None,
) -> tuple:
    """Relative lift ``mean_t / mean_c - 1`` with a delta-method CI (independent arms).

    ``Var(m_t / m_c) ≈ v_t / m_c² + m_t² v_c / m_c⁴`` with ``v`` the squared standard errors
    of the means. ``nan`` when the control mean is 0. ``z`` overrides the normal quantile
    (the sequential readout passes its confidence-sequence width).
    """
    m_c, m_t = np.asarray(control_mean, float), np.asarray(treatment_mean, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(m_c != 0, m_t / m_c - 1, np.nan)
        se = np.sqrt(treatment_var_mean / m_c**2 + m_t**2 * control_var_mean / m_c**4)
    half = (_z(alpha) if z is None else z) * se
    return lift[()], (lift - half)[()], (lift + half)[()], se[()]


def bootstrap_ci(
    control_values, treatment_values, alpha: float = 0.05, n_resamples: int = 2000, seed: int = 0
):
    """Percentile bootstrap CIs of the difference in means and of the relative lift.

    For heavy-tailed metrics (revenue) where a few big orders make the t interval unreliable.
    Each arm is resampled independently (``scipy.stats.bootstrap``), seeded.

    Returns
    -------
    (abs_low, abs_high, rel_low, rel_high)
    """

    def statistic(c, t, axis=-1):
        m_c, m_t = c.mean(axis=axis), t.mean(axis=axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack([m_t - m_c, m_t / m_c - 1])

    c, t = np.asarray(control_values, float), np.asarray(treatment_values, float)
    batch = max(1, min(n_resamples, 4_000_000 // max(c.size + t.size, 1)))  # bounds memory
    res = stats.bootstrap(
        (c, t),
        statistic,
        n_resamples=n_resamples,
        confidence_level=1 - alpha,
        method="percentile",
        vectorized=True,
        batch=batch,
        rng=np.random.default_rng(seed),
    )
    low, high = res.confidence_interval
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])
