"""Always-valid inference for teams that peek: the mixture SPRT and its confidence sequence.

The normal-mixture sequential probability ratio test (mSPRT; Robbins 1970, Johari et al.
2017, "Peeking at A/B tests") compares an estimate ``θ̂ ~ N(θ, V)`` — here the difference in
means, with ``V`` its squared standard error — against ``θ = 0`` with a ``N(0, τ²)`` mixture over
the alternative:

    Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))

``Λ`` is a non-negative martingale under the null, so by Ville's inequality ``P(sup Λ ≥ 1/α) ≤ α``:
the p-value ``min(1, 1/Λ)`` (running minimum over looks) stays valid however often one looks.
Inverting it gives a confidence sequence, an interval that covers ``θ`` at all looks at once.

``τ`` is the spread of effects the test is tuned to; ``mixture_sd`` expresses it in standard
deviations of the metric (0.1 by default, a typical A/B effect size), so one setting suits
metrics of any scale. No library on numpy 2 / pandas 3 provides these, hence the few lines here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SequentialResult(NamedTuple):
    p_value: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray
    half_width_z: float | np.ndarray  # half-width / se: the sequential analogue of z_(1-α/2)


def mixture_tau(pooled_sd, mixture_sd: float = 0.1):
    """Mixing standard deviation ``τ`` of the effect, from the metric's standard deviation."""
    if mixture_sd <= 0:
        raise ValueError(f"mixture_sd={mixture_sd} must be > 0")
    return mixture_sd * np.asarray(pooled_sd, float)


def msprt(diff, var_diff, tau, alpha: float = 0.05) -> SequentialResult:
    """Always-valid p-value and confidence sequence of one look (array-friendly).

    Parameters
    ----------
    diff : estimated difference ``θ̂`` (treatment − control).
    var_diff : its squared standard error ``V``.
    tau : standard deviation of the normal mixture over the effect.
    alpha : level of the confidence sequence.

    Returns
    -------
    SequentialResult
        ``p_value`` of this look (take the running minimum across looks), the confidence
        sequence ``ci_low``/``ci_high``, and its half-width in standard errors.
    """
    diff, v, tau2 = (np.asarray(a, float) for a in (diff, var_diff, tau))
    tau2 = tau2**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lambda = 0.5 * np.log(v / (v + tau2)) + tau2 * diff**2 / (2 * v * (v + tau2))
        p_value = np.minimum(1.0, np.exp(-log_lambda))
        radius2 = v * (v + tau2) / tau2 * (2 * np.log(1 / alpha) + np.log((v + tau2) / v))
        radius = np.sqrt(radius2)
        width_z = radius / np.sqrt(v)
    bad = ~(v > 0) | ~(tau2 > 0)
    p_value, radius, width_z = (np.where(bad, np.nan, a) for a in (p_value, radius, width_z))
    return SequentialResult(p_value[()], (diff - radius)[()], (diff + radius)[()], width_z[()])


def running_min(p_values, axis: int = -1) -> np.ndarray:
    """Always-valid p-values over successive looks: the running minimum along ``axis``."""
    return np.minimum.accumulate(np.asarray(p_values, float), axis=axis)
