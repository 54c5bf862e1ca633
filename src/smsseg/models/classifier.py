"""A LightGBM binary classifier with the scikit-learn contract, out-of-time early stopping and
calibration kept only when it helps. Used for churn and for discount sensitivity.

How the validation rows are used (decided once, here): the caller's ``eval_set`` (for churn, the
latest snapshot, i.e. out of time) is split by a seeded, stratified shuffle into two halves.
The *stopping* half picks the number of boosting rounds; the *calibration* half, never seen by
the booster, fits the calibrator and decides, by cross-fitted Brier score, whether calibration is
kept at all (see :mod:`smsseg.models.calibration`). Class imbalance is handled with LightGBM's
``scale_pos_weight``; its shift of the log-odds is undone exactly (``margin - log(weight)``)
before calibration, so even uncalibrated probabilities keep the base rate.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from smsseg import config
from smsseg.models._frame import as_frame, check_columns, check_target
from smsseg.models.calibration import Calibrator, _logit, select_calibrator
from smsseg.models.lgbm import LGBMEstimator
from smsseg.models.native import read_native, write_native

IMBALANCE = ("auto", "balanced", "none")
CALIBRATION = ("auto", "none", "sigmoid", "isotonic")
#: ``imbalance="auto"`` reweights only when the minority class is rarer than this: on milder
#: imbalance reweighting did not improve ranking in our checks and costs calibration.
AUTO_IMBALANCE_SHARE = 0.05
FORMAT_VERSION = 1


def _encode(y, where: str, classes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as 0/1 (1 = the larger of its two labels, e.g. churned) and its two labels.

    With ``classes`` (those of ``fit``), labels outside them are refused.
    """
    y = check_target(y, "CalibratedLGBMClassifier")
    check_classification_targets(y)  # "Unknown label type: continuous ..." for a float target
    found = np.unique(y)
    if classes is None:
        if len(found) > 2:
            raise ValueError(
                f"Only binary classification is supported. The type of the target is "
                f"{type_of_target(y, input_name='y')}: {where}: y has {len(found)} labels "
                f"{found[:5].tolist()}; give two labels (e.g. 0/1)"
            )
        classes = found
    elif not np.isin(found, classes).all():
        raise ValueError(
            f"{where}: y has labels {found[~np.isin(found, classes)][:5].tolist()} that fit's y "
            f"did not have ({classes.tolist()})"
        )
    return (y == classes[-1]).astype(np.int64), classes


def compact_iteration(auc: list[float], best: int, tolerance: float) -> int:
    """The fewest rounds (at most ``best``) whose AUC is within ``tolerance`` of the best of them.

    ``auc[i]`` is the stopping half's ROC-AUC after ``i + 1`` rounds; without it (one class on
    the stopping half) ``best`` is kept.

    >>> compact_iteration([0.80, 0.85, 0.861, 0.862, 0.8625], best=5, tolerance=0.002)
    3
    """
    curve = np.asarray(auc[:best], dtype=np.float64)
    if tolerance <= 0 or len(curve) == 0:
        return best
    return int(np.flatnonzero(curve >= curve.max() - tolerance)[0]) + 1


