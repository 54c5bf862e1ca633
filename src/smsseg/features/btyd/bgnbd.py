"""BG/NBD (Fader, Hardie & Lee 2005): expected purchases, P(alive), P(no purchase)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaincinv, betaln, digamma, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from smsseg.config import DEFAULT_SEED
from smsseg.errors import SmssegError
from smsseg.features.btyd._checks import _check_unit, _horizon, _series, _summary_arrays
from smsseg.features.btyd._fitting import (
    DEFAULT_N_STARTS,
    P_ALIVE_MIN_SPREAD,
    _Column,
    _fit_params,
    _set_params,
    _unique_rows,
    _weighted_quantiles,
)


class BetaGeoModel(BaseEstimator):
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    While alive a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; after each repeat
    purchase they drop out with probability ``p ~ Beta(a, b)``.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the four parameters, added to the mean negative log-likelihood (as in
        ``lifetimes``); 0 is plain maximum likelihood.
    max_customers : int, optional
        Fit on a random sample of at most this many customers (seeded by ``random_state``).
        Identical histories are always pooled, so this only matters when there are several
        hundred thousand distinct ones (~3 s for 600k distinct rows on 2 cores).
    random_state : int
        Seed of that sample and of the jittered optimiser starts.
    n_starts : int
        Optimiser starts: all log-parameters 0, a data-scaled start, then seeded jitter around it;
        the best log-likelihood is kept. 1 is the plain single-start fit.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Fitted parameters; ``params_`` holds them as a dict.
    log_likelihood_ : float
        Total log-likelihood of the training summary at the fitted parameters.
    converged_ : bool
        Whether the fit reached a stationary point (a ``ConvergenceWarning`` is raised otherwise;
        the best point found is kept).
    n_iter_ : int
        Optimiser iterations of the run that produced the fit.
    diagnostics_ : FitDiagnostics
        How the fit went: optimiser, starts, gradient, penalties, parameters at the bounds, the
        spread of P(alive) over repeat customers, flags and messages (``to_dict()`` for JSON).
        Degenerate data (nobody repeats, one distinct history, too few customers) or a fit that
        runs to the bounds is refitted with a small automatic penalty and warns (``UserWarning``).
    time_unit_days_ : float or None
        The summary's time unit, when it carried one (``rfm_summary`` sets it).

    Examples
    --------
    >>> model = BetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> model.expected_purchases(13, summary)  # next 13 weeks  # doctest: +SKIP
    """

    _param_names = ("r", "alpha", "a", "b")

    def __init__(
        self,
        penalizer: float = 0.0,
        max_customers: int | None = None,
        random_state: int = DEFAULT_SEED,
        n_starts: int = DEFAULT_N_STARTS,
    ):
        self.penalizer = penalizer
        self.max_customers = max_customers
        self.random_state = random_state
        self.n_starts = n_starts

    def fit(self, summary: pd.DataFrame) -> BetaGeoModel:
        """Fit on a ``frequency, recency, T`` summary; identical rows are weighted, not repeated."""
        x, tx, T = _summary_arrays(summary)
        n = len(x)
        if self.max_customers is not None:
            if not (isinstance(self.max_customers, int | np.integer) and self.max_customers >= 100):
                raise SmssegError(f"max_customers={self.max_customers!r} must be an int >= 100")
            if n > self.max_customers:
                rng = np.random.default_rng(self.random_state)
                keep = np.sort(rng.choice(n, size=self.max_customers, replace=False))
                x, tx, T = x[keep], tx[keep], T[keep]
        (x, tx, T), weights = _unique_rows(x, tx, T)
        conditions = []
        if not (x.values > 0).any():
            conditions.append(
                (
                    "no_repeat_purchases",
                    "nobody made a repeat purchase: the dropout parameters a, b are not "
                    "identified and P(alive) is 1 for everyone",
                )
            )
        _fit_params(
            self,
            _bg_loglik,
            weights,
            (x, tx, T),
            n_params=4,
            start=_bg_start(x.values, tx.values, T.values, weights),
            conditions=conditions,
            describe=lambda theta: _p_alive_diagnostics(theta, x, tx, T, weights),
        )
        self.time_unit_days_ = summary.attrs.get("time_unit_days")
        return self

    @classmethod
    def from_params(cls, r, alpha, a, b, time_unit_days=None) -> BetaGeoModel:
        """A fitted model with given parameters (published values, or ``params_`` from JSON)."""
        return _set_params(cls(), dict(r=r, alpha=alpha, a=a, b=b), time_unit_days)

    def log_likelihood(self, summary: pd.DataFrame) -> pd.Series:
        """Per-customer log-likelihood of ``(frequency, recency, T)`` under the fitted model."""
        x, tx, T = self._arrays(summary)
        return _series(_bg_loglik(self._theta(), x, tx, T), summary, "log_likelihood")

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(customer still alive at T | frequency, recency, T)."""
        x, tx, T = self._arrays(summary)
        return _series(_bg_p_alive(self._theta(), x, tx, T), summary, "p_alive")

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """Conditional expected number of purchases in ``(T, T + t]``, ``t`` in time units."""
        x, tx, T = self._arrays(summary)
        theta = self._theta()
        # the hypergeometric term depends on (x, T) only: evaluate once per distinct pair
        pair = x.codes.astype(np.int64) * len(T.levels) + T.codes
        codes, distinct = pd.factorize(pair)
        x_u, T_u = x.levels[distinct // len(T.levels)], T.levels[distinct % len(T.levels)]
        if_alive = _bg_expected_if_alive(theta, _horizon(t), x_u, T_u)[codes]
        value = _bg_p_alive(theta, x, tx, T) * if_alive
        return _series(value, summary, "expected_purchases")

    def prob_no_purchase(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """P(no purchase in ``(T, T + t]`` | history): a churn-probability baseline.

        ``1 - P(alive) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))``: a dead customer never
        buys; an alive one is only at risk of dropping out after a purchase, so they make none in
        the window when the next Poisson event comes after ``t``, whose probability averaged over
        the posterior ``lambda ~ Gamma(r + x, alpha + T)`` is the power term.
        """
        x, tx, T = self._arrays(summary)
        r, alpha, _, _ = self._theta()
        buys_if_alive = -np.expm1(-(r + x.values) * np.log1p(_horizon(t) / (alpha + T.values)))
        value = 1.0 - _bg_p_alive(self._theta(), x, tx, T) * buys_if_alive
        return _series(value, summary, "prob_no_purchase")

    def expected_purchases_unconditional(self, t):
        """E[X(t)]: expected repeat purchases in ``(0, t]`` for a customer who just bought."""
        check_is_fitted(self)
        t = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(t) | (t < 0)):
            raise SmssegError(f"t={t.tolist()!r} must be finite and >= 0 (time units)")
        value = _bg_expected_if_alive(self._theta(), t, np.zeros_like(t), np.zeros_like(t))
        return float(value) if value.ndim == 0 else value

    def _theta(self):
        return self.r_, self.alpha_, self.a_, self.b_

    def _arrays(self, summary) -> tuple[_Column, _Column, _Column]:
        check_is_fitted(self)
        _check_unit(self, summary)
        return tuple(_Column(values) for values in _summary_arrays(summary))


def _bg_start(x, tx, T, weights) -> np.ndarray:
    """A data-scaled start ``log(r, alpha, a, b)``: right orders of magnitude, not an estimate.

    ``r = 1`` with ``alpha`` matching the mean purchase rate (half a purchase added so that a
    cohort without repeats still has a finite rate), ``a = 1`` with ``b`` matching the mean
    dropout probability: the share of repeat customers silent for over twice their own mean gap
    between purchases, per repeat purchase (P(dropped out by x purchases) ~ x p).
    """
    rate = (weights @ x + 0.5) / max(weights @ T, 1e-9)
    repeat = x > 0
    p = 0.25  # a, b are not identified without repeat purchases: any moderate value will do
    if repeat.any():
        w, gap = weights[repeat], tx[repeat] / x[repeat]
        silent = (T[repeat] - tx[repeat]) > 2 * gap
        p = (w @ silent) / (w @ x[repeat])
    p = float(np.clip(p, 0.01, 0.5))
    return np.log([1.0, 1.0 / rate, 1.0, (1 - p) / p])


def _p_alive_diagnostics(theta, x: _Column, tx: _Column, T: _Column, weights):
    """P(alive) spread over the repeat customers, and the "P(alive) = 1 for everyone" flag.

    Customers without a repeat purchase are alive by the model's construction (dropout happens
    only after a purchase), so they say nothing about the fit; with none who repeated, everyone's
    P(alive) is 1.
    """
    p_alive = _bg_p_alive(theta, x, tx, T)
    repeat = x.values > 0
    if repeat.any():
        p_alive, weights = p_alive[repeat], weights[repeat]
    p10, p90 = _weighted_quantiles(p_alive, weights, [0.1, 0.9])
    fields = {"p_alive_p10": float(p10), "p_alive_spread": float(p90 - p10)}
    if p90 - p10 >= P_ALIVE_MIN_SPREAD or not repeat.any():
        return fields, [], []  # without repeaters the no_repeat_purchases message says it all
    if p10 > 1 - P_ALIVE_MIN_SPREAD:
        what = f"P(alive) is ~1 for every customer (P10 over repeat customers {p10:.4f})"
    else:
        what = f"P(alive) is nearly the same for every repeat customer (P90 - P10 {p90 - p10:.2g})"
    return fields, ["p_alive_constant"], [f"{what}: it does not rank customers"]


def _bg_loglik(theta, x: _Column, tx: _Column, T: _Column, grad=False):
    """Per-row BG/NBD log-likelihood, FHL (2005), in log space; with ``grad`` also its
    gradient with respect to ``(r, alpha, a, b)``, shape (n, 4).

    ``L = [x-only terms] (alpha+T)^-(r+x) (1 + exp(delta))`` where ``delta`` is the log-odds of
    "dropped out after the last purchase" (see ``_bg_p_alive``). Special functions of ``x`` and
    logs of ``T`` and ``t_x`` are evaluated once per distinct value.
    """
    r, alpha, a, b = theta
    rx = x.values + r
    log_t, log_tx = T.map(lambda v: np.log(alpha + v)), tx.map(lambda v: np.log(alpha + v))
    x_terms = x.map(
        lambda v: gammaln(r + v) - gammaln(r) + r * np.log(alpha) + betaln(a, b + v) - betaln(a, b)
    )
    delta = _log_odds_dead(theta, x, log_t, log_tx)
    ll = x_terms - rx * log_t + np.logaddexp(0.0, delta)
    if not grad:
        return ll
    w_dead = expit(delta)  # posterior probability of the dead branch
    d_r = x.map(lambda v: digamma(r + v) - digamma(r) + np.log(alpha))
    d_r = d_r - log_t + w_dead * (log_t - log_tx)
    inv_t, inv_tx = T.map(lambda v: 1 / (alpha + v)), tx.map(lambda v: 1 / (alpha + v))
    d_alpha = r / alpha - rx * (inv_t + w_dead * (inv_tx - inv_t))
    d_a = x.map(lambda v: digamma(a + b) - digamma(a + b + v)) + w_dead / a
    d_b = x.map(lambda v: digamma(a + b) - digamma(b) + digamma(b + v) - digamma(a + b + v))
    d_b = d_b - w_dead * x.map(lambda v: 1 / (b + np.maximum(v, 1) - 1))
    return ll, np.column_stack([d_r, d_alpha, d_a, d_b])


def _log_odds_dead(theta, x: _Column, log_t, log_tx):
    """log[a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)]; -inf when x = 0."""
    r, _, a, b = theta
    const = x.map(lambda v: np.where(v > 0, np.log(a) - np.log(b + np.maximum(v, 1) - 1), -np.inf))
    return const + (x.values + r) * (log_t - log_tx)


def _bg_p_alive(theta, x: _Column, tx: _Column, T: _Column):
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T)/(alpha + t_x))^(r + x))."""
    alpha = theta[1]
    log_t, log_tx = T.map(lambda v: np.log(alpha + v)), tx.map(lambda v: np.log(alpha + v))
    return expit(-_log_odds_dead(theta, x, log_t, log_tx))


