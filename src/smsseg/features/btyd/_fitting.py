"""Maximum-likelihood fitting shared by the BTYD models: distinct rows, weighted, log-parameters.

The weighted mean negative log-likelihood is minimised over log-parameters by L-BFGS-B from a
few deterministic starts; Nelder-Mead takes over when L-BFGS-B stops short from all of them; data
that cannot pin the parameters down (or a fit that runs to the bounds) is refitted with a small
automatic penalty; and every fit records what happened in a :class:`FitDiagnostics`. The aim is
that a fit never fails nor degrades silently: it returns the best model found and says how good it
is (``docs/btyd.md``, "Robust fitting and diagnostics").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, minimize
from sklearn.exceptions import ConvergenceWarning

from smsseg.errors import SmssegError

#: Log-parameters live in [-LOG_BOUND, LOG_BOUND], every parameter in (2e-9, 5e8): wide, but finite.
LOG_BOUND = 20.0

#: A parameter whose |log| comes within this of ``LOG_BOUND`` "ran to the bounds": the likelihood
#: keeps improving towards 0 or infinity, so the data does not pin that parameter down.
AT_BOUND_MARGIN = 1.0

#: Largest |gradient| of the mean negative log-likelihood (per log-parameter) that counts as a
#: stationary point when an optimiser stops without declaring success.
GRADIENT_TOLERANCE = 1e-6

#: Largest |gradient| at which an optimiser's own ``success`` is believed (see :func:`converged`).
SUCCESS_GRADIENT_TOLERANCE = 1e-4

#: The automatic penalty, used only when the data is degenerate or the plain fit runs to the
#: bounds or does not converge, is a Normal(log theta_0, FALLBACK_PRIOR_SD^2) prior on each
#: log-parameter (the fit becomes a MAP estimate): ``sum((log theta - log theta_0)^2) / (2 sd^2)``
#: in log-likelihood units, i.e. that divided by the number of customers on the mean objective.
#: Centred on the data-scaled start ``theta_0`` (not on 1), so it does not depend on the time unit
#: or the currency. An sd of 2 log-units (a factor e^2 ~ 7 either way) is weak where the data
#: speaks (on CDNOW it would cost < 0.03 log-likelihood units and move the BG/NBD parameters by
#: < 2 %, the Gamma-Gamma ones by < 6 %) but pins down what the data leaves flat: dropout without
#: repeat purchases, a single history, the ridge towards a, b -> infinity when nobody drops out.
FALLBACK_PRIOR_SD = 2.0

#: Fewer customers than this per parameter count as "too few": maximum likelihood on a handful of
#: histories often lies on the boundary, so those fits are penalised from the start.
MIN_CUSTOMERS_PER_PARAM = 10

#: Standard deviation (log-units) of the seeded jitter of the starts after the first two.
JITTER_SD = 1.0

#: The two deterministic starts "agree" (and the jittered ones are skipped) when both converged
#: to log-parameters this close: 0.1 % in every parameter.
AGREEMENT_TOLERANCE = 1e-3

#: P90 - P10 of P(alive) over the repeat customers below which P(alive) does not tell customers
#: apart (the "P(alive) = 1 for everyone" complaint about BG/NBD fits).
P_ALIVE_MIN_SPREAD = 0.01

DEFAULT_N_STARTS = 3

_LBFGSB_OPTIONS = {"ftol": 1e-14, "gtol": 1e-9, "maxiter": 1000}
# Nelder-Mead: tolerances tight enough that the gradient test can pass at its end point; 400
# evaluations per parameter bound its cost on a hopeless ridge (on CDNOW, BG/NBD stops by xatol
# after ~1100 of its 1600, Gamma-Gamma uses its 1200 and ends at |gradient| ~5e-8).
_NELDER_MEAD_OPTIONS = {"xatol": 1e-10, "fatol": 1e-15, "adaptive": True}
_NELDER_MEAD_FEV_PER_PARAM = 400


@dataclass(frozen=True)
class FitDiagnostics:
    """What happened in a BTYD fit; ``to_dict()`` is JSON-ready (for logging to MLflow).

    Attributes
    ----------
    model : str
        Estimator class name.
    converged : bool
        Whether the returned point passes the convergence test (:func:`converged`).
    optimizer : str
        ``"L-BFGS-B"``, or ``"Nelder-Mead"`` / ``"Nelder-Mead, then L-BFGS-B"`` when the fallback
        optimiser produced the returned point.
    n_starts, best_start : int
        Starts run in the (final, possibly penalised) fit, the jittered ones being skipped when
        the first two agree, and the index of the one that led to the returned point (0: all
        log-parameters 0; 1: the data-scaled start; 2+: seeded jitter around it).
    n_iter : int
        Iterations of the optimiser run(s) that produced the returned point.
    gradient_max_abs : float
        Largest |gradient| of the objective (per log-parameter, components pressing against a
        bound left out) at the returned point.
    log_likelihood : float
        Total (unpenalised) log-likelihood at the returned point.
    penalizer, fallback_penalty : float
        The estimator's ``penalizer`` and the weight of the automatic penalty on the mean
        objective, ``1 / (2 FALLBACK_PRIOR_SD^2 n_rows)`` (0.0 when not used).
    n_rows, n_distinct_rows : int
        Customers fitted and distinct histories among them.
    at_bounds : tuple of str
        Parameters at (or within ``AT_BOUND_MARGIN`` of) the log-parameter bounds.
    flags : tuple of str
        Machine-readable conditions met: ``no_repeat_purchases``, ``one_distinct_history``,
        ``too_few_customers``, ``no_spend_spread``, ``unpenalized_at_bounds``,
        ``unpenalized_not_converged``, ``fallback_optimizer``, ``fallback_penalty``,
        ``at_bounds``, ``not_converged``, ``p_alive_constant``.
    messages : tuple of str
        The same in words; they are also the text of the fit's warnings.
    p_alive_p10, p_alive_spread : float or None
        BG/NBD only: 10th percentile and P90 - P10 of P(alive) over the repeat customers of the
        training data (over everyone, all 1, when nobody repeated); None for Gamma-Gamma.
    """

    model: str
    converged: bool
    optimizer: str
    n_starts: int
    best_start: int
    n_iter: int
    gradient_max_abs: float
    log_likelihood: float
    penalizer: float
    fallback_penalty: float
    n_rows: int
    n_distinct_rows: int
    at_bounds: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    p_alive_p10: float | None = None
    p_alive_spread: float | None = None

    def to_dict(self) -> dict:
        """Plain Python values (tuples as lists); fields that do not apply (None) are left out."""
        out = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            if isinstance(value, float) and not np.isfinite(value):
                value = None  # JSON has no inf / nan (only a fit stuck outside the valid region)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class _Run:
    """One optimiser outcome, judged the same way whichever optimiser produced it."""

    x: np.ndarray
    fun: float
    gradient_max_abs: float
    converged: bool
    nit: int
    optimizer: str
    start: int
    message: str


def _fit_params(
    model,
    loglik,
    weights: np.ndarray,
    data: tuple,
    n_params: int,
    start: np.ndarray,
    conditions: Sequence[tuple[str, str]] = (),
    describe: Callable | None = None,
) -> None:
    """Fit, set the learned attributes and ``diagnostics_``, and warn about what went wrong.

    Parameters
    ----------
    model : BetaGeoModel or GammaGammaModel
        Supplies ``penalizer``, ``n_starts``, ``random_state`` and ``_param_names``.
    loglik : callable
        ``loglik(theta, *data, grad=False)``: per-row log-likelihood (and its gradient).
    weights : ndarray
        Customers per distinct row of ``data``.
    start : ndarray
        Data-scaled log-parameter start (method-of-moments-ish); also the centre of the automatic
        penalty.
    conditions : sequence of (flag, message)
        Model-specific degenerate-data conditions found by the caller; any of them (or too few
        customers, or a single distinct history) makes the fit penalised from the start.
    describe : callable, optional
        ``describe(theta) -> (fields, flags, messages)``: model-specific diagnostics at the fit.
    """
    penalizer = model.penalizer
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise SmssegError(f"penalizer={penalizer!r} must be >= 0")
    n_starts = model.n_starts
    if not (isinstance(n_starts, int | np.integer) and n_starts >= 1):
        raise SmssegError(f"n_starts={n_starts!r} must be an int >= 1")
    names = model._param_names
    start = np.clip(np.asarray(start, dtype=float), -LOG_BOUND / 2, LOG_BOUND / 2)
    starts = _starts(start, n_params, int(n_starts), model.random_state)
    n_rows, n_distinct = int(round(weights.sum())), len(weights)

    flags, messages = [], []
    for flag, message in conditions:
        flags.append(flag)
        messages.append(message)
    if n_distinct == 1:
        flags.append("one_distinct_history")
        messages.append(
            f"all {n_rows} customers have the same history: the parameters are not identified"
        )
    if n_rows < MIN_CUSTOMERS_PER_PARAM * n_params:
        flags.append("too_few_customers")
        messages.append(
            f"{n_rows} customers for {n_params} parameters (fewer than "
            f"{MIN_CUSTOMERS_PER_PARAM * n_params}): maximum likelihood is unstable"
        )

    def run(fallback_penalty):
        objective = _objective(loglik, weights, data, n_params, penalizer, fallback_penalty, start)
        return _optimise(objective, starts)

    prior_weight = 1.0 / (2 * FALLBACK_PRIOR_SD**2 * weights.sum())  # on the mean objective
    fallback_penalty = prior_weight if flags else 0.0
    if not flags:
        best, n_run = run(0.0)
        plain_at_bounds = _at_bounds(best.x, names)
        if plain_at_bounds:
            flags.append("unpenalized_at_bounds")
            messages.append(
                f"the unpenalised fit ran {', '.join(plain_at_bounds)} to the bounds "
                f"(|log| >= {LOG_BOUND - AT_BOUND_MARGIN:g})"
            )
        if not best.converged:
            flags.append("unpenalized_not_converged")
            messages.append(
                f"the unpenalised fit did not converge (max |gradient| {best.gradient_max_abs:.2g})"
            )
        if plain_at_bounds or not best.converged:
            fallback_penalty = prior_weight
    if fallback_penalty:
        best, n_run = run(fallback_penalty)
        flags.append("fallback_penalty")
        messages.append(
            f"refitted with the automatic penalty (a Normal prior, sd {FALLBACK_PRIOR_SD:g}, on "
            "each log-parameter around the data-scaled start), which pins down what the data "
            "does not"
        )
    if best.optimizer != "L-BFGS-B":
        flags.append("fallback_optimizer")
        messages.append(f"L-BFGS-B stopped short of a stationary point; {best.optimizer} took over")

    theta = np.exp(best.x)
    _set_params(model, dict(zip(names, theta, strict=True)), None)
    model.log_likelihood_ = float(weights @ loglik(theta, *data))
    model.converged_ = best.converged
    model.n_iter_ = best.nit
    at_bounds = _at_bounds(best.x, names)
    if at_bounds:
        flags.append("at_bounds")
        messages.append(
            f"{', '.join(at_bounds)} at the bounds of the fit: the data does not pin "
            f"{'it' if len(at_bounds) == 1 else 'them'} down"
        )
    failure = None
    if not best.converged:
        flags.append("not_converged")
        failure = (
            f"did not converge ({best.optimizer}, max |gradient| {best.gradient_max_abs:.2g}): "
            f"{best.message.rstrip('.')}; the best point found is kept"
        )
        messages.append(failure)
    extra = {}
    if describe is not None:
        extra, more_flags, more_messages = describe(theta)
        flags += more_flags
        messages += more_messages
    model.diagnostics_ = FitDiagnostics(
        model=type(model).__name__,
        converged=bool(best.converged),
        optimizer=best.optimizer,
        n_starts=n_run,
        best_start=best.start,
        n_iter=best.nit,
        gradient_max_abs=best.gradient_max_abs,
        log_likelihood=model.log_likelihood_,
        penalizer=float(penalizer),
        fallback_penalty=float(fallback_penalty),
        n_rows=n_rows,
        n_distinct_rows=n_distinct,
        at_bounds=tuple(at_bounds),
        flags=tuple(flags),
        messages=tuple(messages),
        **extra,
    )
    name = type(model).__name__
    if failure is not None:
        warnings.warn(f"{name} {failure}, see diagnostics_", ConvergenceWarning, stacklevel=3)
    others = [message for message in messages if message is not failure]
    if others:
        warnings.warn(f"{name}: {'; '.join(others)} (see diagnostics_)", stacklevel=3)


def _objective(loglik, weights, data, n_params, penalizer, fallback_penalty, centre):
    """Penalised mean negative log-likelihood and its gradient, over log-parameters."""
    total = weights.sum()

    def objective(log_theta):
        theta = np.exp(log_theta)
        with np.errstate(all="ignore"):
            ll, grad = loglik(theta, *data, grad=True)
        shift = log_theta - centre
        value = (
            -(weights @ ll) / total
            + penalizer * (theta**2).sum()
            + fallback_penalty * (shift**2).sum()
        )
        # chain rule to log-parameters: d/d(log t) = t * d/dt
        gradient = (-(weights @ grad) / total + 2 * penalizer * theta) * theta
        gradient = gradient + 2 * fallback_penalty * shift
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e100, np.zeros(n_params)  # outside the numerically valid region: step back
        return value, gradient

    return objective


def _starts(start, n_params, n_starts, random_state) -> list[np.ndarray]:
    """Zeros (the historical single start), the data-scaled start, then seeded jitter around it.

    Zeros first so that ``n_starts=1`` is the plain fit; the data-scaled start puts rate and scale
    parameters in the right order of magnitude whatever the time unit or currency.
    """
    starts = [np.zeros(n_params), start]
    if n_starts > 2:
        rng = np.random.default_rng(random_state)
        jitter = rng.normal(0.0, JITTER_SD, size=(n_starts - 2, n_params))
        starts += list(np.clip(start + jitter, -LOG_BOUND / 2, LOG_BOUND / 2))
    return starts[:n_starts]


def _optimise(objective, starts) -> tuple[_Run, int]:
    """L-BFGS-B from the starts, keep the best; Nelder-Mead from it when it did not converge.

    The jittered starts (index 2+) are skipped when the two deterministic ones converged to the
    same point: on well-posed data they do, and the fit then costs two runs rather than
    ``n_starts``. Returns the best run and the number of starts run.
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    runs = []
    for index, x0 in enumerate(starts):
        if index == 2 and _agree(*runs):
            break
        result = minimize(
            objective, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=_LBFGSB_OPTIONS
        )
        runs.append(_judge(objective, result, "L-BFGS-B", index))
    # lowest objective; on a tie the earlier start (min keeps the first), so results are stable
    best = min(runs, key=lambda r: r.fun)
    if best.converged:
        return best, len(runs)
    # L-BFGS-B stops short when its line search fails (a kink where the objective leaves the
    # numerically valid region, a nearly flat ridge); a derivative-free simplex does not care
    options = {**_NELDER_MEAD_OPTIONS, "maxfev": _NELDER_MEAD_FEV_PER_PARAM * len(best.x)}
    simplex = minimize(
        lambda z: objective(z)[0], best.x, method="Nelder-Mead", bounds=bounds, options=options
    )
    simplex = _judge(objective, simplex, "Nelder-Mead", best.start, gradient_only=True)
    simplex.nit += best.nit
    # then L-BFGS-B again from the simplex's point, with fresh curvature memory: cheap, and it
    # usually finishes the job to gradient precision
    polish = minimize(
        objective, simplex.x, jac=True, method="L-BFGS-B", bounds=bounds, options=_LBFGSB_OPTIONS
    )
    polish = _judge(objective, polish, "Nelder-Mead, then L-BFGS-B", best.start)
    polish.nit += simplex.nit
    # the lowest objective wins; on a tie a converged point before one that is not
    return min([best, simplex, polish], key=lambda r: (r.fun, not r.converged)), len(runs)


