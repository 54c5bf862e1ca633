"""Power, sample size and minimum detectable effect for two-arm tests.

* Proportions: the two-sided z-test with unpooled variances, ``se = sqrt(p_c q_c / n_c + p_t q_t / n_t)``
  (statsmodels' ``NormalIndPower`` on the matching effect size).
* Means: the two-sample t-test via the noncentral t distribution (statsmodels'
  ``TTestIndPower``), with a common standard deviation.

Both count the (tiny) power of the wrong tail, like statsmodels. Give exactly one of
``mde``, ``n_per_arm`` or ``power``: :func:`plan_proportion` / :func:`plan_mean` solve for it.
statsmodels is a development dependency only, hence the few closed forms here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from smsseg.errors import SmssegError


@dataclass(frozen=True)
class PowerPlan:
    """A solved power calculation; ``n_per_arm`` is the control arm (treatment = ratio × it)."""

    kind: str
    baseline: float
    sd: float
    mde: float
    relative_mde: float
    n_per_arm: int | float
    n_treatment: int | float
    power: float
    alpha: float
    ratio: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def _check(alpha: float, ratio: float, power: float | None, n: float | None) -> None:
    if not 0 < alpha < 1:
        raise SmssegError(f"alpha={alpha} must lie strictly between 0 and 1")
    if ratio <= 0:
        raise SmssegError(f"ratio={ratio} (treatment / control size) must be > 0")
    if power is not None and not alpha < power < 1:
        raise SmssegError(f"power={power} must lie between alpha={alpha} and 1")
    if n is not None and n < 2:
        raise SmssegError(f"n_per_arm={n} must be >= 2")


def proportion_power(
    baseline: float, mde: float, n_per_arm: float, alpha: float = 0.05, ratio: float = 1.0
) -> float:
    """Power of the two-sided two-proportion z-test to detect ``baseline → baseline + mde``."""
    p_t = baseline + mde
    se = math.sqrt(baseline * (1 - baseline) / n_per_arm + p_t * (1 - p_t) / (ratio * n_per_arm))
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(mde) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


def mean_power(
    sd: float, mde: float, n_per_arm: float, alpha: float = 0.05, ratio: float = 1.0
) -> float:
    """Power of the two-sided two-sample t-test (common ``sd``) to detect a shift ``mde``."""
    n_t = ratio * n_per_arm
    df = n_per_arm + n_t - 2
    nc = abs(mde) / (sd * math.sqrt(1 / n_per_arm + 1 / n_t))
    crit = stats.t.ppf(1 - alpha / 2, df)
    wrong_tail = stats.nct.cdf(-crit, df, nc)  # underflows to nan for large nc, where it is 0
    return float(stats.nct.sf(crit, df, nc) + np.nan_to_num(wrong_tail, nan=0.0))


def _solve(f, lo: float, hi: float) -> float:
    """Root of an increasing ``f`` on [lo, hi], widening ``hi`` until the sign changes."""
    while f(hi) < 0:
        hi *= 4
        if hi > 1e13:
            raise SmssegError("no sample size reaches the requested power (is the effect 0?)")
    return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-12))


def _plan(kind, power_fn, baseline, sd, mde, n_per_arm, power, alpha, ratio, relative, max_mde):
    given = [v is None for v in (mde, n_per_arm, power)]
    if sum(given) != 1:
        raise SmssegError("give exactly two of mde, n_per_arm and power; the third is solved for")
    _check(alpha, ratio, power, n_per_arm)
    scale = abs(baseline) if relative else 1.0
    if mde is not None:
        if mde == 0 or (relative and baseline == 0):
            raise SmssegError(
                f"mde={mde} (relative={relative}, baseline={baseline}) gives a zero effect"
            )
        abs_mde = mde * scale
        if kind == "proportion" and not 0 < baseline + abs_mde < 1:
            raise SmssegError(
                f"baseline {baseline} + mde {abs_mde:g} must stay strictly between 0 and 1"
            )
    if power is None:
        power = power_fn(abs_mde, n_per_arm)
    elif n_per_arm is None:
        n_per_arm = math.ceil(_solve(lambda n: power_fn(abs_mde, n) - power, 2.0, 1e3) - 1e-9)
    else:
        top = max_mde(n_per_arm)
        if power_fn(top, n_per_arm) < power:
            raise SmssegError(f"n_per_arm={n_per_arm} cannot reach power={power} for any effect")
        abs_mde = _solve(lambda d: power_fn(d, n_per_arm) - power, 1e-12 * top, top)
    rel = abs_mde / abs(baseline) if baseline else float("nan")
    n_t = n_per_arm * ratio
    return PowerPlan(
        kind,
        baseline,
        sd,
        abs_mde,
        rel,
        n_per_arm,
        math.ceil(n_t - 1e-9),
        float(power),
        alpha,
        ratio,
    )


def plan_proportion(
    baseline: float,
    *,
    mde: float | None = None,
    n_per_arm: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    relative: bool = False,
) -> PowerPlan:
    """Solve a proportion test plan for whichever of ``mde``, ``n_per_arm``, ``power`` is missing.

    Parameters
    ----------
    baseline : control conversion (or click, opt-out) rate, in (0, 1).
    mde : effect to detect, absolute (0.01 = one point) or relative to ``baseline`` if
        ``relative``. Solved for (as an increase) when ``None``.
    n_per_arm : control arm size; the treatment arm is ``ratio × n_per_arm``.
    power : probability of detecting ``mde``.
    alpha : two-sided significance level.

    Raises
    ------
    SmssegError
        If not exactly one of the three is missing, or a value is out of range.

    Example
    -------
    >>> plan_proportion(0.05, mde=0.10, power=0.8, relative=True).n_per_arm
    31231
    """
    if not 0 < baseline < 1:
        raise SmssegError(f"baseline={baseline} must be a rate strictly between 0 and 1")
    sd = math.sqrt(baseline * (1 - baseline))
    return _plan(
        "proportion",
        lambda d, n: proportion_power(baseline, d, n, alpha, ratio),
        baseline,
        sd,
        mde,
        n_per_arm,
        power,
        alpha,
        ratio,
        relative,
        max_mde=lambda n: (1 - baseline) * (1 - 1e-9),
    )


def plan_mean(
    sd: float,
    *,
    baseline: float = float("nan"),
    mde: float | None = None,
    n_per_arm: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    relative: bool = False,
) -> PowerPlan:
    """Solve a means (t-test) plan; ``baseline`` (the control mean) is needed only if ``relative``.

    Example
    -------
    >>> plan_mean(sd=10.0, mde=1.0, power=0.8).n_per_arm
    1571
    """
    if not sd > 0:
        raise SmssegError(f"sd={sd} must be > 0")
    if relative and not np.isfinite(baseline):
        raise SmssegError("a relative mde needs the control mean: pass baseline=")
    return _plan(
        "mean",
        lambda d, n: mean_power(sd, d, n, alpha, ratio),
        baseline,
        sd,
        mde,
        n_per_arm,
        power,
        alpha,
        ratio,
        relative,
        # 12 standard errors: power is 1 to machine precision
        max_mde=lambda n: 12 * sd * math.sqrt(1 / n + 1 / (ratio * n)),
    )