def _bg_expected_if_alive(theta, t, x, T):
    """E[purchases in (T, T+t] | alive at T, x, T] (FHL 2005, without P(alive)).

    Written with Euler's transformation ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``
    so that the hypergeometric function's parameters no longer grow with ``x`` (no overflow):
    ``(a+b+x-1)/(a-1) * (1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z))``, ``z = t/(alpha+T+t)``.
    At ``a = 1`` the expression is 0/0 with a finite limit: interpolate between both sides.
    Where ``hyp2f1`` gives up (huge ``a, b``: a fit with no spread in the dropout probability),
    the defining integral is computed by quadrature instead (``_bg_expected_if_alive_quad``).
    """
    r, alpha, a, b = theta
    log1mz = -np.log1p(t / (alpha + T))
    z = -np.expm1(log1mz)

    def closed_form(a_):
        c = a_ + b + x - 1
        f = hyp2f1(a_ + b - 1 - r, a_ - 1, c, z)
        # 1 - (1-z)^(a-1) f, arranged so that nothing cancels worse than the limit itself
        return -c / (a_ - 1) * (np.expm1((a_ - 1) * log1mz) * f + (f - 1))

    h = 1e-6
    with np.errstate(all="ignore"):
        if abs(a - 1) < h:
            weight = (a - 1 + h) / (2 * h)
            value = (1 - weight) * closed_form(1 - h) + weight * closed_form(1 + h)
        else:
            value = closed_form(a)
    failed = ~np.isfinite(value)
    if np.any(failed):
        t_b, x_b, T_b = np.broadcast_arrays(t, x, T)
        value = np.array(value, dtype=float, copy=True)
        value[failed] = _bg_expected_if_alive_quad(theta, t_b[failed], x_b[failed], T_b[failed])
    return value


def _bg_expected_if_alive_quad(theta, t, x, T, n_nodes=64):
    """``E_p[(1 - (1 + p t / (alpha + T))^-(r + x)) / p]`` with ``p ~ Beta(a, b + x)``.

    The integrand (expected purchases of an alive customer with dropout probability ``p``,
    averaged over the Gamma posterior of ``lambda``) is smooth and bounded, so Gauss-Legendre
    on the quantile scale, ``p = F^-1(u)``, works for any ``a, b``, however concentrated.
    """
    r, alpha, a, b = theta
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    p = betaincinv(a, (b + x)[:, None], (nodes[None, :] + 1) / 2)
    rate = (t / (alpha + T))[:, None]
    k = (r + x)[:, None]
    with np.errstate(all="ignore"):
        g = -np.expm1(-k * np.log1p(p * rate)) / p
    g = np.where(p > 0, g, k * rate)  # the p -> 0 limit
    return g @ (weights / 2)