class CalibratedLGBMClassifier(ClassifierMixin, LGBMEstimator):
    """Gradient-boosted trees (LightGBM) for a binary label, early-stopped and calibrated.

    Parameters
    ----------
    n_estimators : maximum boosting rounds (early stopping usually ends sooner).
    learning_rate, num_leaves, max_depth, min_child_samples, subsample, colsample_bytree,
    reg_lambda : LightGBM's tree parameters (``max_depth=-1``: no limit).
    early_stopping_rounds : stop after this many rounds without improvement on the stopping half.
    compact_tolerance : size-aware early stopping: keep the *fewest* boosting rounds whose ROC-AUC
        on the stopping half is within this much of the best round's (0: the best round). Every
        round dropped makes predictions and TreeSHAP reasons cheaper; on the flat end of the
        curve it costs no ranking quality (docs/models.md "Compact models").
    imbalance : ``"balanced"`` sets ``scale_pos_weight = negatives / positives``; ``"auto"`` does so
        only when the minority class is under 5 % of rows; ``"none"`` never.
    calibration : ``"auto"`` keeps the best of none / sigmoid / isotonic by cross-fitted Brier score
        on the calibration half; a method name forces it.
    validation_fraction : share of the training rows held out when ``fit`` gets no ``eval_set``.
    random_state : seed of every random step (splits, bagging, calibration folds).
    n_jobs : LightGBM threads (``None``: LightGBM's default).

    Attributes
    ----------
    booster_ : lightgbm.Booster
    feature_names_in_ : ndarray of str
    categories_ : dict, levels of each categorical feature learned in ``fit``
    calibrator_ : Calibrator
    scale_pos_weight_ : float
    best_iteration_ : int
    validation_ : dict, Brier scores behind the calibration choice and split sizes

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(2000, random_state=0)
    >>> clf = CalibratedLGBMClassifier(n_estimators=50, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    def __init__(
        self,
        *,
        n_estimators: int = 1500,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 50,
        compact_tolerance: float = 0.0,
        imbalance: str = "auto",
        calibration: str = "auto",
        validation_fraction: float = 0.2,
        random_state: int = config.DEFAULT_SEED,
        n_jobs: int | None = None,
    ):
        self._store_params(locals())

    # ----------------------------------------------------------------------------------- fit
    def _check_params(self) -> None:
        if self.imbalance not in IMBALANCE:
            raise ValueError(f"imbalance={self.imbalance!r} must be one of {IMBALANCE}")
        if self.calibration not in CALIBRATION:
            raise ValueError(f"calibration={self.calibration!r} must be one of {CALIBRATION}")
        if int(self.n_estimators) < 1:
            raise ValueError(f"n_estimators={self.n_estimators} must be >= 1")
        if not 0 < float(self.validation_fraction) < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction} must be in (0, 1)")
        if not 0 <= float(self.compact_tolerance) < 1:
            raise ValueError(f"compact_tolerance={self.compact_tolerance} must be in [0, 1)")

    def _binary_params(self, scale_pos_weight: float) -> dict:
        return self._lgb_params(
            "binary",
            bagging_fraction=self.subsample,
            bagging_freq=1 if self.subsample < 1 else 0,
            feature_fraction=self.colsample_bytree,
            lambda_l2=self.reg_lambda,
            max_depth=self.max_depth,
            scale_pos_weight=scale_pos_weight,
            # AUC is unaffected by the reweighting; log-loss would judge distorted probabilities.
            metric="auc" if scale_pos_weight != 1.0 else "binary_logloss",
        )

    def _scale_pos_weight(self, y: np.ndarray) -> float:
        pos, neg = int(y.sum()), int(len(y) - y.sum())
        minority = min(pos, neg) / len(y)
        if self.imbalance == "balanced" or (
            self.imbalance == "auto" and minority < AUTO_IMBALANCE_SHARE
        ):
            return neg / pos
        return 1.0

    def fit(self, X, y, eval_set: tuple | None = None) -> CalibratedLGBMClassifier:
        """Fit on ``X, y``; early-stop and calibrate on ``eval_set`` (or a held-out share of X).

        Parameters
        ----------
        X : DataFrame (or 2-d array) of features; string/category columns are categorical.
        y : two labels (the larger is the event, e.g. 1 = churned).
        eval_set : ``(X_val, y_val)``, e.g. a later snapshot for out-of-time validation.

        Returns
        -------
        self
        """
        self._check_params()
        X = as_frame(X)
        y, classes = _encode(y, "fit")
        if len(X) != len(y):
            raise ValueError(f"fit: X has {len(X)} rows but y has {len(y)}")
        if len(classes) < 2:
            raise ValueError(
                f"fit: y has one class only ({classes.tolist()}); need two labels, e.g. 0 and 1"
            )
        if eval_set is None:
            X, X_val, y, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, stratify=y, random_state=self.random_state
            )
        else:
            X_val, y_val = as_frame(eval_set[0]), _encode(eval_set[1], "eval_set", classes)[0]
        self._learn_features(X)
        self.classes_ = classes
        check_columns(X_val, self._features, f"{type(self).__name__} (eval_set)")
        self.scale_pos_weight_ = self._scale_pos_weight(y)
        stop_idx, cal_idx = self._split_validation(y_val)
        self.booster_ = self._train(
            self._matrix(X), y, self._matrix(X_val.iloc[stop_idx]), y_val[stop_idx]
        )
        best_round = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.best_iteration_ = compact_iteration(
            self.stopping_auc_, best_round, float(self.compact_tolerance)
        )
        self.calibrator_, scores = self._calibrate(X_val.iloc[cal_idx], y_val[cal_idx])
        self.validation_ = {
            "n_stopping": len(stop_idx),
            "n_calibration": len(cal_idx),
            "brier_cross_fitted": scores,
            "calibration": self.calibrator_.kind,
            "best_round": best_round,
            "rounds_kept": self.best_iteration_,
        }
        return self

    def _split_validation(self, y_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(len(y_val))
        if np.bincount(y_val, minlength=2).min() < 4:
            warnings.warn(
                "validation rows hold fewer than 4 of a class: early stopping and calibration "
                "share them and calibration is skipped",
                UserWarning,
                stacklevel=3,
            )
            return idx, idx[:0]
        stop, cal = train_test_split(
            idx, test_size=0.5, stratify=y_val, random_state=self.random_state
        )
        return np.sort(stop), np.sort(cal)

    def _train(
        self, M: np.ndarray, y: np.ndarray, M_val: np.ndarray, y_val: np.ndarray
    ) -> lgb.Booster:
        train = self._dataset(M, y)
        valid = self._dataset(M_val, y_val, reference=train)
        history: dict = {}
        callbacks = [lgb.record_evaluation(history)]
        params = self._binary_params(self.scale_pos_weight_)
        if len(np.unique(y_val)) == 2:
            # stop on the first metric; record AUC as well, for the compact round count
            params["metric"] = list(dict.fromkeys([params["metric"], "auc"]))
            callbacks.append(
                lgb.early_stopping(
                    self.early_stopping_rounds, first_metric_only=True, verbose=False
                )
            )
        booster = lgb.train(
            params,
            train,
            num_boost_round=int(self.n_estimators),
            valid_sets=[valid],
            valid_names=["stopping"],
            callbacks=callbacks,
        )
        self.stopping_auc_ = list(history.get("stopping", {}).get("auc", []))
        return booster

    def _calibrate(self, X_cal: pd.DataFrame, y_cal: np.ndarray) -> tuple[Calibrator, dict]:
        if len(y_cal) == 0 or self.calibration == "none":
            return Calibrator(), {}
        raw = self._raw_proba(self._matrix(X_cal))
        return select_calibrator(raw, y_cal, method=self.calibration, seed=self.random_state)

    # ------------------------------------------------------------------------------ predict
    def _raw_proba(self, M: np.ndarray) -> np.ndarray:
        margin = self.booster_.predict(M, raw_score=True, num_iteration=self.best_iteration_)
        return self._proba_of_margin(margin)

    def _proba_of_margin(self, margin: np.ndarray) -> np.ndarray:
        if self.scale_pos_weight_ != 1.0:
            margin = margin - math.log(self.scale_pos_weight_)  # undo the reweighting's prior shift
        return expit(margin)

    def log_odds_of_margin(self, margin: np.ndarray) -> np.ndarray:
        """Log-odds of the calibrated probability for booster margins (raw scores).

        :meth:`proba_from_matrix` on the log-odds scale, from the margin rather than the matrix:
        TreeSHAP values sum to the margin, and the reasons of a blended churn scorer need them
        on the calibrated scale the blend averages (:mod:`smsseg.models.explain`).
        """
        p = self._proba_of_margin(np.asarray(margin, dtype=np.float64))
        return _logit(np.clip(self.calibrator_(p), 0.0, 1.0))

    def proba_from_matrix(self, M: np.ndarray) -> np.ndarray:
        """Calibrated P(y=1) for a matrix made by :meth:`prepare` (no checks: the fast path)."""
        return np.clip(self.calibrator_(self._raw_proba(M)), 0.0, 1.0)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, 2)``: columns P(y=0), P(y=1)."""
        p = self.proba_from_matrix(self.prepare(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """The label of ``fit`` (``classes_``) on each side of the 0.5 probability threshold."""
        positive = self.predict_proba(X)[:, 1] > 0.5
        return self.classes_[positive.astype(np.int64)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # two labels: churn, discount response
        return tags

    def contributions(self, X) -> pd.DataFrame:
        """Per-row LightGBM (TreeSHAP) contributions on the log-odds scale, plus ``bias``.

        Costly (TreeSHAP): call it only on the rows that need explaining.
        """
        M = self.prepare(X)
        contrib = self.booster_.predict(M, pred_contrib=True, num_iteration=self.best_iteration_)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(contrib, columns=[*self.feature_names_in_, "bias"], index=index)

    def feature_importance(self, kind: str = "gain") -> pd.Series:
        """Total ``gain`` (or ``split`` count) per feature, largest first."""
        self._check_fitted("feature_importance")
        values = self.booster_.feature_importance(
            importance_type=kind, iteration=self.best_iteration_
        )
        return pd.Series(values, index=list(self.feature_names_in_), name=kind).sort_values(
            ascending=False
        )

    # ---------------------------------------------------------------------------- save/load
    def metadata(self) -> dict:
        """What :meth:`load` needs besides the booster text, as JSON-ready data."""
        self._check_fitted("metadata")
        return {
            "format_version": FORMAT_VERSION,
            **self._base_metadata(),
            "classes": self.classes_.tolist(),
            "calibrator": self.calibrator_.to_dict(),
            "scale_pos_weight": self.scale_pos_weight_,
            "best_iteration": self.best_iteration_,
            "validation": self.validation_,
        }

    def save(
        self, directory: str | Path, name: str, extra: dict | None = None
    ) -> tuple[Path, Path]:
        """Write ``<name>.txt`` (LightGBM native text) and ``<name>.json`` (metadata + ``extra``)."""
        meta = {**self.metadata(), **(extra or {})}
        return write_native(self.booster_, meta, directory, name, self.best_iteration_)

    @classmethod
    def load(cls, directory: str | Path, name: str) -> CalibratedLGBMClassifier:
        """Rebuild a fitted model from :meth:`save`'s two files."""
        booster, meta = read_native(directory, name)
        model = cls._from_metadata(meta)
        model.booster_ = booster
        model.calibrator_ = Calibrator.from_dict(meta["calibrator"])
        model.scale_pos_weight_ = float(meta["scale_pos_weight"])
        model.best_iteration_ = int(meta["best_iteration"])
        model.validation_ = meta.get("validation", {})
        model.classes_ = np.asarray(meta.get("classes", [0, 1]))
        return model
