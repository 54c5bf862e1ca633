"""Expected next order date: a LightGBM regressor of the days until the next completed order.

Trained on the snapshot rows whose customer did order within the horizon, it predicts the
*conditional* mean wait "if they order within the horizon". The scores file turns it into a date
only for customers more likely than not to order (churn probability < 0.5); for the others the
next order is not expected within the horizon and the date is left empty. Chosen over a BTYD
formula because the feature table carries BG/NBD predictions but not the model's parameters,
and a regressor on the same snapshots uses every signal the churn model uses.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from smsseg.data.load import Dataset
from smsseg.features.orders import completed_as_of
from smsseg.models._frame import (
    ModelNotFittedError,
    as_frame,
    categorical_indices,
    check_columns,
    learn_categories,
    to_matrix,
)
from smsseg.models.native import read_native, write_native

# As the churn label: an order counts when it was completed at the end of its window (one
# returned after the window was a purchase then), so the label reads nothing after the window.
_WINDOW_END = "cut.cutoff + to_days(CAST(? AS INTEGER))"
_DAYS_SQL = f"""
    WITH cut AS (SELECT UNNEST(?::TIMESTAMP[]) AS cutoff)
    SELECT o.customer_id, cut.cutoff AS snapshot,
           MIN(epoch(o.ordered_at) - epoch(cut.cutoff)) / 86400.0 AS days_to_next_order
    FROM orders AS o JOIN cut
      ON o.ordered_at > cut.cutoff AND o.ordered_at <= {_WINDOW_END}
    WHERE {completed_as_of("o", _WINDOW_END)}
    GROUP BY o.customer_id, cut.cutoff
"""


def days_to_next_order(data: Dataset, cutoffs, horizon_days: int) -> pd.DataFrame:
    """Days from each cut-off to the customer's first completed order in ``(c, c + horizon]``.

    Returns one row per (customer_id, snapshot) that ordered in the window.
    """
    stamps = [pd.Timestamp(c).to_pydatetime() for c in cutoffs]
    h = int(horizon_days)
    return data.con.execute(_DAYS_SQL, [stamps, h, h]).df()


class NextOrderRegressor(RegressorMixin, BaseEstimator):
    """LightGBM regression of days to the next order, early-stopped on ``eval_set``.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM parameters.
    early_stopping_rounds : rounds without improvement on ``eval_set`` before stopping.
    random_state : seed.
    n_jobs : LightGBM threads (``None``: LightGBM's default).
    """

    def __init__(
        self,
        *,
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        early_stopping_rounds: int = 30,
        random_state: int = 42,
        n_jobs: int | None = None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, days, eval_set: tuple | None = None) -> NextOrderRegressor:
        X = as_frame(X)
        days = np.asarray(days, dtype=np.float64)
        if len(days) != len(X) or len(X) == 0:
            raise ValueError(
                f"fit: X has {len(X)} rows and days {len(days)}; need equal, non-zero counts"
            )
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.categories_ = learn_categories(X)
        names = list(self.feature_names_in_)
        params = {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.n_jobs or 0,
            "verbosity": -1,
        }
        train = lgb.Dataset(
            to_matrix(X, names, self.categories_),
            days,
            feature_name=names,
            categorical_feature=categorical_indices(names, self.categories_),
        )
        valid_sets, callbacks = [], []
        if eval_set is not None and len(eval_set[1]):
            X_val = as_frame(eval_set[0])
            check_columns(X_val, names, "fit eval_set")
            valid_sets = [
                lgb.Dataset(
                    to_matrix(X_val, names, self.categories_),
                    np.asarray(eval_set[1], float),
                    reference=train,
                )
            ]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(
            params,
            train,
            num_boost_round=int(self.n_estimators),
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.best_iteration_ = int(
            self.booster_.best_iteration or self.booster_.current_iteration()
        )
        return self

    def prepare(self, X) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise ModelNotFittedError(
                "This NextOrderRegressor is not fitted yet; call fit(X, days) first."
            )
        X = as_frame(X)
        check_columns(X, list(self.feature_names_in_), "NextOrderRegressor")
        return to_matrix(X, list(self.feature_names_in_), self.categories_)

    def days_from_matrix(self, M: np.ndarray) -> np.ndarray:
        """Predicted days for a matrix made by :meth:`prepare` (at least 0)."""
        return np.maximum(self.booster_.predict(M, num_iteration=self.best_iteration_), 0.0)

    def predict(self, X) -> np.ndarray:
        return self.days_from_matrix(self.prepare(X))

    def save(self, directory: str | Path, name: str, extra: dict | None = None) -> Path:
        meta = {
            "estimator": type(self).__name__,
            "params": self.get_params(),
            "features": list(self.feature_names_in_),
            "categories": self.categories_,
            "best_iteration": self.best_iteration_,
            **(extra or {}),
        }
        return write_native(self.booster_, meta, directory, name, self.best_iteration_)[1]

    @classmethod
    def load(cls, directory: str | Path, name: str) -> NextOrderRegressor:
        booster, meta = read_native(directory, name)
        model = cls(**meta["params"])
        model.booster_ = booster
        model.feature_names_in_ = np.asarray(meta["features"], dtype=object)
        model.n_features_in_ = len(meta["features"])
        model.categories_ = {k: list(v) for k, v in meta["categories"].items()}
        model.best_iteration_ = int(meta["best_iteration"])
        model.metadata_ = meta
        return model
