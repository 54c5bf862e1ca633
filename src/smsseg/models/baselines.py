"""Baselines the churn model must beat, scored on the same out-of-time rows.

* **BG/NBD**: the probability of no purchase over the horizon from the BG/NBD model the feature
  stage fits at ``as_of`` (column ``btyd_prob_no_purchase``); it ranks customers like
  ``-btyd_expected_purchases`` but is a probability, so Brier and ECE are meaningful for it.
* **Recency rule**: "the longer since the last order, the likelier the churn", with the churn rate
  per recency learned on the training snapshots by isotonic regression (scikit-learn), so that it
  too is a calibrated probability. Customers without an order get the training churn rate of
  such customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression

from smsseg.models._frame import ColumnMismatchError, ModelNotFittedError

BGNBD_COLUMN = "btyd_prob_no_purchase"
RECENCY_COLUMN = "recency_days"


def _column(X: pd.DataFrame, name: str, who: str) -> np.ndarray:
    if name not in X.columns:
        raise ColumnMismatchError(f"{who} needs the feature column {name!r}, which X lacks")
    return X[name].to_numpy(dtype=np.float64, na_value=np.nan)


def bgnbd_churn_probability(X: pd.DataFrame) -> np.ndarray:
    """BG/NBD P(no purchase in the horizon), the BG/NBD baseline's churn probability."""
    p = _column(X, BGNBD_COLUMN, "the BG/NBD baseline")
    # Customers BG/NBD cannot score (no order yet) count as certain non-buyers.
    return np.where(np.isnan(p), 1.0, np.clip(p, 0.0, 1.0))


class RecencyRule(BaseEstimator):
    """Churn probability as an increasing function of days since the last order.

    Parameters
    ----------
    column : the recency feature, in days.

    Attributes
    ----------
    isotonic_ : IsotonicRegression fitted on rows with a recency
    no_order_rate_ : churn rate of training rows without any order
    """

    def __init__(self, column: str = RECENCY_COLUMN):
        self.column = column

    def fit(self, X: pd.DataFrame, y) -> RecencyRule:
        r = _column(X, self.column, "RecencyRule")
        y = np.asarray(y, dtype=np.float64)
        seen = ~np.isnan(r)
        if not seen.any():
            raise ValueError(f"RecencyRule: column {self.column!r} is missing on every row")
        self.isotonic_ = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(
            r[seen], y[seen]
        )
        self.no_order_rate_ = float(y[~seen].mean()) if (~seen).any() else float(y.mean())
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "isotonic_"):
            raise ModelNotFittedError("This RecencyRule is not fitted yet; call fit(X, y) first.")
        r = _column(X, self.column, "RecencyRule")
        p = np.full(len(r), self.no_order_rate_)
        seen = ~np.isnan(r)
        p[seen] = self.isotonic_.predict(r[seen])
        return np.column_stack([1.0 - p, p])
