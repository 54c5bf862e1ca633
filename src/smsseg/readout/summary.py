"""Summary statistics of one experiment arm, the input of every test in :mod:`smsseg.readout`.

An arm is described by sufficient statistics (count, sum, sum of squares, and for CUPED the
covariate moments), as in GrowthBook's gbstats: readouts can then be computed from the
aggregates an SMS or analytics platform exports, arms and days can be added together, and the
A/A simulations run the very same code on arrays of simulated arms.

Fields may be numpy arrays of one shape (one element per simulated run); the properties then
return arrays too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_float(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _variance(n, total, total_sq):
    """Sample variance (ddof=1) from sums; ``nan`` below two units, clipped at 0.

    The sum-of-squares form loses precision when the mean is huge compared with the spread
    (cancellation); that is the price of additive aggregates and is harmless for revenue,
    counts and 0/1 metrics.
    """
    n = _as_float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (_as_float(total_sq) - _as_float(total) ** 2 / n) / (n - 1)
    var = np.where(n >= 2, np.maximum(var, 0.0), np.nan)
    return var[()] if var.ndim == 0 else var


@dataclass(frozen=True)
class SampleStats:
    """Count, sum and sum of squares of one metric in one arm.

    Parameters
    ----------
    n : number of units (recipients, customers) in the arm.
    sum : sum of the metric over the units.
    sum_sq : sum of the squared metric. For a 0/1 metric ``sum_sq == sum``.

    Example
    -------
    >>> arm = SampleStats.from_counts(n=1000, successes=53)
    >>> print(round(arm.mean, 3))
    0.053
    >>> (arm + arm).n
    2000
    """

    n: int | np.ndarray
    sum: float | np.ndarray
    sum_sq: float | np.ndarray

    def __post_init__(self) -> None:
        if np.any(_as_float(self.n) < 0) or np.any(_as_float(self.sum_sq) < 0):
            raise ValueError(f"n={self.n} and sum_sq={self.sum_sq} must be >= 0")

    @classmethod
    def from_values(cls, values) -> SampleStats:
        """Summarise raw per-unit values (NaNs are not allowed here; drop them first)."""
        x = _as_float(values)
        if np.isnan(x).any():
            raise ValueError("values contain NaN; drop missing values before summarising")
        return cls(n=int(x.size), sum=float(x.sum()), sum_sq=float(np.dot(x, x)))

    @classmethod
    def from_counts(cls, n, successes) -> SampleStats:
        """A 0/1 metric (clicked, converted, opted out) from its number of successes."""
        if np.any(_as_float(successes) > _as_float(n)) or np.any(_as_float(successes) < 0):
            raise ValueError(f"successes={successes} must lie in [0, n={n}]")
        return cls(n=n, sum=successes, sum_sq=successes)

    def __add__(self, other: SampleStats) -> SampleStats:
        return SampleStats(self.n + other.n, self.sum + other.sum, self.sum_sq + other.sum_sq)

    @property
    def mean(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(_as_float(self.n) > 0, _as_float(self.sum) / _as_float(self.n), np.nan)
        return out[()] if out.ndim == 0 else out

    @property
    def variance(self):
        """Sample variance (ddof=1); ``nan`` when n < 2."""
        return _variance(self.n, self.sum, self.sum_sq)

    @property
    def std(self):
        return np.sqrt(self.variance)

    @property
    def var_of_mean(self):
        """Squared standard error of the mean, ``variance / n``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.variance / _as_float(self.n)


@dataclass(frozen=True)
class CovariateStats:
    """Moments of a metric ``y`` and a pre-period covariate ``x`` in one arm (for CUPED).

    Parameters
    ----------
    n : number of units.
    sum_y, sum_y_sq : sum and sum of squares of the metric.
    sum_x, sum_x_sq : sum and sum of squares of the covariate.
    sum_xy : sum of the products ``x * y``.
    """

    n: int | np.ndarray
    sum_y: float | np.ndarray
    sum_y_sq: float | np.ndarray
    sum_x: float | np.ndarray
    sum_x_sq: float | np.ndarray
    sum_xy: float | np.ndarray

    @classmethod
    def from_values(cls, y, x) -> CovariateStats:
        y, x = _as_float(y), _as_float(x)
        if y.shape != x.shape:
            raise ValueError(f"y and x differ in shape: {y.shape} vs {x.shape}")
        if np.isnan(y).any() or np.isnan(x).any():
            raise ValueError("values contain NaN; drop missing values before summarising")
        return cls(
            int(y.size), float(y.sum()), float(y @ y), float(x.sum()), float(x @ x), float(x @ y)
        )

    def __add__(self, other: CovariateStats) -> CovariateStats:
        return CovariateStats(
            *(
                getattr(self, f) + getattr(other, f)
                for f in ("n", "sum_y", "sum_y_sq", "sum_x", "sum_x_sq", "sum_xy")
            )
        )

    @property
    def y(self) -> SampleStats:
        return SampleStats(self.n, self.sum_y, self.sum_y_sq)

    @property
    def x(self) -> SampleStats:
        return SampleStats(self.n, self.sum_x, self.sum_x_sq)

    @property
    def covariance(self):
        """Sample covariance of x and y (ddof=1); ``nan`` when n < 2."""
        n = _as_float(self.n)
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = (_as_float(self.sum_xy) - _as_float(self.sum_x) * _as_float(self.sum_y) / n) / (
                n - 1
            )
        cov = np.where(n >= 2, cov, np.nan)
        return cov[()] if cov.ndim == 0 else cov
