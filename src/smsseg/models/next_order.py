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
from sklearn.base import RegressorMixin

from smsseg import config
from smsseg.data.load import Dataset
from smsseg.features.orders import completed_as_of
from smsseg.models._frame import as_frame, check_columns, check_target
from smsseg.models.lgbm import LGBMEstimator
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


class NextOrderRegressor(RegressorMixin, LGBMEstimator):
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
        random_state: int = config.DEFAULT_SEED,
        n_jobs: int | None = None,
    ):
        self._store_params(locals())

    def fit(self, X, y, eval_set: tuple | None = None) -> NextOrderRegressor:
        """Fit on ``X`` and ``y``, the days to the next order; early-stop on ``eval_set``."""
        X = as_frame(X)
        days = check_target(y, type(self).__name__).astype(np.float64)
        if len(days) != len(X) or len(X) == 0:
            raise ValueError(
                f"fit: X has {len(X)} rows and y {len(days)}; need equal, non-zero counts"
            )
        self._learn_features(X)
        train = self._dataset(self._matrix(X), days)
        valid_sets, callbacks = [], []
        if eval_set is not None and len(eval_set[1]):
            X_val = as_frame(eval_set[0])
            check_columns(X_val, self._features, f"{type(self).__name__} (eval_set)")
            valid = np.asarray(eval_set[1], float)
            valid_sets = [self._dataset(self._matrix(X_val), valid, reference=train)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(
            self._lgb_params("regression"),
            train,
            num_boost_round=int(self.n_estimators),
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.best_iteration_ = int(
            self.booster_.best_iteration or self.booster_.current_iteration()
        )
        return self

    def days_from_matrix(self, M: np.ndarray) -> np.ndarray:
        """Predicted days for a matrix made by :meth:`prepare` (at least 0)."""
        return np.maximum(self.booster_.predict(M, num_iteration=self.best_iteration_), 0.0)

    def predict(self, X) -> np.ndarray:
        return self.days_from_matrix(self.prepare(X))

    def save(self, directory: str | Path, name: str, extra: dict | None = None) -> Path:
        self._check_fitted("save")
        meta = {
            **self._base_metadata(),
            "best_iteration": self.best_iteration_,
            **(extra or {}),
        }
        return write_native(self.booster_, meta, directory, name, self.best_iteration_)[1]

    @classmethod
    def load(cls, directory: str | Path, name: str) -> NextOrderRegressor:
        booster, meta = read_native(directory, name)
        model = cls._from_metadata(meta)
        model.booster_ = booster
        model.best_iteration_ = int(meta["best_iteration"])
        return model
