"""Bayesian readouts: probability that a variant beats control, and the expected loss.

* Proportions: independent beta-binomial posteriors, ``Beta(a + successes, b + failures)``.
  ``P(p_t > p_c)`` and ``E[max(p_c - p_t, 0)]`` are one-dimensional integrals, evaluated with
  ``scipy.integrate.quad`` over the region where the posteriors have mass (exact sums exist
  only for integer parameters and cost O(successes) terms).
* Means: a normal posterior of the difference, ``N(diff, se²)`` (flat prior), in closed form.

Expected loss is the expected shortfall, in the metric's own units, of shipping the variant
if it is in fact worse than control: small means "safe to ship even if wrong".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import integrate, special, stats

from smsseg.readout.summary import SampleStats


class BayesResult(NamedTuple):
    prob_beat_control: float | np.ndarray
    expected_loss: float | np.ndarray


def normal_posterior(diff, se) -> BayesResult:
    """``P(D > 0)`` and ``E[max(-D, 0)]`` for ``D ~ N(diff, se²)``; array-friendly."""
    diff, se = np.asarray(diff, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
        prob = stats.norm.cdf(z)
        loss = se * stats.norm.pdf(z) - diff * stats.norm.cdf(-z)
    # A zero standard error leaves no uncertainty: the sign of the difference decides.
    prob = np.where(se == 0, (diff > 0) + 0.5 * (diff == 0), prob)
    loss = np.where(se == 0, np.maximum(-diff, 0.0), loss)
    return BayesResult(prob[()], loss[()])


class _Beta:
    """Beta density and distribution function from ``scipy.special`` (the frozen
    ``scipy.stats.beta`` costs ~20 µs a call, which quad would pay thousands of times)."""

    def __init__(self, a: float, b: float):
        self.a, self.b = a, b
        self.log_norm = special.betaln(a, b)

    def pdf(self, x: float) -> float:
        if x <= 0.0 or x >= 1.0:
            return 0.0
        return math.exp((self.a - 1) * math.log(x) + (self.b - 1) * math.log1p(-x) - self.log_norm)

    def cdf(self, x: float) -> float:
        return special.betainc(self.a, self.b, x)

    def sf(self, x: float) -> float:
        return special.betaincc(self.a, self.b, x)

    def ppf(self, q: float) -> float:
        return special.betaincinv(self.a, self.b, q)

    def mean(self) -> float:
        return self.a / (self.a + self.b)


def beta_binomial(
    control: SampleStats, treatment: SampleStats, prior: tuple[float, float] = (1.0, 1.0)
) -> BayesResult:
    """Posterior ``P(p_t > p_c)`` and ``E[max(p_c - p_t, 0)]`` under a Beta prior (scalars).

    Parameters
    ----------
    control, treatment : 0/1 metric summaries (``sum`` is the number of successes).
    prior : ``(a, b)`` of the Beta prior shared by both arms; ``(1, 1)`` is uniform.
    """
    a, b = prior
    post_c = _Beta(a + float(control.sum), b + float(control.n - control.sum))
    post_t = _Beta(a + float(treatment.sum), b + float(treatment.n - treatment.sum))
    eps = 1e-12
    lo = max(0.0, min(post_c.ppf(eps), post_t.ppf(eps)))
    hi = min(1.0, max(post_c.ppf(1 - eps), post_t.ppf(1 - eps)))
    # Breakpoints at both posterior means keep quad from stepping over a narrow peak.
    points = sorted({float(np.clip(d.mean(), lo, hi)) for d in (post_c, post_t)})
    opts = {"limit": 200, "points": points, "epsabs": 1e-13, "epsrel": 1e-10}

    def integral(f) -> float:
        return integrate.quad(f, lo, hi, **opts)[0] if hi > lo else 0.0

    prob = integral(lambda x: post_t.pdf(x) * post_c.cdf(x))
    # E[(C - T)+] = E[C 1(C > T)] - E[T 1(T < C)]
    loss = integral(lambda x: x * post_c.pdf(x) * post_t.cdf(x)) - integral(
        lambda x: x * post_t.pdf(x) * post_c.sf(x)
    )
    return BayesResult(float(np.clip(prob, 0, 1)), float(max(loss, 0.0)))
