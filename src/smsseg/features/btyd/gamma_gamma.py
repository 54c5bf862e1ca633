"""Gamma-Gamma (Fader, Hardie & Lee 2005b): expected average order value and CLV."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from smsseg.config import DEFAULT_SEED
from smsseg.errors import SmssegError
from smsseg.features.btyd._checks import _monetary, _resolve_unit, _series, _summary_arrays
from smsseg.features.btyd._fitting import (
    DEFAULT_N_STARTS,
    _Column,
    _fit_params,
    _set_params,
    _unique_rows,
)
from smsseg.features.btyd.bgnbd import BetaGeoModel

DAYS_PER_YEAR = 365.25
_DISCOUNT_STEP_DAYS = 30.0  # discounting is applied per ~month of the horizon


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma model of average order value (Fader, Hardie & Lee 2005b).

    Each order of a customer is ``Gamma(p, nu)``, with ``nu ~ Gamma(q, v)`` across customers; it
    assumes spend is independent of purchase frequency (check the correlation before use).

    Parameters
    ----------
    penalizer : float
        L2 penalty on ``p, q, v`` added to the mean negative log-likelihood.
    n_starts : int
        Optimiser starts (as in :class:`BetaGeoModel`); the data-scaled one matches the mean
        order value, whatever the currency.
    random_state : int
        Seed of the jittered starts.

    Attributes
    ----------
    p_, q_, v_ : float
        Fitted parameters; ``params_`` holds them as a dict.
    log_likelihood_, converged_, n_iter_, diagnostics_, time_unit_days_ :
        As in :class:`BetaGeoModel` (``diagnostics_`` without the P(alive) fields).
    """

    _param_names = ("p", "q", "v")

    def __init__(
        self,
        penalizer: float = 0.0,
        n_starts: int = DEFAULT_N_STARTS,
        random_state: int = DEFAULT_SEED,
    ):
        self.penalizer = penalizer
        self.n_starts = n_starts
        self.random_state = random_state

    def fit(self, summary: pd.DataFrame) -> GammaGammaModel:
        """Fit on customers with ``frequency > 0`` and ``monetary_value > 0`` (others skipped)."""
        x, _, _ = _summary_arrays(summary)
        m = _monetary(summary)
        use = (x > 0) & (m > 0)
        if ((x > 0) & (m == 0)).any():
            warnings.warn(
                f"{int(((x > 0) & (m == 0)).sum())} repeat customers have monetary_value 0 and "
                "are left out of the Gamma-Gamma fit (its spend distribution is positive)",
                stacklevel=2,
            )
        if use.sum() < 2:
            raise SmssegError(
                f"Gamma-Gamma needs at least 2 customers with frequency > 0 and monetary_value "
                f"> 0; the summary has {int(use.sum())}"
            )
        (x, m), weights = _unique_rows(x[use], m[use])
        conditions = []
        if len(m.levels) == 1:
            conditions.append(
                (
                    "no_spend_spread",
                    "every repeat customer has the same monetary_value: the spread of spend "
                    "across customers (q) is not identified",
                )
            )
        _fit_params(
            self,
            _gg_loglik,
            weights,
            (x, m),
            n_params=3,
            start=_gg_start(x.values, m.values, weights),
            conditions=conditions,
        )
        self.time_unit_days_ = summary.attrs.get("time_unit_days")
        return self

    @classmethod
    def from_params(cls, p, q, v) -> GammaGammaModel:
        """A fitted model with given parameters."""
        return _set_params(cls(), dict(p=p, q=q, v=v), None)

    def conditional_expected_average_profit(self, summary: pd.DataFrame) -> pd.Series:
        """E[average order value | frequency, monetary_value]; the population mean when x = 0.

        ``p (v + x m) / (p x + q - 1)``: a weighted mean of the population mean ``p v / (q - 1)``
        and the customer's own mean ``m``, the weight on ``m`` growing with ``x``.
        """
        check_is_fitted(self)
        if self.q_ <= 1:
            raise SmssegError(
                f"fitted q={self.q_:.4g} must be > 1 for the mean order value to be finite; the "
                "spend data is too heavy-tailed for Gamma-Gamma (cap outliers or use the median)"
            )
        x, _, _ = _summary_arrays(summary)
        m = _monetary(summary)
        value = self.p_ * (self.v_ + x * m) / (self.p_ * x + self.q_ - 1)
        return _series(value, summary, "expected_average_profit")

    def customer_lifetime_value(
        self,
        bgnbd: BetaGeoModel,
        summary: pd.DataFrame,
        horizon_days: float,
        discount_rate_annual: float = 0.0,
        time_unit_days: float | None = None,
    ) -> pd.Series:
        """Expected spend over the next ``horizon_days``: purchases x expected order value.

        With ``discount_rate_annual > 0`` the horizon is cut into ~30-day steps and the purchases
        expected in each step are discounted by ``(1 + rate) ** -(step end in years)``.
        ``time_unit_days`` defaults to the unit recorded by ``rfm_summary`` / the fitted models.
        """
        if not (np.isfinite(horizon_days) and horizon_days > 0):
            raise SmssegError(f"horizon_days={horizon_days!r} must be > 0")
        if not (np.isfinite(discount_rate_annual) and discount_rate_annual >= 0):
            raise SmssegError(f"discount_rate_annual={discount_rate_annual!r} must be >= 0")
        unit = _resolve_unit(time_unit_days, summary, bgnbd, self)
        spend = self.conditional_expected_average_profit(summary).to_numpy()
        n_steps = (
            1 if discount_rate_annual == 0 else int(np.ceil(horizon_days / _DISCOUNT_STEP_DAYS))
        )
        ends = np.linspace(0.0, horizon_days, n_steps + 1)
        cumulative = [np.zeros(len(summary))]
        cumulative += [bgnbd.expected_purchases(e / unit, summary).to_numpy() for e in ends[1:]]
        per_step = np.diff(np.vstack(cumulative), axis=0)
        discount = (1.0 + discount_rate_annual) ** (-ends[1:] / DAYS_PER_YEAR)
        return _series(discount @ per_step * spend, summary, "clv")


