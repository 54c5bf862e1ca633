"""Maximum-likelihood fitting shared by the BTYD models: distinct rows, weighted, log-parameters."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from smsseg.errors import SmssegError


def _fit_params(model, loglik, weights, data, n_params) -> None:
    """Maximise the weighted log-likelihood over log-parameters; set the learned attributes."""
    penalizer = model.penalizer
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise SmssegError(f"penalizer={penalizer!r} must be >= 0")
    total = weights.sum()

    def objective(log_theta):
        theta = np.exp(log_theta)
        with np.errstate(all="ignore"):
            ll, grad = loglik(theta, *data, grad=True)
        value = -(weights @ ll) / total + penalizer * (theta**2).sum()
        # chain rule to log-parameters: d/d(log t) = t * d/dt
        gradient = (-(weights @ grad) / total + 2 * penalizer * theta) * theta
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e100, np.zeros(n_params)  # outside the numerically valid region: step back
        return value, gradient

    # log-parameters in [-20, 20] keep every parameter in (2e-9, 5e8): wide, but finite
    options = {"ftol": 1e-14, "gtol": 1e-9, "maxiter": 1000}
    bounds = [(-20.0, 20.0)] * n_params
    result = minimize(
        objective, np.zeros(n_params), jac=True, method="L-BFGS-B", bounds=bounds, options=options
    )
    theta = np.exp(result.x)
    _set_params(model, dict(zip(model._param_names, theta, strict=True)), None)
    model.log_likelihood_ = float(weights @ loglik(theta, *data))
    model.converged_ = converged(result)
    model.n_iter_ = int(result.nit)
    if not model.converged_:
        warnings.warn(
            f"{type(model).__name__} did not converge: {result.message}",
            ConvergenceWarning,
            stacklevel=3,
        )


#: Largest |gradient| of the mean negative log-likelihood (per log-parameter) that counts as a
#: stationary point when L-BFGS-B stops without declaring success.
GRADIENT_TOLERANCE = 1e-6


def converged(result) -> bool:
    """Whether an L-BFGS-B result is a maximum, not only whether scipy says ``success``.

    L-BFGS-B reports ``ABNORMAL_TERMINATION_IN_LNSRCH`` when its line search cannot improve the
    objective any further at machine precision, which with ``ftol=1e-14`` happens at the optimum
    (a million-customer Gamma-Gamma fit stopped so with |gradient| ~ 1e-9). A vanishing gradient
    is what convergence means, so that counts; a real failure leaves a gradient far above it.
    """
    if result.success:
        return True
    gradient = np.asarray(result.jac, dtype=float)
    return bool(np.all(np.isfinite(gradient)) and np.max(np.abs(gradient)) <= GRADIENT_TOLERANCE)


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
