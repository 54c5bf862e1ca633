"""Seasonal correction of the churn calibration: last year's change from one window to the next.

The deployed calibrator is fitted on the latest labelled snapshot, ``A - H``, whose label window
``(A - H, A]`` is the horizon *before* the one the scores are judged on, ``(A, A + H]``. When the
coming window holds a seasonal peak (a Christmas quarter) or a trough, buyers churn less (or more)
in it than in the window the calibrator saw, and every probability is off by the same seasonal
factor. The data a year earlier measured that factor: among the buyers at ``A - 365 - H`` and at
``A - 365``, the churn rates over the next ``H`` days. The **seasonal shift** is the difference of
their log-odds,

    delta = logit(rate(A - 365)) - logit(rate(A - 365 - H)),

added to the buyers' churn log-odds. Buyers, not all customers: a store's growth adds new
customers to every window, and rates among those already buying are what the calibrator
describes. It uses only label windows that end a year before ``A`` (point in time).

Whether the shift is applied is decided like every other choice: on the out-of-time test. The
validation calibrator was fitted on ``A - 2H`` and is judged on ``A - H``; the same shift made a
year before *those* windows either lowers the test's Brier score on buyers or the shift is not
used. Without the history for both (``2H + 365`` days before ``A`` and a strict test), no shift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from smsseg.data.load import Dataset
from smsseg.features._query import timestamp_literal
from smsseg.features.orders import completed_as_of

YEAR = pd.Timedelta(days=365)


def buyers_churn_rate(data: Dataset, cutoff: pd.Timestamp, horizon_days: int) -> float | None:
    """Share of the buyers at ``cutoff`` with no completed order in ``(cutoff, cutoff + H]``.

    Buyers: a completed order on or before ``cutoff`` (a later return not yet known). ``None``
    without buyers.
    """
    at = timestamp_literal(cutoff)
    end = timestamp_literal(cutoff + pd.Timedelta(days=horizon_days))
    sql = f"""
        WITH buyers AS (SELECT DISTINCT customer_id FROM orders
                        WHERE ordered_at <= {at} AND {completed_as_of(at=at)}),
             next AS (SELECT DISTINCT customer_id FROM orders
                      WHERE ordered_at > {at} AND ordered_at <= {end} AND {completed_as_of(at=end)})
        SELECT COUNT(*), COUNT(next.customer_id) FROM buyers LEFT JOIN next USING (customer_id)
    """
    n, bought = data.con.execute(sql).fetchall()[0]
    return None if not n else 1.0 - bought / n


def _logit(rate: float) -> float:
    rate = min(max(rate, 1e-4), 1 - 1e-4)
    return float(np.log(rate / (1 - rate)))


def seasonal_shift(
    data: Dataset, calibrated_on: pd.Timestamp, horizon_days: int, first_order: pd.Timestamp | None
) -> float | None:
    """Last year's log-odds change from the window after ``calibrated_on`` to the next one.

    ``calibrated_on``: the snapshot the calibrator was fitted on (its window is followed by the
    one being scored). ``None`` when the data does not reach back to ``calibrated_on - 365`` with
    buyers, or a window a year earlier has no buyers.
    """
    before = calibrated_on - YEAR
    if first_order is None or first_order >= before:
        return None
    old = buyers_churn_rate(data, before, horizon_days)
    new = buyers_churn_rate(data, before + pd.Timedelta(days=horizon_days), horizon_days)
    if old is None or new is None:
        return None
    return _logit(new) - _logit(old)


def shifted(p: np.ndarray, shift: float, buyers: np.ndarray) -> np.ndarray:
    """``p`` with ``shift`` added to the buyers' log-odds."""
    p = np.asarray(p, dtype=np.float64)
    if not shift:
        return p
    z = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    return np.where(np.asarray(buyers, dtype=bool), expit(z + shift), p)


def choose_seasonal_shift(
    data: Dataset,
    as_of: pd.Timestamp,
    horizon_days: int,
    test: pd.DataFrame,
    test_p: np.ndarray,
    validation_kind: str,
    first_order: pd.Timestamp | None,
) -> tuple[float, str]:
    """The shift to deploy (0.0: none) and why (module docstring).

    ``test``: the test rows (``churn``, ``population``); ``test_p``: the deployed calibration's
    probabilities on them.
    """
    horizon = pd.Timedelta(days=horizon_days)
    if validation_kind != "out_of_time" or not len(test):
        return 0.0, "no strict out-of-time test to judge a seasonal shift on"
    at_test = seasonal_shift(data, as_of - 2 * horizon, horizon_days, first_order)
    deployed = seasonal_shift(data, as_of - horizon, horizon_days, first_order)
    if at_test is None or deployed is None:
        return 0.0, f"history shorter than 365 days + 2 horizons before {as_of.date()}"
    buyers = (test["population"] == "buyers").to_numpy()
    y = test["churn"].to_numpy(dtype=np.float64)[buyers]
    p = np.asarray(test_p, dtype=np.float64)[buyers]
    plain = float(np.mean((p - y) ** 2))
    with_shift = float(np.mean((shifted(p, at_test, np.ones(len(p), bool)) - y) ** 2))
    if with_shift < plain:
        return deployed, (
            f"seasonal shift {deployed:+.3f} log-odds (last year's change into the coming "
            f"window); on the test it lowered the Brier score from {plain:.4f} to {with_shift:.4f}"
        )
    return 0.0, (
        f"no seasonal shift: last year's change ({at_test:+.3f} at the test) did not lower the "
        f"test's Brier score ({with_shift:.4f} against {plain:.4f})"
    )