def _gg_start(x, m, weights) -> np.ndarray:
    """A data-scaled start ``log(p, q, v)``: the population mean order value right, in any currency.

    ``p = 1``; ``q = 2 + 1 / CV^2`` of the customers' mean spend (the coefficient of variation of
    ``1 / nu ~ InverseGamma(q, v)`` is ``1 / sqrt(q - 2)``), kept within [2.1, 50]; then ``v`` so
    that ``p v / (q - 1)`` is the mean order value.
    """
    orders = weights * x
    mean = (orders @ m) / orders.sum()
    cv2 = (weights @ (m - mean) ** 2) / weights.sum() / mean**2
    q = float(np.clip(2 + 1 / max(cv2, 1e-12), 2.1, 50.0))
    return np.log([1.0, q, mean * (q - 1)])


def _gg_loglik(theta, x: _Column, m: _Column, grad=False):
    """Log-density of a customer's mean order value ``m`` over ``x`` orders (FHL 2005b); with
    ``grad`` also its gradient with respect to ``(p, q, v)``, shape (n, 3)."""
    p, q, v = theta
    px = p * x.values
    log_m = m.map(np.log)
    log_xm_v = np.log(x.values * m.values + v)
    ll = (
        x.map(lambda k: gammaln(p * k + q) - gammaln(p * k) + p * k * np.log(k))
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * log_m
        - (px + q) * log_xm_v
    )
    if not grad:
        return ll
    psi = x.map(lambda k: digamma(p * k + q))
    d_p = x.values * (psi - x.map(lambda k: digamma(p * k) - np.log(k)) + log_m - log_xm_v)
    d_q = psi - digamma(q) + np.log(v) - log_xm_v
    d_v = q / v - (px + q) / (x.values * m.values + v)
    return ll, np.column_stack([d_p, d_q, d_v])