def _agree(first: _Run, second: _Run) -> bool:
    """Both converged, to the same point (log-parameters within ``AGREEMENT_TOLERANCE``)."""
    close = np.max(np.abs(first.x - second.x)) <= AGREEMENT_TOLERANCE
    return bool(first.converged and second.converged and close)


def _judge(objective, result, optimizer, start, gradient_only=False) -> _Run:
    """A result with its projected gradient and convergence verdict (:func:`converged`)."""
    x = np.clip(np.asarray(result.x, dtype=float), -LOG_BOUND, LOG_BOUND)
    if "jac" in result and np.array_equal(x, result.x):
        fun, gradient = result.fun, result.jac  # L-BFGS-B's own, at its end point
    else:
        fun, gradient = objective(x)
    gradient = _projected(gradient, x)
    # Nelder-Mead's ``success`` only says its simplex shrank: only the gradient counts for it
    success = bool(result.success) and not gradient_only
    verdict = converged(OptimizeResult(success=success, jac=gradient))
    finite = np.all(np.isfinite(gradient))
    return _Run(
        x=x,
        fun=float(fun),
        gradient_max_abs=float(np.max(np.abs(gradient))) if finite else float("inf"),
        converged=verdict,
        nit=int(result.get("nit", 0)),
        optimizer=optimizer,
        start=start,
        message=str(result.get("message", "")),
    )


