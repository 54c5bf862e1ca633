"""The scaffolding every smsseg LightGBM estimator shares (churn / discount classifier, next-order
regressor, uplift learners): parameters, feature bookkeeping, the matrix LightGBM reads, fitted
checks, and the LightGBM-native-text + JSON save format.

One base class, so that the scikit-learn contract is kept in one place: ``__init__`` only stores
its arguments; ``fit`` learns ``feature_names_in_``, ``n_features_in_`` and ``categories_`` through
:meth:`LGBMEstimator._learn_features`; every prediction starts with :meth:`LGBMEstimator.prepare`
(fitted check, then the columns against those of ``fit``). Missing values are LightGBM's to
route, so the estimators declare ``allow_nan``.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from smsseg.models._frame import (
    ModelNotFittedError,
    as_frame,
    categorical_indices,
    check_columns,
    learn_categories,
    to_matrix,
)
from smsseg.runtime import resolve_threads


class LGBMEstimator(BaseEstimator):
    """Base of smsseg's LightGBM estimators (not used on its own).

    Subclasses define ``__init__`` with at least ``learning_rate``, ``num_leaves``,
    ``min_child_samples``, ``random_state`` and ``n_jobs``, and set :attr:`fitted_attribute` to
    the attribute ``fit`` leaves (the booster, or the boosters of a meta-learner).
    """

    #: the attribute whose presence means "fitted"
    fitted_attribute = "booster_"
    #: what ``fit`` takes, for the not-fitted message
    fit_signature = "fit(X, y)"

    def _store_params(self, arguments: dict) -> None:
        """Store ``__init__``'s arguments unchanged, as scikit-learn requires (call it with
        ``locals()``): one line instead of one assignment per parameter in every subclass."""
        for name in self._get_param_names():
            setattr(self, name, arguments[name])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # LightGBM routes missing values itself
        return tags

    # ---------------------------------------------------------------------------- fitting
    def _lgb_params(self, objective: str, **extra) -> dict:
        """LightGBM parameters: the shared ones, then the subclass's ``extra``."""
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": resolve_threads(self.n_jobs),  # the one default: smsseg.runtime
            "verbosity": -1,
            **extra,
        }

    def _learn_features(self, X) -> pd.DataFrame:
        """``X`` as a frame; records its feature names and the levels of its categoricals."""
        X = as_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.categories_ = learn_categories(X)
        return X

    @property
    def _features(self) -> list[str]:
        return list(self.feature_names_in_)

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return to_matrix(X, self._features, self.categories_)

    def _dataset(self, M: np.ndarray, target, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        """A LightGBM dataset of matrix ``M`` with the features' names and categoricals."""
        if reference is not None:
            return lgb.Dataset(M, target, reference=reference)
        return lgb.Dataset(
            M,
            target,
            feature_name=self._features,
            categorical_feature=categorical_indices(self._features, self.categories_),
        )

    # ---------------------------------------------------------------------------- predicting
    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, self.fitted_attribute):
            raise ModelNotFittedError(
                f"This {type(self).__name__} is not fitted yet; call {self.fit_signature} "
                f"before {where}."
            )

    def prepare(self, X) -> np.ndarray:
        """Check ``X``'s columns against ``fit``'s and return the float matrix LightGBM reads."""
        self._check_fitted("prepare")
        X = as_frame(X)
        check_columns(X, self._features, type(self).__name__)
        return self._matrix(X)

    # ---------------------------------------------------------------------------- save / load
    def _base_metadata(self) -> dict:
        """What every saved estimator records: its class, parameters, features and levels."""
        return {
            "estimator": type(self).__name__,
            "params": self.get_params(),
            "features": self._features,
            "categories": self.categories_,
        }

    @classmethod
    def _from_metadata(cls, meta: dict):
        """An unfitted estimator with the saved parameters and the features of ``fit``."""
        model = cls(**meta["params"])
        model.feature_names_in_ = np.asarray(meta["features"], dtype=object)
        model.n_features_in_ = len(meta["features"])
        model.categories_ = {k: list(v) for k, v in meta["categories"].items()}
        model.metadata_ = meta
        return model
