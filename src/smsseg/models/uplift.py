"""Causal uplift from a randomized test: T-learner and X-learner on LightGBM, cross-fitted.

Why written here rather than imported: the uplift libraries we looked at either are no longer
maintained (scikit-uplift: last release 2022) or pull a large stack and save models by pickle
(causalml); the two meta-learners are a few dozen lines on top of LightGBM, and this way they
save as LightGBM native text + JSON like every other smsseg model.

* **T-learner**: ``mu1`` fitted on treated rows, ``mu0`` on control rows;
  ``uplift(x) = mu1(x) - mu0(x)``.
* **X-learner** (Künzel et al., 2019): the outcome models are cross-fitted (each row's ``mu``
  comes from models that never saw it), giving imputed effects ``D1 = y - mu0(x)`` on treated
  and ``D0 = mu1(x) - y`` on control rows; regressors ``tau1``, ``tau0`` learn them and
  ``uplift(x) = e * tau0(x) + (1 - e) * tau1(x)`` with ``e`` the share treated (a randomized
  test has a constant propensity).

Both learners also return ``oof_uplift_`` (and ``oof_fold_``, each row's fold): each training
row's uplift from models that never saw that row's fold — for the X-learner this needs **nested**
cross-fitting: for each outer fold ``k`` the outcome models are cross-fitted again on the other
folds only (inner folds drawn from those rows alone), their imputed effects train ``tau0`` /
``tau1``, and these predict fold ``k``. No label of fold ``k`` reaches its out-of-fold uplift,
so it is an honest in-sample evaluation. :meth:`predict` uses models refitted on all rows (their
``tau`` learn the imputed effects of the plain, non-nested cross-fitting over all rows).

Example: the treatment lifts the outcome only where ``x1 > 0``, and both learners find it.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 2))
>>> treatment = np.arange(400) % 2
>>> y = (X[:, 0] + treatment * (X[:, 1] > 0) + rng.normal(size=400) > 0.5).astype(int)
>>> for learner in (TLearner, XLearner):
...     model = learner(n_estimators=30, min_child_samples=20, n_jobs=1).fit(X, treatment, y)
...     print(model.predict(X[X[:, 1] > 0]).mean() > model.predict(X[X[:, 1] <= 0]).mean())
True
True
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from smsseg import config
from smsseg._io import write_text
from smsseg.models._frame import as_frame
from smsseg.models.lgbm import LGBMEstimator


def _treatment(t, n: int) -> np.ndarray:
    t = np.asarray(t)
    if len(t) != n:
        raise ValueError(f"treatment has {len(t)} rows but X has {n}")
    if not set(np.unique(t).tolist()) <= {0, 1}:
        raise ValueError(
            f"treatment must be 0/1 (1 = treated), got values {np.unique(t)[:5].tolist()}"
        )
    t = t.astype(np.int64)
    if np.bincount(t, minlength=2).min() < 10:
        raise ValueError(
            f"need >= 10 treated and >= 10 control rows, got {np.bincount(t, minlength=2).tolist()}"
        )
    return t


class UpliftLearner(LGBMEstimator):
    """The meta-learners' shared plumbing: treatment checks, outcome kind, folds, save/load.

    ``fit(X, treatment, y)`` takes the arm of each row (1 = treated) besides its outcome: the
    randomized test is the estimator's input, as in causal-inference libraries.
    """

    kind = ""
    final_parts: tuple[str, ...] = ()
    fitted_attribute = "boosters_"
    fit_signature = "fit(X, treatment, y)"

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        n_folds: int = 5,
        random_state: int = config.DEFAULT_SEED,
        n_jobs: int | None = None,
    ):
        self._store_params(locals())

    def _booster(self, M: np.ndarray, target: np.ndarray, objective: str) -> lgb.Booster:
        params = self._lgb_params(objective, lambda_l2=1.0)
        return lgb.train(params, self._dataset(M, target), num_boost_round=int(self.n_estimators))

    @staticmethod
    def _outcome(y) -> tuple[np.ndarray, str]:
        y = np.asarray(y, dtype=np.float64)
        binary = set(np.unique(y).tolist()) <= {0.0, 1.0}
        return y, "binary" if binary else "regression"

    def _prepare_fit(self, X, treatment, y) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        if int(self.n_folds) < 2:
            raise ValueError(f"n_folds={self.n_folds} must be >= 2")
        X = as_frame(X)
        t = _treatment(treatment, len(X))
        y, self.objective_ = self._outcome(y)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} rows but X has {len(X)}")
        self._learn_features(X)
        self.propensity_ = float(t.mean())
        M = self._matrix(X)
        folds = self._folds(t, y)
        self.oof_fold_ = np.empty(len(y), dtype=np.int64)
        for k, (_, held_idx) in enumerate(folds):
            self.oof_fold_[held_idx] = k
        return M, t, y, folds

    def _folds(self, t: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified folds (arm × outcome above its median) of these rows, positions into them."""
        strata = t * 2 + (y > np.median(y)).astype(np.int64)
        folds = StratifiedKFold(int(self.n_folds), shuffle=True, random_state=self.random_state)
        return list(folds.split(np.zeros(len(y)), strata))

    def _predict_mu(self, booster: lgb.Booster, M: np.ndarray) -> np.ndarray:
        return booster.predict(M)  # probability for binary outcomes, value for regression

    def predict(self, X) -> np.ndarray:
        """Predicted uplift (treated minus control outcome) per row."""
        return self.uplift_from_matrix(self.prepare(X))

    def uplift_from_matrix(self, M: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def save(self, directory: str | Path, name: str, extra: dict | None = None) -> Path:
        """Write one ``<name>_<part>.txt`` per final booster and ``<name>.json``."""
        self._check_fitted("save")
        directory = Path(directory)
        for part, booster in self.boosters_.items():
            write_text(booster.model_to_string(), directory / f"{name}_{part}.txt")
        meta = {
            "learner": self.kind,
            **self._base_metadata(),
            "propensity": self.propensity_,
            "objective": self.objective_,
            **(extra or {}),
        }
        return write_text(json.dumps(meta, indent=2, default=str), directory / f"{name}.json")

    @staticmethod
    def load(directory: str | Path, name: str) -> UpliftLearner:
        """Rebuild a fitted T- or X-learner from :meth:`save`'s files."""
        directory = Path(directory)
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        cls = {"t": TLearner, "x": XLearner}[meta["learner"]]
        model = cls._from_metadata(meta)
        model.propensity_ = float(meta["propensity"])
        model.objective_ = meta["objective"]
        model.boosters_ = {
            part: lgb.Booster(
                model_str=(directory / f"{name}_{part}.txt").read_text(encoding="utf-8")
            )
            for part in cls.final_parts
        }
        return model


class TLearner(UpliftLearner):
    """Two outcome models, one per arm; uplift is their difference (see module docstring).

    Example: see the module docstring.
    """

    kind = "t"
    final_parts = ("mu0", "mu1")

    def fit(self, X, treatment, y) -> TLearner:
        M, t, y, folds = self._prepare_fit(X, treatment, y)
        self.oof_uplift_ = np.empty(len(y))
        for fit_idx, held_idx in folds:
            mu0, mu1 = self._fit_arms(M[fit_idx], t[fit_idx], y[fit_idx])
            self.oof_uplift_[held_idx] = self._predict_mu(mu1, M[held_idx]) - self._predict_mu(
                mu0, M[held_idx]
            )
        mu0, mu1 = self._fit_arms(M, t, y)
        self.boosters_ = {"mu0": mu0, "mu1": mu1}
        return self

    def _fit_arms(self, M, t, y) -> tuple[lgb.Booster, lgb.Booster]:
        return (
            self._booster(M[t == 0], y[t == 0], self.objective_),
            self._booster(M[t == 1], y[t == 1], self.objective_),
        )

    def uplift_from_matrix(self, M: np.ndarray) -> np.ndarray:
        return self._predict_mu(self.boosters_["mu1"], M) - self._predict_mu(
            self.boosters_["mu0"], M
        )


class XLearner(UpliftLearner):
    """Künzel's X-learner with cross-fitted outcome models (see module docstring).

    Example: see the module docstring.
    """

    kind = "x"
    final_parts = ("tau0", "tau1")

    def fit(self, X, treatment, y) -> XLearner:
        M, t, y, folds = self._prepare_fit(X, treatment, y)
        # Out of fold, nested: fold k's uplift comes from tau models trained on the other folds'
        # imputed effects, whose outcome models were cross-fitted on those folds alone.
        self.oof_uplift_ = np.empty(len(y))
        for fit_idx, held_idx in folds:
            Mf, tf, yf = M[fit_idx], t[fit_idx], y[fit_idx]
            imputed = self._imputed(Mf, tf, yf, self._folds(tf, yf))
            tau0, tau1 = self._fit_taus(Mf, tf, imputed)
            self.oof_uplift_[held_idx] = self._combine(tau0, tau1, M[held_idx], float(tf.mean()))
        # Final models: imputed effects cross-fitted over all rows, tau fitted on all rows.
        tau0, tau1 = self._fit_taus(M, t, self._imputed(M, t, y, folds))
        self.boosters_ = {"tau0": tau0, "tau1": tau1}
        return self

    def _imputed(self, M, t, y, folds) -> np.ndarray:
        """Imputed individual effects of these rows: each observed outcome against the other arm's
        outcome model, cross-fitted over ``folds`` (positions into these rows)."""
        mu0_hat, mu1_hat = np.empty(len(y)), np.empty(len(y))
        for fit_idx, held_idx in folds:
            tf, yf = t[fit_idx], y[fit_idx]
            mu0_hat[held_idx] = self._predict_mu(
                self._booster(M[fit_idx][tf == 0], yf[tf == 0], self.objective_), M[held_idx]
            )
            mu1_hat[held_idx] = self._predict_mu(
                self._booster(M[fit_idx][tf == 1], yf[tf == 1], self.objective_), M[held_idx]
            )
        return np.where(t == 1, y - mu0_hat, mu1_hat - y)

    def _fit_taus(self, M, t, imputed) -> tuple[lgb.Booster, lgb.Booster]:
        return (
            self._booster(M[t == 0], imputed[t == 0], "regression"),
            self._booster(M[t == 1], imputed[t == 1], "regression"),
        )

    def _combine(
        self, tau0: lgb.Booster, tau1: lgb.Booster, M: np.ndarray, e: float | None = None
    ) -> np.ndarray:
        e = self.propensity_ if e is None else e
        return e * tau0.predict(M) + (1.0 - e) * tau1.predict(M)

    def uplift_from_matrix(self, M: np.ndarray) -> np.ndarray:
        return self._combine(self.boosters_["tau0"], self.boosters_["tau1"], M)


def make_learner(kind: str, **params) -> UpliftLearner:
    """``"t"`` → :class:`TLearner`, ``"x"`` → :class:`XLearner`."""
    learners = {"t": TLearner, "x": XLearner}
    if kind not in learners:
        raise ValueError(f"learner={kind!r} must be one of {sorted(learners)}")
    return learners[kind](**params)


def uplift_frame(model: UpliftLearner, X: pd.DataFrame) -> pd.Series:
    """Predicted uplift as a Series indexed like ``X``."""
    return pd.Series(model.predict(X), index=X.index, name="uplift")