def _projected(gradient, x) -> np.ndarray:
    """The gradient without components that press against an active bound (optimal there)."""
    gradient = np.array(gradient, dtype=float, copy=True)
    at_lower = (x <= -LOG_BOUND + 1e-9) & (gradient > 0)
    at_upper = (x >= LOG_BOUND - 1e-9) & (gradient < 0)
    gradient[at_lower | at_upper] = 0.0
    return gradient


def _at_bounds(log_theta, names) -> list[str]:
    near = np.abs(log_theta) >= LOG_BOUND - AT_BOUND_MARGIN
    return [name for name, hit in zip(names, near, strict=True) if hit]


def converged(result) -> bool:
    """Whether an optimiser result is a maximum, not only whether scipy says ``success``.

    L-BFGS-B reports ``ABNORMAL_TERMINATION_IN_LNSRCH`` when its line search cannot improve the
    objective any further at machine precision, which with ``ftol=1e-14`` happens at the optimum
    (a million-customer Gamma-Gamma fit stopped so with |gradient| ~ 1e-9). A vanishing gradient
    is what convergence means, so that counts; a real failure leaves a gradient far above it.

    Conversely ``success`` is not taken on trust: its relative-reduction test can be met on a
    slope (a Gamma-Gamma fit with spend in the tens of thousands stopped "successfully" from the
    all-zeros start with |gradient| ~ 1, 550 log-likelihood units short of the optimum). A
    reported success counts when |gradient| <= ``SUCCESS_GRADIENT_TOLERANCE``, looser than
    ``GRADIENT_TOLERANCE`` because on flat ridges (a, b -> infinity) L-BFGS-B legitimately stops
    on gradients up to ~1e-5.
    """
    gradient = np.asarray(result.jac, dtype=float)
    if not np.all(np.isfinite(gradient)):
        return False
    worst = np.max(np.abs(gradient))
    return bool(
        worst <= GRADIENT_TOLERANCE or (result.success and worst <= SUCCESS_GRADIENT_TOLERANCE)
    )


def _weighted_quantiles(values, weights, qs) -> np.ndarray:
    """Quantiles of ``values`` repeated ``weights`` times (the lower one at a step)."""
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(weights[order])
    positions = np.searchsorted(cumulative, np.asarray(qs) * cumulative[-1], side="left")
    return values[np.minimum(positions, len(values) - 1)]


def _set_params(model, params: dict, time_unit_days):
    for name, value in params.items():
        if not (np.isfinite(value) and value > 0):
            raise SmssegError(f"{name}={value!r} must be a finite number > 0")
        setattr(model, f"{name}_", float(value))
    model.params_ = {name: float(value) for name, value in params.items()}
    model.time_unit_days_ = time_unit_days
    return model


class _Column:
    """A column as distinct levels + codes: a function of it costs O(levels), not O(rows)."""

    __slots__ = ("codes", "levels", "values")

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)
        self.codes, self.levels = pd.factorize(self.values)

    def map(self, fn) -> np.ndarray:
        return np.asarray(fn(self.levels), dtype=float)[self.codes]


def _unique_rows(*columns) -> tuple[tuple[_Column, ...], np.ndarray]:
    """Distinct rows and their counts: fitting cost then scales with distinct histories."""
    frame = pd.DataFrame(dict(enumerate(columns)))
    counts = frame.groupby(list(frame.columns), sort=False).size()
    unique = counts.index.to_frame(index=False)
    return tuple(_Column(unique[i]) for i in range(len(columns))), counts.to_numpy(dtype=float)
